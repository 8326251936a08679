"""A client for the OCI distribution API, the HTTP protocol of `docker push` and `docker pull`:
what a daemonless build needs to add a layer to an image inside a registry.

Written here rather than taken from a library: oras-py (0.2.43), the maintained Python
registry client, was evaluated and does not fit. It has no cross-repository mount; it keeps
one bearer token for every repository (no per-repository scope, no `from` scope for a mount);
it takes manifests as dicts, re-serializes them and always labels them OCI, so the digest of
what is pushed is not the caller's, which a reproducible build needs; it uploads from file
paths only, without progress or streaming from another registry; it has no https-to-http
fallback for loopback registries, raises bare ValueErrors and ships no type information.

How it talks HTTP (scheme, timeouts, retries, bounded answers) is `registry_transport.py`;
how one blob is pushed, `registry_upload.py`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from iota_container.image.media_types import IMAGE_MANIFESTS, INDEXES, MANIFEST_ACCEPT
from iota_container.image.reference import ImageReference
from iota_container.image.registry_auth import repository_scope
from iota_container.image.registry_errors import (
    ConnectionFailed,
    ImageNotFound,
    RegistryError,
    transport_error,
)
from iota_container.image.registry_transport import (
    CONNECTION_ATTEMPTS,
    RegistryTransport,
    is_loopback,
    retrying_session,
)
from iota_container.image.registry_upload import (
    BlobUploader,
    Pieces,
    digest_of,
    hasher_for,
    location_of,
)
from iota_container.image.spec import CredentialSource, Progress
from iota_container.limits import REGISTRY_DOCUMENT_LIMITS, loads_json, read_chunks_limited

__all__ = [
    "ImageNotFound",
    "RegistryClient",
    "RegistryError",
    "RemoteImage",
    "fetch_image_config",
    "is_loopback",
    "retrying_session",
]

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024  # ECR wants chunks of 5 MiB or more, all but the last
LINUX_AMD64 = ("linux", "amd64")
CATALOG_SCOPE = "registry:catalog:*"  # what a token server asks for the catalog


@dataclass(frozen=True)
class RemoteImage:
    """One platform's image manifest and its config, as a registry holds them."""

    manifest: dict[str, Any]
    media_type: str
    digest: str
    config: dict[str, Any]


