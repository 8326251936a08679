"""S3Store's lifetime against moto in its own process: its clients are injected or made
once, one TransferManager serves every upload until close(), the preflight's STS call
goes to the store's own STS client, and its settings are checked when it is made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from iota_container import storage
from iota_container.errors import StorageError
from iota_container.storage.s3 import MAX_CONCURRENCY_ENV, S3Store
from iota_container.storage.uri import parse_output_uri
from tests.servers import MotoServer, header
from tests.stores import recorded_s3_stores

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


def transfer_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """The transfer threads started since `before` (s3transfer's executors' threads)."""
    return {t for t in threading.enumerate() if t not in before and t.is_alive()}


@pytest.fixture
def narrow_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto enforcing IAM after its setup: a user allowed to write objects and to ask STS
    who it is, and not to list (HeadBucket) the bucket."""
    server = MotoServer(tmp_path_factory.mktemp("moto-narrow"), enforce_auth=True, setup_requests=4)
    yield server
    server.stop()


def test_one_transfer_manager_serves_every_put_until_close(
    moto: MotoServer, tmp_path: Path
) -> None:
    bucket = moto.new_bucket("one-manager")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (6 * MIB))
    before = set(threading.enumerate())
    store = S3Store(client=moto.s3(), multipart_threshold=5 * MIB, max_concurrency=2)

    store.put(big, parse_output_uri(f"s3://{bucket}/first.bin"))
    after_first = transfer_threads(before)
    store.put(b"small", parse_output_uri(f"s3://{bucket}/second.txt"))
    assert after_first, "the first upload's transfer threads are kept for the next one"
    assert transfer_threads(before) == after_first  # the second made none of its own
    store.close()

    assert not transfer_threads(before)
    writes = moto.object_writes()
    assert [w["operation"] for w in writes] == ["CreateMultipartUpload", "PutObject"]
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)
    with pytest.raises(StorageError, match="this S3 store is closed"):
        store.put(b"late", parse_output_uri(f"s3://{bucket}/late.txt"))


def test_close_stores_closes_the_cached_store_and_the_next_put_makes_a_new_one(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = moto.new_bucket("close-stores")
    made = recorded_s3_stores(moto, monkeypatch)
    storage.put(b"one", f"s3://{bucket}/one.txt")
    storage.close_stores()
    with pytest.raises(StorageError, match="closed"):
        made[0].put(b"x", parse_output_uri(f"s3://{bucket}/x.txt"))
    storage.put(b"two", f"s3://{bucket}/two.txt")
    assert len(made) == 2
    # Registering another factory closes the store the old one made.
    storage.register_store("s3", lambda: S3Store(client=moto.s3()))
    with pytest.raises(StorageError, match="closed"):
        made[1].put(b"x", parse_output_uri(f"s3://{bucket}/x.txt"))
    storage.close_stores()


def test_the_preflight_asks_the_stores_own_sts_client(narrow_moto: MotoServer) -> None:
    key_id, secret = narrow_moto.user_allowed(
        "writer", ["s3:PutObject", "s3:PutObjectAcl", "sts:GetCallerIdentity"]
    )
    narrow_moto.s3().create_bucket(Bucket="narrow-bucket")
    s3 = narrow_moto.client("s3", key_id, secret)
    target = parse_output_uri("s3://narrow-bucket/run/output.ipynb")

    # HeadBucket is refused (no ListBucket); the given STS client says who is asking.
    with S3Store(client=s3, sts_client=narrow_moto.client("sts", key_id, secret)) as store:
        store.check_writable([target])
        store.put(b"{}", target)
    refusing_sts = narrow_moto.client("sts", "AKIANOBODY", "nope")
    refused = pytest.raises(StorageError, match=r"AWS refused the credentials \(InvalidClient")
    with S3Store(client=s3, sts_client=refusing_sts) as store, refused:
        store.check_writable([target])


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        ({"multipart_threshold": 0}, {}, "multipart_threshold=0 is not a positive whole number"),
        ({"max_concurrency": -2}, {}, "max_concurrency=-2 is not a positive whole number"),
        ({}, {MAX_CONCURRENCY_ENV: "many"}, f"{MAX_CONCURRENCY_ENV}='many' is not a positive"),
    ],
)
def test_settings_are_checked_when_the_store_is_made(
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    arguments: dict[str, int],
    environment: dict[str, str],
    message: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StorageError, match=message):
        S3Store(client=moto.s3(), **arguments)
