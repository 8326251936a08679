"""A client for the OCI distribution API, the HTTP protocol of `docker push` and `docker pull`:
what a daemonless build needs to add a layer to an image inside a registry.

Written here rather than taken from a library: oras-py (0.2.43), the maintained Python
registry client, was evaluated and does not fit. It has no cross-repository mount; it keeps
one bearer token for every repository (no per-repository scope, no `from` scope for a mount);
it takes manifests as dicts, re-serializes them and always labels them OCI, so the digest of
what is pushed is not the caller's, which a reproducible build needs; it uploads from file
paths only, without progress or streaming from another registry; it has no https-to-http
fallback for loopback registries, raises bare ValueErrors and ships no type information.

Scheme: https, or plain http when asked (`plain_http=True`), or, like Docker, for a loopback
registry (localhost, 127.0.0.0/8, ::1) whose https port does not speak TLS. A certificate
that fails verification never falls back: that is an error naming the CA option."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from iota_container.image.media_types import IMAGE_MANIFESTS, INDEXES, MANIFEST_ACCEPT
from iota_container.image.reference import DOCKER_HUB, ImageReference
from iota_container.image.registry_auth import RegistryAuth, repository_scope
from iota_container.image.registry_errors import (
    ImageNotFound,
    RegistryError,
    is_certificate_failure,
    response_error,
    transport_error,
)
from iota_container.image.spec import CredentialSource, Progress

__all__ = ["ImageNotFound", "RegistryClient", "RegistryError", "RemoteImage", "fetch_image_config"]

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024  # ECR wants chunks of 5 MiB or more, all but the last
LINUX_AMD64 = ("linux", "amd64")
_TIMEOUT = (10, 300)  # seconds to connect, seconds between bytes
_DOCKER_HUB_API = "registry-1.docker.io"  # where `docker.io` references are served
_OCTETS = "application/octet-stream"
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
    ) -> None:
        self.registry = registry
        self.chunk_size = chunk_size
        self._host = _DOCKER_HUB_API if registry == DOCKER_HUB else registry
        self._plain_http = plain_http
        self._session = session if session is not None else retrying_session()
        # An explicit bundle wins over REQUESTS_CA_BUNDLE; True lets requests read that.
        self._verify: str | bool = ca_bundle or True
        self._auth = RegistryAuth(registry, credentials, self._session, self._verify)
        self._base_url: str | None = None

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
        digest = _digest_of(body, reference if ":" in reference else "sha256:")
        if ":" in reference and digest != reference:
            raise RegistryError(
                f"registry {self.registry} sent a manifest for {name} whose digest is {digest}: "
                "the registry or a proxy altered it; retry, or report it to the registry's owner"
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return body, media_type or str(_json_object(body, name).get("mediaType", "")), digest

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
        digest = _digest_of(body, "sha256:")
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
        manifest = _json_object(body, name)
        if media_type in INDEXES:
            chosen = select_platform(manifest, platform, name)
            body, media_type, digest = self.get_manifest(repository, chosen, accept=IMAGE_MANIFESTS)
            manifest = _json_object(body, name)
        if media_type not in IMAGE_MANIFESTS:
            raise RegistryError(
                f"image {name} has a manifest of type {media_type or 'unknown'!r}, which cannot "
                "be built on: re-push it as an OCI or Docker schema 2 image"
            )
        config_digest = str(manifest.get("config", {}).get("digest", ""))
        config = _json_object(self.get_blob(repository, config_digest), f"config of {name}")
        return RemoteImage(manifest, media_type, digest, config)

    # -- blobs -----------------------------------------------------------------------------

    def get_blob(self, repository: str, digest: str) -> bytes:
        return b"".join(self.blob_chunks(repository, digest))

    def blob_chunks(self, repository: str, digest: str) -> Iterator[bytes]:
        """A blob as it arrives, up to `chunk_size` bytes at a time; checked against its
        digest once all has arrived."""
        response = self._request(
            "GET",
            repository,
            f"blobs/{digest}",
            action=f"download of blob {digest}",
            ok=(200,),
            stream=True,
        )
        hasher = _hasher(digest)
        with response:
            try:
                for chunk in response.iter_content(self.chunk_size):
                    hasher.update(chunk)
                    yield chunk
            except requests.RequestException as e:
                raise transport_error(self.registry, e) from e
        if f"{hasher.name}:{hasher.hexdigest()}" != digest:
            raise RegistryError(
                f"blob {digest} from {self.registry}/{repository} arrived with other content: "
                "the registry's storage is damaged; push the base image again"
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
        self._cancel_upload(repository, _location(response))
        return False

    def upload_blob(
        self,
        repository: str,
        data: bytes,
        digest: str,
        progress_label: str = "",
        progress: Progress | None = None,
    ) -> None:
        if _digest_of(data, digest) != digest:
            raise RegistryError(
                f"blob to push to {self.registry}/{repository} does not match its digest "
                f"{digest}: this is a bug in iota-container, please report it"
            )
        pieces = (data[i : i + self.chunk_size] for i in range(0, len(data), self.chunk_size))
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
        """One PUT for a blob up to `chunk_size`, else a PATCH per chunk and a closing PUT.
        The digest is checked before the PUT that commits the blob; an upload that fails is
        cancelled, so the registry does not keep it open until it expires."""
        label = progress_label or digest
        location = self._start_upload(repository, digest)
        hasher = _hasher(digest)
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
                    location = self._patch(repository, location, chunk, sent, digest)
                    sent += len(chunk)
                    if progress:
                        progress.transfer(label, sent, size)
            if f"{hasher.name}:{hasher.hexdigest()}" != digest:
                raise RegistryError(
                    f"blob {digest} for {self.registry}/{repository} had other content when "
                    "sent: its source changed during the push; run the build again"
                )
            self._request(
                "PUT",
                repository,
                _with_query(location, digest=digest),
                action=f"upload of blob {digest}",
                push=True,
                ok=(201,),
                data=body,
                headers={"Content-Type": _OCTETS},
            )
        except Exception:
            self._cancel_upload(repository, location)
            raise
        if progress:
            progress.transfer(label, size, size)

    def _start_upload(self, repository: str, digest: str) -> str:
        response = self._request(
            "POST",
            repository,
            "blobs/uploads/",
            action=f"upload of blob {digest}",
            push=True,
            ok=(202,),
            headers={"Content-Length": "0"},
        )
        return _location(response)

    def _patch(self, repository: str, location: str, chunk: bytes, offset: int, digest: str) -> str:
        response = self._request(
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
        )
        return _location(response)

    def _cancel_upload(self, repository: str, location: str) -> None:
        """Best effort: an upload left open only costs the registry until it expires."""
        with contextlib.suppress(RegistryError):
            self._request(
                "DELETE", repository, location, action="cancel of upload", push=True, ok=(204, 404)
            )

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
        names = _json_object(response.content, "the repository catalog").get("repositories")
        following = response.links.get("next", {}).get("url")
        after = parse_qs(urlsplit(following).query).get("last", [""])[0] if following else ""
        return [str(name) for name in names or []], after or None

    # -- transport -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        repository: str,
        path: str,
        *,
        action: str,
        ok: Sequence[int],
        push: bool = False,
        also: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        scopes: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """A request under /v2/REPOSITORY/ (or to an upload location the registry gave),
        authenticated as the registry asks; an answer outside `ok` becomes a RegistryError."""
        base = self.base_url()
        url = path if "://" in path else f"{base}/v2/{repository}/{path}"
        scopes = scopes or (repository_scope(repository, push), *also)
        # Credentials go only to the registry itself, not to a host a Location points to.
        ours = urlsplit(url).netloc == urlsplit(base).netloc
        auth = self._auth.headers(scopes, repository) if ours else {}
        response = self._send(method, url, {**(headers or {}), **auth}, **kwargs)
        if response.status_code == 401 and ours:
            response.close()
            auth = self._auth.answer(response.headers.get("WWW-Authenticate"), scopes, repository)
            response = self._send(method, url, {**(headers or {}), **auth}, **kwargs)
            if response.status_code == 401:
                raise self._auth.refused(repository)
        if response.status_code not in ok:
            raise response_error(self.registry, repository, action, response)
        return response

    def _send(
        self, method: str, url: str, headers: dict[str, str], **kwargs: Any
    ) -> requests.Response:
        try:
            return self._session.request(
                method, url, headers=headers, verify=self._verify, timeout=_TIMEOUT, **kwargs
            )
        except requests.RequestException as e:
            raise transport_error(self.registry, e) from e

    def base_url(self) -> str:
        """`scheme://host`, settled by the first `GET /v2/` (which also shows whether and how
        the registry wants authentication)."""
        if self._base_url is None:
            self._base_url = self._ping()
        return self._base_url

    def _ping(self) -> str:
        if self._plain_http:
            schemes = ["http"]
        elif self._plain_http is None and is_loopback(self._host):
            schemes = ["https", "http"]
        else:
            schemes = ["https"]
        for scheme in schemes:
            url = f"{scheme}://{self._host}"
            try:
                response = self._session.get(f"{url}/v2/", verify=self._verify, timeout=_TIMEOUT)
            except requests.RequestException as e:
                if scheme == schemes[-1] or is_certificate_failure(e):
                    raise transport_error(self.registry, e) from e
                continue
            if response.status_code == 401:
                self._auth.learn(response.headers.get("WWW-Authenticate"))
            elif response.status_code != 200:
                raise RegistryError(
                    f"{url}/v2/ answered HTTP {response.status_code}: {self.registry} does not "
                    "look like an image registry; check the address"
                )
            return url
        raise AssertionError("unreachable: the last scheme raises")


def fetch_image_config(
    reference: ImageReference,
    credentials: CredentialSource,
    ca_bundle: str | None = None,
    plain_http: bool | None = None,
    session: requests.Session | None = None,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(config, manifest, manifest digest) of an image, for linux/amd64."""
    client = RegistryClient(reference.registry, credentials, ca_bundle, plain_http, session)
    image = client.get_image(reference.repository, reference.digest or reference.tag or "latest")
    return image.config, image.manifest, image.digest


