"""Pushing one blob by the distribution API: one PUT for a blob up to the chunk size, else a
PATCH per chunk and a closing PUT.

A connection cut in the middle starts the upload over, from a new upload session: a
registry keeps the bytes of a half-received PATCH, so the old session cannot be resumed
where the client thinks it broke (distribution 2.8 then cancels it as BLOB_UPLOAD_INVALID),
and sending the same request again would append the chunk twice."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests

from iota_container.errors import IotaError
from iota_container.image.registry_errors import ConnectionFailed, RegistryError
from iota_container.image.registry_transport import RegistryTransport
from iota_container.image.spec import Progress

UPLOAD_ATTEMPTS = 3
_BACKOFF_SECONDS = 0.5
# The registry answers the closing PUT only once it has checked the digest of the whole
# blob, which for a large layer in object storage can take minutes, not one timeout.
COMMIT_TIMEOUT_FACTOR = 10
_OCTETS = "application/octet-stream"


@dataclass(frozen=True)
class Pieces:
    """`data` in chunks, as often as it is iterated (an upload that starts over reads its
    chunks again)."""

    data: bytes
    size: int

    def __iter__(self) -> Iterator[bytes]:
        return (self.data[i : i + self.size] for i in range(0, len(self.data), self.size))


class BlobUploader:
    def __init__(self, transport: RegistryTransport, chunk_size: int) -> None:
        self._transport = transport
        self.registry = transport.registry
        self.chunk_size = chunk_size

    def upload(
        self,
        repository: str,
        chunks: Iterable[bytes],
        size: int,
        digest: str,
        label: str,
        progress: Progress | None,
    ) -> None:
        """Up to UPLOAD_ATTEMPTS uploads while the connection breaks; a one-shot iterator
        of chunks cannot be read again, so it gets one."""
        attempts = 1 if isinstance(chunks, Iterator) else UPLOAD_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self._upload_once(repository, chunks, size, digest, label, progress, attempt)
                return
            except ConnectionFailed:
                if attempt == attempts:
                    raise
                time.sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))

    def _upload_once(
        self,
        repository: str,
        chunks: Iterable[bytes],
        size: int,
        digest: str,
        label: str,
        progress: Progress | None,
        attempt: int,
    ) -> None:
        """The digest is checked before the PUT that commits the blob; an upload that fails
        is cancelled, so the registry does not keep it open until it expires."""
        location = self._start(repository, digest)
        hasher = hasher_for(digest)
        sent = 0
        if progress:
            progress.transfer(label, 0, size)
        try:
            if size <= self.chunk_size:
                body = b"".join(chunks)
                hasher.update(body)
            else:
                body = b""
                for chunk in chunks:
                    hasher.update(chunk)
                    location = self._patch(repository, location, chunk, sent, digest, attempt)
                    sent += len(chunk)
                    if progress:
                        progress.transfer(label, sent, size)
            if f"{hasher.name}:{hasher.hexdigest()}" != digest:
                raise RegistryError(
                    f"blob {digest} for {self.registry}/{repository} had other content when "
                    "sent: its source changed during the push; run the build again"
                )
            self._commit(repository, location, body, digest, attempt)
        except Exception:
            self.cancel(repository, location)
            raise
        if progress:
            progress.transfer(label, size, size)

    def _start(self, repository: str, digest: str) -> str:
        response = self._transport.request(
            "POST",
            repository,
            "blobs/uploads/",
            action=f"upload of blob {digest}",
            push=True,
            ok=(202,),
            headers={"Content-Length": "0"},
        )
        return location_of(response)

    def _patch(
        self, repository: str, location: str, chunk: bytes, offset: int, digest: str, attempt: int
    ) -> str:
        response = self._transport.request(
            "PATCH",
            repository,
            location,
            action=f"upload of blob {digest}",
            push=True,
            ok=(202,),
            data=chunk,
            headers={
                "Content-Type": _OCTETS,
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
            },
            retry=False,  # the registry may keep half of it: the upload starts over
            attempts_so_far=attempt - 1,
        )
        return location_of(response)

    def _commit(
        self, repository: str, location: str, body: bytes, digest: str, attempt: int
    ) -> None:
        self._transport.request(
            "PUT",
            repository,
            with_query(location, digest=digest),
            action=f"upload of blob {digest}",
            push=True,
            ok=(201,),
            data=body,
            headers={"Content-Type": _OCTETS},
            retry=False,  # as for a PATCH, when it carries the blob
            attempts_so_far=attempt - 1,
            read_timeout=self._transport.timeout * COMMIT_TIMEOUT_FACTOR,
        )

    def cancel(self, repository: str, location: str) -> None:
        """Best effort: an upload left open only costs the registry until it expires."""
        with contextlib.suppress(IotaError):
            response = self._transport.request(
                "DELETE", repository, location, action="cancel of upload", push=True, ok=(204, 404)
            )
            response.close()


def location_of(response: requests.Response) -> str:
    location = response.headers.get("Location")
    if not location:
        raise RegistryError(
            f"registry at {response.url} answered {response.status_code} without a Location "
            "for the upload: it does not follow the distribution API; use --backend docker"
        )
    return urljoin(response.url, location)


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def hasher_for(digest: str) -> hashlib._Hash:
    algorithm = digest.split(":", 1)[0]
    if algorithm not in ("sha256", "sha512"):
        raise RegistryError(
            f"digest {digest!r} uses an algorithm other than sha256/sha512: this registry "
            "client cannot check it; use --backend docker"
        )
    return hashlib.new(algorithm)


def digest_of(data: bytes, like: str) -> str:
    """The digest of `data` by the algorithm of `like` (a digest, or just 'sha256:')."""
    hasher = hasher_for(like)
    hasher.update(data)
    return f"{hasher.name}:{hasher.hexdigest()}"
