"""`file://` outputs, for local runs: each one written whole (atomic.py) or not at all.

Every target is checked before a run starts (`check_writable`, before any cell runs) and
again when it is written (`put`, which `iota.upload` calls too). A target must be:
- outside /proc, /sys and /dev, and on no kernel file system (proc, sysfs, devtmpfs, ...)
  wherever that is mounted, symlinks and `..` resolved: writes there reach the kernel or
  a device, not a file;
- nothing yet, or a regular file: not a folder, symbolic link, device, FIFO or socket;
- in a folder this user can write to (or one that can be made in the nearest folder that
  exists), with no file where the path needs a folder.

Replacing an existing file. An engine or scheduler run writes into a folder of its own
version (resolve.py keeps file:// outputs inside the output root), so nothing is there
before it. A run by hand (`iota-container run`) may point at any path, and rerunning it
legitimately replaces its own earlier outputs; so an existing regular file is replaced
only when it looks like such an output:
- it belongs to the user running (a file of another user is never replaced);
- a `.ipynb` target replaces only a notebook, an `.html`/`.htm` target only an HTML
  document (the executed notebook and the report of an earlier run);
- as root, who owns the system's own files, any other existing file is refused: remove
  it first. So `file:///etc/passwd` is refused before any cell runs, and a rerun to the
  same `output.ipynb` and `output.html` works.
Creating a new file is not limited by hand: a run as root can still create one wherever
root can; engine and scheduler runs cannot leave the output root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from iota_container.atomic import copy_file_atomically, write_bytes_atomically
from iota_container.errors import StorageError
from iota_container.storage.mount_table import MOUNTS
from iota_container.storage.uri import OutputUri

# As text: every local put checks its target, and building and comparing Path objects
# costs more than the file system calls (both sides are absolute, normalised).
KERNEL_FOLDERS = ("/proc", "/sys", "/dev")
KERNEL_FILE_SYSTEMS = frozenset(
    (
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "debugfs",
        "tracefs",
        "securityfs",
        "configfs",
        "bpf",
        "pstore",
        "efivarfs",
        "fusectl",
        "mqueue",
        "binfmt_misc",
        "nsfs",
    )
)
_NOTEBOOK_SUFFIXES = (".ipynb",)
_HTML_SUFFIXES = (".html", ".htm")
_SNIFF_BYTES = 4096


class LocalStore:
    def put(self, source: Path | bytes, target: OutputUri) -> None:
        destination = check_local_target(target)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                write_bytes_atomically(destination, source)
            else:
                copy_file_atomically(source, destination)
        except OSError as e:
            raise write_failure(target.uri, e) from e

    def get(self, source: OutputUri, target: Path) -> None:
        assert source.path is not None, "file:// URIs name a path"
        if not source.path.is_file():
            raise StorageError(f"cannot read {source.uri!r}: no such file")
        try:
            copy_file_atomically(source.path, target)
        except OSError as e:
            raise StorageError(
                f"cannot read {source.uri!r} into {str(target)!r} "
                f"({e.strerror or type(e).__name__}): check both places' permissions"
            ) from e

    def check_writable(self, targets: Iterable[OutputUri]) -> None:
        for target in targets:
            check_local_target(target)


def check_local_target(target: OutputUri) -> Path:
    """The target's path, once it passes every rule of the module docstring."""
    assert target.path is not None
    path = target.path
    # Where it really is: its folder's symlinks and `..` resolved (see resolved_place).
    real_folder = os.path.realpath(path.parent)
    _refuse_kernel_places(target, os.path.join(real_folder, path.name), real_folder)
    try:
        status: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        status = None
    except OSError as e:  # ENOTDIR: a file where the path needs a folder
        raise StorageError(
            f"cannot write {target.uri!r} ({e.strerror or e}): choose a path made of folders "
            "this user can write to"
        ) from e
    if status is not None:
        _check_replaceable(target, path, status)
    _check_folder(target, path.parent)
    return path


def resolved_place(path: Path) -> Path:
    """Where `path` really is: its folder's symlinks and `..` resolved (as far as the
    folder exists), the last name kept, since a link there is replaced, not followed."""
    return Path(os.path.realpath(path.parent)) / path.name