def select_platform(index: dict[str, Any], platform: tuple[str, str], name: str) -> str:
    """The digest of the manifest for `platform` (os, architecture) in an image index."""
    offered = []
    for entry in index.get("manifests", []):
        found = entry.get("platform", {})
        pair = (found.get("os"), found.get("architecture"))
        if pair == platform:
            return str(entry["digest"])
        offered.append("/".join(str(part) for part in pair))
    wanted = "/".join(platform)
    raise RegistryError(
        f"image {name} has no {wanted} variant (it has {', '.join(offered) or 'none'}): "
        f"choose a base image built for {wanted}"
    )


def retrying_session() -> requests.Session:
    """Retries busy (429) and failing (5xx) answers with backoff, honouring Retry-After.
    PATCH is left out: a chunk the registry may have half-taken cannot simply be sent again.
    TLS failures (`other`) are not retried: they do not heal by themselves."""
    retry = Retry(
        total=5,
        connect=2,
        read=2,
        other=0,
        status=4,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"}),
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1, with or without a port."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _location(response: requests.Response) -> str:
    location = response.headers.get("Location")
    if not location:
        raise RegistryError(
            f"registry at {response.url} answered {response.status_code} without a Location "
            "for the upload: it does not follow the distribution API; use --backend docker"
        )
    return urljoin(response.url, location)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def _hasher(digest: str) -> hashlib._Hash:
    algorithm = digest.split(":", 1)[0]
    if algorithm not in ("sha256", "sha512"):
        raise RegistryError(
            f"digest {digest!r} uses an algorithm other than sha256/sha512: this registry "
            "client cannot check it; use --backend docker"
        )
    return hashlib.new(algorithm)


def _digest_of(data: bytes, like: str) -> str:
    """The digest of `data` by the algorithm of `like` (a digest, or just 'sha256:')."""
    hasher = _hasher(like)
    hasher.update(data)
    return f"{hasher.name}:{hasher.hexdigest()}"


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as e:
        raise RegistryError(
            f"{what}: the registry sent something that is not JSON ({e}): check the address"
        ) from e
    if not isinstance(document, dict):
        raise RegistryError(
            f"{what}: the registry sent JSON that is not an object: check the address"
        )
    return document


def _display_name(registry: str, repository: str, reference: str) -> str:
    separator = "@" if ":" in reference else ":"
    return f"{registry}/{repository}{separator}{reference}"
