from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from iota_container.errors import IotaError
from iota_container.image.layer import analysis_layer, source_date_epoch
from iota_container.image.metadata import ImageMetadata
from iota_container.variables import variable_from_default

METADATA = ImageMetadata(
    notebook_path="/home/iota/analysis/report.ipynb",
    kernel="python3",
    variables=[variable_from_default("threshold", 25.0)],
)
NOTEBOOK = b'{"cells": [], "nbformat": 4}'


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as archive:
        return archive.getmembers()


def test_same_inputs_give_the_same_bytes_whatever_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = analysis_layer("report.ipynb", NOTEBOOK, METADATA)
    second = analysis_layer("report.ipynb", NOTEBOOK, METADATA)
    assert first == second
    assert first.digest == "sha256:" + hashlib.sha256(first.data).hexdigest()
    assert first.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(first.data)).hexdigest()
    assert first.size == len(first.data)


def test_a_changed_notebook_changes_the_layer() -> None:
    assert (
        analysis_layer("report.ipynb", NOTEBOOK, METADATA).digest
        != analysis_layer("report.ipynb", NOTEBOOK + b" ", METADATA).digest
    )


def test_gzip_header_holds_no_time_and_no_name() -> None:
    data = analysis_layer("report.ipynb", NOTEBOOK, METADATA).data
    assert data[4:8] == b"\0\0\0\0"  # MTIME
    assert data[3] & 0x08 == 0  # FLG.FNAME unset


def test_entries_sorted_with_parents_first_and_fixed_times() -> None:
    entries = members(analysis_layer("report.ipynb", NOTEBOOK, METADATA, mtime=1234).data)
    assert [e.name for e in entries] == [
        "home",
        "home/iota",
        "home/iota/analysis",
        "home/iota/analysis/.iota-container.json",
        "home/iota/analysis/report.ipynb",
    ]
    assert {e.mtime for e in entries} == {1234}
    assert all(not e.pax_headers for e in entries)


def test_owners_match_the_base_image_and_the_image_user_owns_the_analysis() -> None:
    entries = {e.name: e for e in members(analysis_layer("r.ipynb", NOTEBOOK, METADATA).data)}
    assert (entries["home"].uid, entries["home"].gid) == (0, 0)
    for name in ("home/iota", "home/iota/analysis", "home/iota/analysis/r.ipynb"):
        assert (entries[name].uid, entries[name].gid) == (1000, 1000), name
    assert entries["home/iota/analysis"].isdir() and entries["home/iota/analysis"].mode == 0o755
    assert entries["home/iota/analysis/r.ipynb"].mode == 0o644
    assert {e.uname for e in entries.values()} == {""}


def test_content_is_the_notebook_and_the_metadata() -> None:
    layer = analysis_layer("report.ipynb", NOTEBOOK, METADATA)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.data))) as archive:
        notebook = archive.extractfile("home/iota/analysis/report.ipynb")
        metadata = archive.extractfile("home/iota/analysis/.iota-container.json")
        assert notebook is not None and metadata is not None
        assert notebook.read() == NOTEBOOK
        assert json.loads(metadata.read()) == METADATA.to_json()


def test_a_long_non_ascii_name_uses_pax_for_the_name_only() -> None:
    name = "analyse-" + "é" * 120 + ".ipynb"
    entries = members(analysis_layer(name, NOTEBOOK, METADATA).data)
    assert entries[-1].name == f"home/iota/analysis/{name}"
    assert all("mtime" not in e.pax_headers and "atime" not in e.pax_headers for e in entries)


def test_source_date_epoch_sets_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert source_date_epoch() == 1700000000
    assert {e.mtime for e in members(analysis_layer("r.ipynb", NOTEBOOK, METADATA).data)} == {
        1700000000
    }
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(IotaError, match="SOURCE_DATE_EPOCH='yesterday'"):
        source_date_epoch()


@pytest.mark.parametrize("name", ["", "a/b.ipynb", ".."])
def test_a_notebook_name_must_be_a_plain_file_name(name: str) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        analysis_layer(name, NOTEBOOK, METADATA)
