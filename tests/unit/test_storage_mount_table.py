"""The mount table kept between local puts: read again when the kernel says it changed
(a real mount or unmount, made for the test), and only then."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iota_container import storage
from iota_container.errors import StorageError
from iota_container.storage.mount_table import MOUNTS, MountTable
from tests.mounts import mounted


def test_a_mount_and_an_unmount_after_the_table_was_read_are_seen(tmp_path: Path) -> None:
    table = MountTable()
    folder = tmp_path / "later"
    folder.mkdir()
    before = table.file_system(str(folder))
    assert before not in (None, "proc")
    with mounted(folder, "proc", "rw"):
        assert table.file_system(str(folder)) == "proc"
        assert table.file_system(str(folder / "self")) == "proc"
        assert table.file_system(str(tmp_path)) == before
    assert table.file_system(str(folder)) == before
    table.close()


def test_a_put_refuses_a_kernel_file_system_mounted_after_an_earlier_put(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    storage.put(b"on a disk", (folder / "first.txt").as_uri())
    (folder / "first.txt").unlink()
    with (
        mounted(folder, "proc", "rw"),
        pytest.raises(StorageError, match="lies on a proc file system"),
    ):
        storage.put(b"into the kernel", (folder / "self" / "comm").as_uri())
    storage.put(b"on a disk again", (folder / "second.txt").as_uri())
    assert (folder / "second.txt").read_bytes() == b"on a disk again"


def table_in_file(table_file: Path, text: str) -> MountTable:
    """A MountTable read from a regular file holding `text`, in the kernel's format."""
    table_file.write_text(text)
    return MountTable(str(table_file))


def test_without_a_change_mark_the_parsed_table_is_kept(tmp_path: Path) -> None:
    # A regular file never marks a change, unlike /proc/self/mounts: what its lookups
    # answer after it is rewritten shows that a lookup does not read the table again.
    table = table_in_file(
        tmp_path / "mounts", "/dev/vda / ext4 rw 0 0\nnone /data\\040here tmpfs rw 0 0\n"
    )
    assert table.file_system("/data here/x") == "tmpfs"
    assert table.file_system("/data") == "ext4"
    (tmp_path / "mounts").write_text("/dev/vda / ext4 rw 0 0\nproc /data\\040here proc rw 0 0\n")
    assert table.file_system("/data here/x") == "tmpfs"
    table.close()


def test_of_two_mounts_on_one_point_the_later_is_on_top(tmp_path: Path) -> None:
    table = table_in_file(
        tmp_path / "mounts", "/ / ext4 rw 0 0\nnone /x tmpfs rw 0 0\nproc /x proc rw 0 0\n"
    )
    assert table.file_system("/x/self") == "proc"
    assert table.file_system("/xy") == "ext4"
    table.close()


def test_a_forked_child_reads_its_own_marks_not_its_parents(tmp_path: Path) -> None:
    # The child's first poll on the descriptor it inherited would take the parent's mark
    # of the mount made below, and the parent would keep its old table.
    folder = tmp_path / "forked"
    folder.mkdir()
    MOUNTS.file_system(str(folder))  # the parent's table read
    go_read, go_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: looks up once the parent has mounted proc
        try:
            os.read(go_read, 1)
            os.write(answer_write, str(MOUNTS.file_system(str(folder))).encode())
        finally:
            os._exit(0)
    with mounted(folder, "proc", "rw"):
        os.write(go_write, b"x")
        _, status = os.waitpid(pid, 0)
        child_answer = os.read(answer_read, 64).decode()
        parent_answer = MOUNTS.file_system(str(folder))
    for descriptor in (go_read, go_write, answer_read, answer_write):
        os.close(descriptor)
    assert status == 0
    assert (child_answer, parent_answer) == ("proc", "proc")
