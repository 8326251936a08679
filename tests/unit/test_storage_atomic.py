"""The one whole-file writer: the target is the old file or the new one, and a failed
write leaves no temporary file behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from iota_container.atomic import atomic_file, copy_file_atomically, write_bytes_atomically


def test_a_write_replaces_the_file_whole_with_the_mode_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")
    write_bytes_atomically(target, b"new", mode=0o640)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_failure_inside_the_block_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as out:
        out.write(b"half of the new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_target_that_cannot_be_replaced_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "inside").write_text("kept")
    with pytest.raises(OSError):
        write_bytes_atomically(tmp_path / "taken", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert (tmp_path / "taken" / "inside").read_text() == "kept"


def test_a_copy_of_a_missing_source_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        copy_file_atomically(tmp_path / "missing", tmp_path / "copy")
    assert list(tmp_path.iterdir()) == []
