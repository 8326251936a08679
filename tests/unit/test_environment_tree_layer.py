"""A dependency layer's tar is hashed and gzip'd in a second thread as it is written: the
same bytes every time, a diff_id that is the tar's digest, and a gzip stream that Python
and GNU tar read."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from iota_container.image import tree_layer as module
from iota_container.image.tree_layer import Whiteouts, tree_layer

WHITEOUTS = Whiteouts(("usr/lib/site/old.py",), ("usr/lib/site/pkg",))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "root" / "usr" / "lib" / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    # Several of the blocks handed to the compressing thread, some of it incompressible.
    (site / "pkg" / "data.bin").write_bytes(os.urandom(3 << 20) + bytes(2 << 20))
    (site / "tool").write_text("#!/usr/bin/python3\n")
    (site / "tool").chmod(0o755)
    (site / "link.py").symlink_to("pkg/__init__.py")
    return tmp_path / "root"


def test_the_same_tree_gives_the_same_layer_bytes(root: Path, tmp_path: Path) -> None:
    first = tree_layer(root, WHITEOUTS, 0, tmp_path)
    second = tree_layer(root, WHITEOUTS, 0, tmp_path)
    assert first.data == second.data and first.digest == second.digest
    assert first.digest == "sha256:" + hashlib.sha256(first.data).hexdigest()
    assert first.size == len(first.data)


def test_the_diff_id_is_the_digest_of_the_tar_inside(root: Path, tmp_path: Path) -> None:
    layer = tree_layer(root, WHITEOUTS, 0, tmp_path)
    tar = gzip.decompress(layer.data)
    assert layer.diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()
    (tmp_path / "layer.tar").write_bytes(tar)
    with tarfile.open(tmp_path / "layer.tar") as archive:
        names = archive.getnames()
        assert archive.getmember("usr/lib/site/tool").mode == 0o755
    assert "usr/lib/site/.wh.old.py" in names and "usr/lib/site/pkg/.wh..wh..opq" in names
    assert names == sorted(names)


def test_gnu_tar_reads_the_layer(root: Path, tmp_path: Path) -> None:
    layer = tree_layer(root, WHITEOUTS, 0, tmp_path)
    archive = tmp_path / "layer.tar.gz"
    archive.write_bytes(layer.data)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(out)], check=True)
    site = root / "usr" / "lib" / "site"
    extracted = out / "usr" / "lib" / "site"
    assert (extracted / "pkg" / "data.bin").read_bytes() == (site / "pkg" / "data.bin").read_bytes()
    assert os.readlink(extracted / "link.py") == "pkg/__init__.py"


def test_a_file_that_cannot_be_read_fails_the_layer_without_hanging(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_member = module._member

    def failing(name: str, source: Path | None, mtime: int):  # type: ignore[no-untyped-def]
        if name.endswith("tool"):
            raise PermissionError(f"cannot read {name}")
        return real_member(name, source, mtime)

    monkeypatch.setattr(module, "_member", failing)
    with pytest.raises(PermissionError, match="cannot read"):
        tree_layer(root, WHITEOUTS, 0, tmp_path)
