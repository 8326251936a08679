"""The home's files on a full disk: telling that it is full, removing what a failed step
left half-written in a version folder, and the state database's reserve.

The reserve is a file of RESERVE_BYTES beside the database, allocated while there is
space. When a write that ends a version fails for want of space, the store deletes it
and writes again (store.py): a run that filled the disk then ends FAILED with its
reason, where it would otherwise stay CREATING and later read "interrupted".
"""

from __future__ import annotations

import os
from pathlib import Path

from iota_container.atomic import atomic_file
from iota_container.errors import IotaError

RESERVE_BYTES = 256 * 1024  # a few dozen commits' worth of WAL frames
FULL_BELOW_BYTES = 64 * 1024  # less free space than this: a write just ran out of it


def disk_full(path: Path) -> bool:
    """Whether the file system of `path` (or of its nearest existing folder) is full."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        status = os.statvfs(path)
    except OSError:
        return False
    # root may write into the blocks kept for it; others may not.
    free_blocks = status.f_bfree if os.geteuid() == 0 else status.f_bavail
    return free_blocks * status.f_frsize < FULL_BELOW_BYTES


def home_write_error(path: Path, error: OSError) -> IotaError:
    fix = "free some space there" if disk_full(path) else "make it writable"
    return IotaError(
        f"cannot write {str(path)!r} ({error.strerror or error}): {fix}, or point IOTA_HOME "
        "at another folder"
    )


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise home_write_error(folder, e) from e


def remove_partial_files(folder: Path, keep: Path | None = None) -> None:
    """Remove what a failed step left in a version folder: staged content, temporary files."""
    try:
        leftovers = [p for p in folder.iterdir() if p.is_file() and p != keep]
    except OSError:
        return
    for path in leftovers:
        path.unlink(missing_ok=True)


def keep_reserve(path: Path) -> None:
    """Make the reserve file if it is missing; on a full disk, go on without one."""
    if path.exists():
        return
    try:
        with atomic_file(path, 0o600) as out:
            os.posix_fallocate(out.fileno(), 0, RESERVE_BYTES)
    except OSError:
        pass


def release_reserve(path: Path) -> bool:
    """Free the reserve's space; False when there was none to give."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
