"""file:// targets checked before anything is written: kernel file systems, what is there
already, who owns it, and two outputs at one place. The real store on real files; the
kernel places are the machine's own /proc, /sys and /dev, and mounts made for the test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from iota_container import storage
from iota_container.errors import StorageError
from tests.mounts import mounted
from tests.servers import require

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
REPORT = "<!DOCTYPE html>\n<html><body>report</body></html>\n"


def uri(path: Path) -> str:
    return path.as_uri()


def refused(target: str, match: str) -> str:
    with pytest.raises(StorageError, match=match) as error:
        storage.check_writable([target])
    with pytest.raises(StorageError, match=match):
        storage.put(b"written", target)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_new_files_and_a_rerun_over_earlier_outputs(tmp_path: Path) -> None:
    outputs = {
        tmp_path / "run" / "output.ipynb": NOTEBOOK,
        tmp_path / "run" / "output.html": REPORT,
    }
    for _ in range(2):
        storage.check_writable([uri(path) for path in outputs])
        for path, text in outputs.items():
            storage.put(text.encode(), uri(path))
            assert path.read_text() == text
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["output.html", "output.ipynb"]


@pytest.mark.parametrize(
    ("target", "folder"),
    [
        ("file:///proc/self/comm", "/proc"),
        ("file:///proc/sys/kernel/new-file", "/proc"),
        ("file:///sys/kernel/notes", "/sys"),
        ("file:///dev/null", "/dev"),
        ("file:///dev/shm/out.html", "/dev"),
        ("file:///dev/../proc/self/environ", "/proc"),
    ],
)
def test_kernel_folders_are_refused(target: str, folder: str) -> None:
    refused(target, f"lies under {folder}, which holds the kernel's and the devices' files")


def test_a_link_into_proc_is_resolved_and_refused(tmp_path: Path) -> None:
    (tmp_path / "innocent").symlink_to("/proc/self")
    refused(uri(tmp_path / "innocent" / "comm"), "lies under /proc")


def test_proc_mounted_elsewhere_is_refused(tmp_path: Path) -> None:
    with mounted(tmp_path / "elsewhere", "proc", "rw") as folder:
        message = refused(uri(folder / "self" / "comm"), "lies on a proc file system")
        assert message.endswith("choose a file on a disk")


def test_what_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    refused(uri(tmp_path / "folder"), "is an existing folder: add a file name")
    os.mkfifo(tmp_path / "fifo.html")
    refused(uri(tmp_path / "fifo.html"), r"is not a regular file \(a device, FIFO or socket\)")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "sock.html"))
        refused(uri(tmp_path / "sock.html"), "is not a regular file")
    (tmp_path / "real.html").write_text(REPORT)
    (tmp_path / "link.html").symlink_to(tmp_path / "real.html")
    refused(uri(tmp_path / "link.html"), "is a symbolic link")
    (tmp_path / "file").write_text("a file")
    refused(uri(tmp_path / "file" / "out.html"), "Not a directory")
    assert (tmp_path / "real.html").read_text() == REPORT


def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    with mounted(tmp_path / "ro", "tmpfs", "ro,size=64k") as folder:
        refused(uri(folder / "sub" / "out.html"), "is not a folder this user can write to")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        (
            "output.ipynb",
            "root:x:0:0:root:/root:/bin/bash\n",
            "is an existing file that is not a notebook",
        ),
        ("output.ipynb", "", "is an existing file that is not a notebook"),
        ("output.html", NOTEBOOK, "is an existing file that is not HTML"),
        ("output.HTM", "#!/bin/sh\n", "is an existing file that is not HTML"),
    ],
)
def test_an_existing_file_of_another_kind_is_kept(
    tmp_path: Path, name: str, content: str, match: str
) -> None:
    (tmp_path / name).write_text(content)
    refused(uri(tmp_path / name), match)
    assert (tmp_path / name).read_text() == content


def test_root_replaces_no_file_that_is_not_an_earlier_notebook_or_report(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "this rule is root's")
    passwd = tmp_path / "etc" / "passwd"
    passwd.parent.mkdir()
    shutil.copyfile("/etc/passwd", passwd)
    message = refused(uri(passwd), "root replaces only earlier notebooks and reports")
    assert message.endswith("remove it first, or choose another path")
    assert passwd.read_bytes() == Path("/etc/passwd").read_bytes()


def test_a_file_of_another_user_is_kept(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "giving a file to another user needs root")
    theirs = tmp_path / "output.html"
    theirs.write_text(REPORT)
    os.chown(theirs, 65534, 65534)
    refused(uri(theirs), r"is an existing file of another user \(uid 65534\)")
    assert theirs.read_text() == REPORT


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder any user may write in, as /tmp is (pytest's own are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="iota-shared-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder)


def test_another_user_replaces_their_own_files_and_no_one_elses(shared_folder: Path) -> None:
    require(os.geteuid() == 0, "running as another user needs root")
    require(shutil.which("setpriv") is not None, "setpriv (util-linux) is not installed")
    mine = shared_folder / "alerts.csv"
    mine.write_text("root's")
    script = (
        "import sys\n"
        "from iota_container import storage\n"
        "for target in sys.argv[1:]:\n"
        "    try:\n"
        "        storage.put(b'new', target)\n"
        "        print('written', target)\n"
        "    except Exception as e:\n"
        "        print('refused', target, e)\n"
    )
    theirs = shared_folder / "theirs.csv"
    user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run(
        [*user, sys.executable, "-c", script, uri(theirs), uri(theirs), uri(mine)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=shared_folder,
    )
    lines = probe.stdout.splitlines()
    assert lines[:2] == [f"written {uri(theirs)}"] * 2, probe.stdout + probe.stderr
    assert lines[2].startswith(
        f"refused {uri(mine)} output {uri(mine)!r} is an existing file of another user (uid 0)"
    )
    assert mine.read_text() == "root's"


@pytest.mark.parametrize(
    "spelling",
    ["{d}/report.html", "{d}/./report.html", "{d}/sub/../report.html", "{d}/link/report.html"],
)
def test_two_outputs_at_one_place_are_refused(tmp_path: Path, spelling: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path)
    first = uri(tmp_path / "report.html")
    second = "file://" + spelling.format(d=tmp_path)
    with pytest.raises(StorageError, match="two outputs would be written to one place"):
        storage.check_writable([first, second])


def test_two_s3_outputs_at_one_key_are_refused_before_any_request() -> None:
    # No S3 endpoint is needed: the duplicate is found before any store is asked.
    with pytest.raises(StorageError, match="'s3://b/k/out' and 'S3://b/k/out'"):
        storage.check_writable(["s3://b/k/out", "S3://b/k/out"])


def test_a_relative_folder_is_checked_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `run --work-dir work` names a folder relative to where the run starts.
    from iota_container.storage.local import check_folder_writable

    monkeypatch.chdir(tmp_path)
    check_folder_writable(Path("work/sub"), "--work-dir")
    (tmp_path / "file").write_text("a file")
    with pytest.raises(StorageError, match="--work-dir: 'file' is not a folder"):
        check_folder_writable(Path("file/sub"), "--work-dir")