class RegistryClient:
    def __init__(
        self,
        registry: str,
        credentials: CredentialSource,
        ca_bundle: str | None = None,
        plain_http: bool | None = None,
        session: requests.Session | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float | None = None,
    ) -> None:
        """`timeout`: seconds to wait for a connection and between bytes of an answer
        (default: $IOTA_REGISTRY_TIMEOUT, else 30)."""
        self.registry = registry
        self.chunk_size = chunk_size
        self._transport = RegistryTransport(
            registry, credentials, ca_bundle, plain_http, session, timeout
        )
        self._request = self._transport.request
        self._uploader = BlobUploader(self._transport, chunk_size)

    @property
    def timeout(self) -> float:
        return self._transport.timeout

    def base_url(self) -> str:
        """`scheme://host`, settled by the first request."""
        return self._transport.base_url()

    # -- manifests -------------------------------------------------------------------------

    def get_manifest(
        self, repository: str, reference: str, accept: Sequence[str] = MANIFEST_ACCEPT
    ) -> tuple[bytes, str, str]:
        """(body, media type, digest of the body) of a manifest, by tag or digest."""
        response = self._request(
            "GET",
            repository,
            f"manifests/{reference}",
            action=f"read of manifest {reference}",
            ok=(200, 404),
            headers={"Accept": ", ".join(accept)},
        )
        name = _display_name(self.registry, repository, reference)
        if response.status_code == 404:
            raise ImageNotFound(f"image {name} does not exist: push it, or check its name")
        body = response.content
        digest = digest_of(body, reference if ":" in reference else "sha256:")
        if ":" in reference and digest != reference:
            raise RegistryError(
                f"registry {self.registry} sent a manifest for {name} whose digest is {digest}: "
                "the registry or a proxy altered it; retry, or report it to the registry's owner"
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if not media_type:
            media_type = str(_json_object(body, "manifest", name).get("mediaType", ""))
        return body, media_type, digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """Store a manifest under a tag (or its digest); returns its digest."""
        response = self._request(
            "PUT",
            repository,
            f"manifests/{reference}",
            action=f"push of manifest {reference}",
            push=True,
            ok=(200, 201),
            data=body,
            headers={"Content-Type": media_type},
        )
        digest = digest_of(body, "sha256:")
        stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise RegistryError(
                f"registry {self.registry} stored the manifest of {repository}:{reference} as "
                f"{stored}, not {digest}: it rewrites manifests; use --backend docker"
            )
        return digest

    def get_image(
        self, repository: str, reference: str, platform: tuple[str, str] = LINUX_AMD64
    ) -> RemoteImage:
        """An image's manifest and config; an index (multi-platform image) is resolved to
        `platform`."""
        name = _display_name(self.registry, repository, reference)
        body, media_type, digest = self.get_manifest(repository, reference)
        manifest = _json_object(body, "manifest", name)
        if media_type in INDEXES:
            chosen = select_platform(manifest, platform, name)
            body, media_type, digest = self.get_manifest(repository, chosen, accept=IMAGE_MANIFESTS)
            manifest = _json_object(body, "manifest", name)
        if media_type not in IMAGE_MANIFESTS:
            raise RegistryError(
                f"image {name} has a manifest of type {media_type or 'unknown'!r}, which cannot "
                "be built on: re-push it as an OCI or Docker schema 2 image"
            )
        config_digest = str(_mapping(manifest.get("config")).get("digest", ""))
        config = _json_object(self._get_document(repository, config_digest), "config", name)
        return RemoteImage(manifest, media_type, digest, config)

    def _get_document(self, repository: str, digest: str) -> bytes:
        """A small blob (an image config), refused as soon as it outgrows one."""
        return read_chunks_limited(
            self.blob_chunks(repository, digest),
            REGISTRY_DOCUMENT_LIMITS,
            "image config",
            f"{self.registry}/{repository}@{digest}",
            fix="the manifest points at a layer, not a config; re-push the image",
        )

    # -- blobs -----------------------------------------------------------------------------

    def get_blob(self, repository: str, digest: str) -> bytes:
        return b"".join(self.blob_chunks(repository, digest))

    def blob_chunks(self, repository: str, digest: str) -> BlobDownload:
        """A blob as it arrives, up to `chunk_size` bytes at a time (see BlobDownload)."""
        return BlobDownload(self, repository, digest)

    def open_blob(self, repository: str, digest: str, offset: int) -> requests.Response:
        """The streamed answer to GET of a blob, from byte `offset` on (206) when not 0."""
        return self._request(
            "GET",
            repository,
            f"blobs/{digest}",
            action=f"download of blob {digest}",
            ok=(200, 206) if offset else (200,),
            stream=True,
            headers={"Range": f"bytes={offset}-"} if offset else {},
        )

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self._request(
            "HEAD", repository, f"blobs/{digest}", action="blob lookup", ok=(200, 404)
        )
        return response.status_code == 200

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob of another repository of this registry into `repository`, without
        sending it; False when the registry cannot (then upload it)."""
        response = self._request(
            "POST",
            repository,
            "blobs/uploads/",
            action=f"mount of blob {digest} from {from_repository}",
            push=True,
            also=(repository_scope(from_repository, push=False),),
            ok=(201, 202),
            params={"mount": digest, "from": from_repository},
        )
        if response.status_code == 201:
            return True
        # 202: the registry opened an ordinary upload instead; close it, it is not needed.
        self._uploader.cancel(repository, location_of(response))
        return False

    def upload_blob(
        self,
        repository: str,
        data: bytes,
        digest: str,
        progress_label: str = "",
        progress: Progress | None = None,
    ) -> None:
        if digest_of(data, digest) != digest:
            raise RegistryError(
                f"blob to push to {self.registry}/{repository} does not match its digest "
                f"{digest}: this is a bug in iota-container, please report it"
            )
        pieces = Pieces(data, self.chunk_size)
        self.upload_blob_chunks(repository, pieces, len(data), digest, progress_label, progress)

    def upload_blob_chunks(
        self,
        repository: str,
        chunks: Iterable[bytes],
        size: int,
        digest: str,
        progress_label: str = "",
        progress: Progress | None = None,
    ) -> None:
        """Push a blob (see registry_upload.py). Chunks that can be iterated again (bytes
        in memory, a BlobDownload) let an upload whose connection was cut start over."""
        label = progress_label or digest
        self._uploader.upload(repository, chunks, size, digest, label, progress)

    # -- repositories ----------------------------------------------------------------------

    def catalog_page(self, page_size: int, last: str | None = None) -> tuple[list[str], str | None]:
        """One page of the registry's repository names (`GET /v2/_catalog`), and the name to
        pass as `last` for the next page (None on the last page)."""
        query = urlencode({"n": str(page_size), **({"last": last} if last else {})})
        response = self._request(
            "GET",
            "",
            f"{self.base_url()}/v2/_catalog?{query}",
            action="list of repositories",
            ok=(200,),
            scopes=(CATALOG_SCOPE,),
        )
        catalog = _json_object(response.content, "repository catalog", self.registry)
        names = catalog.get("repositories")
        following = response.links.get("next", {}).get("url")
        after = parse_qs(urlsplit(following).query).get("last", [""])[0] if following else ""
        return [str(name) for name in names or []], after or None


def fetch_image_config(
    reference: ImageReference,
    credentials: CredentialSource,
    ca_bundle: str | None = None,
    plain_http: bool | None = None,
    session: requests.Session | None = None,
    timeout: float | None = None,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(config, manifest, manifest digest) of an image, for linux/amd64."""
    client = RegistryClient(
        reference.registry, credentials, ca_bundle, plain_http, session, timeout=timeout
    )
    image = client.get_image(reference.repository, reference.digest or reference.tag or "latest")
    return image.config, image.manifest, image.digest


def select_platform(index: dict[str, Any], platform: tuple[str, str], name: str) -> str:
    """The digest of the manifest for `platform` (os, architecture) in an image index."""
    offered = []
    for entry in _sequence(index.get("manifests")):
        found = _mapping(_mapping(entry).get("platform"))
        pair = (found.get("os"), found.get("architecture"))
        if pair == platform:
            return str(entry["digest"])
        offered.append("/".join(str(part) for part in pair))
    wanted = "/".join(platform)
    raise RegistryError(
        f"image {name} has no {wanted} variant (it has {', '.join(offered) or 'none'}): "
        f"choose a base image built for {wanted}"
    )


class BlobDownload:
    """A blob's bytes as they arrive, checked against its digest once all are in. Each
    iteration downloads it again (an upload that starts over reads its source again); a
    connection cut mid-way is resumed from the byte where it broke (a Range request)."""

    def __init__(self, client: RegistryClient, repository: str, digest: str) -> None:
        self._client = client
        self.repository = repository
        self.digest = digest

    def __iter__(self) -> Iterator[bytes]:
        hasher = hasher_for(self.digest)
        received = 0
        for attempt in range(1, CONNECTION_ATTEMPTS + 1):
            try:
                for chunk in self._from(received):
                    hasher.update(chunk)
                    received += len(chunk)
                    yield chunk
                break
            except requests.RequestException as e:
                error = transport_error(
                    self._client.registry, e, f"download of blob {self.digest}", attempt
                )
                if attempt == CONNECTION_ATTEMPTS or not isinstance(error, ConnectionFailed):
                    raise error from e
                time.sleep(0.5 * attempt)
        if f"{hasher.name}:{hasher.hexdigest()}" != self.digest:
            raise RegistryError(
                f"blob {self.digest} from {self._client.registry}/{self.repository} arrived "
                "with other content: the registry's storage is damaged; push the base image again"
            )

    def _from(self, offset: int) -> Iterator[bytes]:
        response = self._client.open_blob(self.repository, self.digest, offset)
        with response:
            chunks = response.iter_content(self._client.chunk_size)
            if offset and response.status_code == 200:  # the Range was ignored: skip ahead
                chunks = _skip(chunks, offset)
            yield from chunks


def _skip(chunks: Iterator[bytes], count: int) -> Iterator[bytes]:
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:]
        count = 0


def _json_object(body: bytes, what: str, name: str) -> dict[str, Any]:
    """A registry document (`what` of `name`: "manifest", "config", "repository catalog")."""
    try:
        document = loads_json(
            body,
            REGISTRY_DOCUMENT_LIMITS,
            what,
            name,
            fix=f"the registry sent no {what}; check the address and any proxy",
        )
    except ValueError as e:
        raise RegistryError(
            f"{what} of {name}: the registry sent something that is not JSON ({e}): "
            "check the address"
        ) from e
    if not isinstance(document, dict):
        raise RegistryError(
            f"{what} of {name}: the registry sent JSON that is not an object: check the address"
        )
    return document


def _mapping(value: Any) -> dict[str, Any]:
    """A registry document's object field, or {} when the registry sent something else."""
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _display_name(registry: str, repository: str, reference: str) -> str:
    separator = "@" if ":" in reference else ":"
    return f"{registry}/{repository}{separator}{reference}"
