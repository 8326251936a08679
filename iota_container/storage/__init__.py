"""URI-addressed stores (put and get), looked up by scheme in a small registry.

`s3` and `file` are built in; other schemes can be registered with `register_store`
or through the `iota_container.stores` entry point group. Stores are created lazily, so
importing this module never imports boto3. A store may also have a `close()` (not part of
the protocol, so that stores without resources need none): close_stores() calls it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, Union

from iota_container.errors import StorageError
from iota_container.storage.uri import OutputUri, parse_output_uri

Source = Union[str, "os.PathLike[str]", bytes]


class Store(Protocol):
    def put(self, source: Path | bytes, target: OutputUri) -> None:
        """Store `source` (a file's path, or its bytes) at `target`, all or nothing."""

    def get(self, source: OutputUri, target: Path) -> None:
        """Copy what is stored at `source` into the local file `target`; StorageError when
        it does not exist or cannot be read."""

    def check_writable(self, targets: Iterable[OutputUri]) -> None:
        """Fail early, before any work, when `targets` can surely not be written."""


StoreFactory = Callable[[], Store]
_factories: dict[str, StoreFactory] = {}
_stores: dict[str, Store] = {}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make `scheme://` URIs go to stores made by `factory` (replaces any earlier one,
    and closes the store it had made)."""
    _factories[scheme] = factory
    _close(_stores.pop(scheme, None))


def store_for(scheme: str) -> Store:
    """The store of `scheme`, made on first need and kept (with its clients and transfer
    threads) until close_stores()."""
    if scheme not in _stores:
        _stores[scheme] = _factory_for(scheme)()
    return _stores[scheme]


def close_stores() -> None:
    """Close every store made so far (those that have a close(): S3Store finishes its
    uploads and stops its transfer threads); the next store_for() makes new ones."""
    while _stores:
        _close(_stores.popitem()[1])


def _close(store: Store | None) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


def _factory_for(scheme: str) -> StoreFactory:
    if scheme in _factories:
        return _factories[scheme]
    if scheme == "s3":
        from iota_container.storage.s3 import S3Store

        return S3Store
    if scheme == "file":
        from iota_container.storage.local import LocalStore

        return LocalStore
    from importlib.metadata import entry_points

    for entry in entry_points(group="iota_container.stores"):
        if entry.name == scheme:
            factory: StoreFactory = entry.load()
            return factory
    raise StorageError(f"no store handles {scheme}:// URIs: use s3:// or file://")


def put(source: Source, uri: str | OutputUri) -> OutputUri:
    """Store a file (by path) or bytes at an output URI."""
    target = uri if isinstance(uri, OutputUri) else parse_output_uri(uri)
    if isinstance(source, (bytes, bytearray, memoryview)):
        payload: Path | bytes = bytes(source)
    else:
        payload = Path(source)
        if not payload.is_file():
            raise StorageError(
                f"cannot upload {str(payload)!r}: no such file (pass the file's path, or bytes)"
            )
    store_for(target.scheme).put(payload, target)
    return target


def get(uri: str | OutputUri, target: str | os.PathLike[str]) -> Path:
    """Copy the object or file at a URI into the local file `target` and return its path."""
    source = uri if isinstance(uri, OutputUri) else parse_output_uri(uri)
    path = Path(target)
    store_for(source.scheme).get(source, path)
    return path


def check_writable(uris: Iterable[str | OutputUri]) -> None:
    """Check every target before a run starts, one store call per scheme: no two of them
    at one place (they would overwrite each other), and each writable (see the stores)."""
    by_scheme: dict[str, list[OutputUri]] = {}
    seen: dict[tuple[str, ...], OutputUri] = {}
    for uri in uris:
        target = uri if isinstance(uri, OutputUri) else parse_output_uri(uri)
        place = _place(target)
        if place in seen:
            raise StorageError(_same_place(seen[place], target))
        seen[place] = target
        by_scheme.setdefault(target.scheme, []).append(target)
    for scheme, targets in by_scheme.items():
        store_for(scheme).check_writable(targets)


def _place(target: OutputUri) -> tuple[str, ...]:
    """What makes two targets one: the object's bucket and key, or the file's real path."""
    if target.path is not None:
        from iota_container.storage.local import resolved_place

        return (target.scheme, str(resolved_place(target.path)))
    if target.scheme == "s3":
        return (target.scheme, target.bucket, target.key)
    return (target.scheme, target.uri)


def _same_place(first: OutputUri, second: OutputUri) -> str:
    both = repr(first.uri) if first.uri == second.uri else f"{first.uri!r} and {second.uri!r}"
    return f"two outputs would be written to one place, {both}: give each output its own file"
