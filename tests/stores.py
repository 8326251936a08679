"""Stores for tests: the S3 stores a test's uploads go through, kept for a look afterwards."""

from __future__ import annotations

import pytest

from iota_container import storage
from iota_container.storage.s3 import S3Store
from tests.servers import MotoServer


def recorded_s3_stores(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> list[S3Store]:
    """Make s3:// go to new S3Stores on `moto` (for this test only); the list fills with
    every store made, in order."""
    made: list[S3Store] = []

    def factory() -> S3Store:
        made.append(S3Store(client=moto.s3()))
        return made[-1]

    monkeypatch.setattr(storage, "_stores", {})
    monkeypatch.setattr(storage, "_factories", {})
    storage.register_store("s3", factory)
    return made
