"""Stores read back what they hold (`get`), and dataset content is read through them:
S3 against a moto server in its own process, file:// against real files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from iota_container import content, storage
from iota_container.errors import StorageError
from iota_container.storage import register_store
from iota_container.storage.local import LocalStore
from iota_container.storage.s3 import S3Store
from iota_container.storage.uri import parse_output_uri
from tests.servers import MotoServer

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_store(moto: MotoServer) -> S3Store:
    return S3Store(client=moto.s3())


def test_s3_get_copies_the_object_into_a_file(
    moto: MotoServer, s3_store: S3Store, tmp_path: Path
) -> None:
    bucket = moto.new_bucket("get")
    moto.s3().put_object(Bucket=bucket, Key="runs/v1/readings.csv", Body=b"a,b\n1,2\n")
    target = tmp_path / "readings.csv"
    s3_store.get(parse_output_uri(f"s3://{bucket}/runs/v1/readings.csv"), target)
    assert target.read_bytes() == b"a,b\n1,2\n"


def test_s3_get_of_a_missing_object_names_it_and_leaves_no_file(
    moto: MotoServer, s3_store: S3Store, tmp_path: Path
) -> None:
    bucket = moto.new_bucket("get-missing")
    target = tmp_path / "gone.csv"
    with pytest.raises(StorageError, match=rf"cannot read s3://{bucket}/gone.csv \(NoSuchKey"):
        s3_store.get(parse_output_uri(f"s3://{bucket}/gone.csv"), target)
    assert not target.exists()


def test_local_get_copies_the_file(tmp_path: Path) -> None:
    source = tmp_path / "content.csv"
    source.write_bytes(b"x\n3\n")
    target = tmp_path / "copy" / "content.csv"
    target.parent.mkdir()
    assert storage.get(source.as_uri(), target) == target
    assert target.read_bytes() == b"x\n3\n"


def test_local_get_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such file"):
        LocalStore().get(parse_output_uri((tmp_path / "nothing").as_uri()), tmp_path / "t")


def test_dataset_content_fetches_s3_content_through_the_store(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = moto.new_bucket("content")
    moto.s3().put_object(Bucket=bucket, Key="ds/v9/content.csv", Body=b"t\n21.5\n")
    reads: list[str] = []

    class CountingStore(S3Store):
        def get(self, source: storage.OutputUri, target: Path) -> None:
            reads.append(source.uri)
            super().get(source, target)

    register_store("s3", lambda: CountingStore(client=moto.s3()))
    monkeypatch.setattr(content, "_downloaded", {})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        uri = f"s3://{bucket}/ds/v9/content.csv"
        first = content.dataset_content(uri)
        again = content.dataset_content(uri)
    finally:
        register_store("s3", S3Store)
    assert first == again and first.read_bytes() == b"t\n21.5\n"
    assert reads == [uri]  # fetched once per process


def test_dataset_content_of_a_file_uri_is_that_file(tmp_path: Path) -> None:
    source = tmp_path / "content.csv"
    source.write_text("t\n1\n")
    assert content.dataset_content(source.as_uri()) == source