def write_failure(uri: str, error: OSError) -> StorageError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(
            f"cannot write {uri!r}: no space left on its disk ({error.strerror}); "
            "free some space, or choose another location"
        )
    return StorageError(
        f"cannot write {uri!r} ({error.strerror or error}): choose a folder this user can write to"
    )


def _refuse_kernel_places(target: OutputUri, place: str, real_folder: str) -> None:
    """`place`: the target's real path, in `real_folder` (os.path.realpath's answer)."""
    for folder in KERNEL_FOLDERS:
        if place == folder or place.startswith(folder + "/"):
            raise StorageError(
                f"output {target.uri!r} lies under {folder}, which holds the kernel's and "
                "the devices' files, not data: choose a file on a disk"
            )
    # realpath resolved every link it could reach: the part of real_folder that exists
    # is real already, as the mount table's points are.
    file_system = MOUNTS.file_system(_nearest_existing(real_folder))
    if file_system in KERNEL_FILE_SYSTEMS:
        raise StorageError(
            f"output {target.uri!r} lies on a {file_system} file system, which holds the "
            "kernel's files, not data: choose a file on a disk"
        )


def _check_replaceable(target: OutputUri, path: Path, status: os.stat_result) -> None:
    refusal: str | None
    if stat.S_ISLNK(status.st_mode):
        refusal = "is a symbolic link (it would be replaced, not followed): name its target"
    elif stat.S_ISDIR(status.st_mode):
        refusal = "is an existing folder: add a file name"
    elif not stat.S_ISREG(status.st_mode):
        refusal = "is not a regular file (a device, FIFO or socket): choose another path"
    elif status.st_uid != os.geteuid():
        refusal = (
            f"is an existing file of another user (uid {status.st_uid}): remove it, or "
            "choose another path"
        )
    else:
        refusal = _kind_refusal(path)
    if refusal:
        raise StorageError(f"output {target.uri!r} {refusal}")


def _kind_refusal(path: Path) -> str | None:
    """Why an existing file of this user is not an earlier output of the same kind."""
    suffix = path.suffix.lower()
    if suffix in _NOTEBOOK_SUFFIXES:
        if _looks_like_notebook(path):
            return None
        return "is an existing file that is not a notebook: remove it, or choose another path"
    if suffix in _HTML_SUFFIXES:
        if _looks_like_html(path):
            return None
        return "is an existing file that is not HTML: remove it, or choose another path"
    if os.geteuid() == 0:
        return (
            "is an existing file, and root replaces only earlier notebooks and reports: "
            "remove it first, or choose another path"
        )
    return None


def _looks_like_notebook(path: Path) -> bool:
    # A notebook is a JSON object; nbformat writes its keys sorted, so "nbformat" comes
    # last: the head and the tail suffice, whatever the size of the outputs between.
    head, tail = _head_and_tail(path)
    return head.lstrip().startswith(b"{") and b'"nbformat"' in head + tail


def _looks_like_html(path: Path) -> bool:
    head, _ = _head_and_tail(path)
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _head_and_tail(path: Path) -> tuple[bytes, bytes]:
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFF_BYTES)
            size = file.seek(0, os.SEEK_END)
            file.seek(max(size - _SNIFF_BYTES, 0))
            return head, file.read(_SNIFF_BYTES)
    except OSError:
        return b"", b""


def _check_folder(target: OutputUri, folder: Path) -> None:
    check_folder_writable(folder, f"cannot write {target.uri!r}")


def check_folder_writable(folder: Path, what: str) -> None:
    """StorageError("<what>: ...") unless files can be made in `folder` (or in the folders
    that would be made for it)."""
    existing = _nearest_existing(str(folder))
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise StorageError(
            f"{what}: {existing!r} is not a folder this user can write to; choose another location"
        )


def _nearest_existing(path: str) -> str:
    while not os.path.exists(path):
        parent = os.path.dirname(path) or "."  # a relative path's first folder is "."
        if parent == path:
            break
        path = parent
    return path
