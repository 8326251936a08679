"""How the registry client talks HTTP to one registry: which scheme, how long it waits,
which failures it tries again, and how much of an answer it reads.

Scheme: https, or plain http when asked (`plain_http=True`), or, like Docker, for a loopback
registry (localhost, 127.0.0.0/8, ::1) whose https port does not speak TLS. A certificate
that fails verification never falls back: that is an error naming the CA option.

Waits: every connect and every gap between bytes is bounded by one timeout
(IOTA_REGISTRY_TIMEOUT, default 30 s), so a registry that accepts the connection and never
answers costs one timeout and a line naming it, not the quarter of an hour it used to.

Retries: urllib3 retries busy and failing answers (429, 5xx), honouring Retry-After.
Connections that fail or break are retried here instead, for two reasons: urllib3 writes a
raw `Retrying (Retry(total=...))` warning line to stderr for each retry of its own, and a
request whose body the registry may have half-taken (a blob's PATCH or PUT) must not be
sent again as it is: the blob upload starts over instead (`registry.py`)."""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from iota_container.errors import IotaError
from iota_container.image.reference import DOCKER_HUB
from iota_container.image.registry_auth import RegistryAuth, repository_scope
from iota_container.image.registry_errors import (
    REGISTRY_TIMEOUT_ENV,
    ConnectionFailed,
    RegistryError,
    RegistryTimedOut,
    is_certificate_failure,
    response_error,
    transport_error,
)
from iota_container.image.spec import CredentialSource
from iota_container.limits import REGISTRY_DOCUMENT_LIMITS, read_chunks_limited
from iota_container.seconds_setting import positive_seconds

__all__ = ["REGISTRY_TIMEOUT_ENV", "RegistryTransport", "is_loopback", "registry_timeout"]

DEFAULT_TIMEOUT_SECONDS = 30.0
CONNECTION_ATTEMPTS = 3  # a request whose connection fails or breaks is sent up to 3 times
_BACKOFF_SECONDS = 0.5  # before the second attempt; doubled before each later one
_DOCKER_HUB_API = "registry-1.docker.io"  # where `docker.io` references are served
_READ_PIECE = 64 * 1024


class RegistryTimeoutError(IotaError):
    """IOTA_REGISTRY_TIMEOUT (or the timeout given) is not a usable number of seconds."""


def registry_timeout(
    explicit: float | None = None, environ: Mapping[str, str] | None = None
) -> float:
    """Seconds to wait for a connection, and between bytes of an answer: `explicit`, else
    $IOTA_REGISTRY_TIMEOUT, else 30."""
    if explicit is not None:
        return _positive_seconds(str(explicit), "the registry timeout")
    text = (os.environ if environ is None else environ).get(REGISTRY_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_SECONDS
    return _positive_seconds(text, REGISTRY_TIMEOUT_ENV)


def _positive_seconds(text: str, name: str) -> float:
    example = f"{REGISTRY_TIMEOUT_ENV}={DEFAULT_TIMEOUT_SECONDS:g}"
    return positive_seconds(text, name, RegistryTimeoutError, example)


def retrying_session() -> requests.Session:
    """Retries busy (429) and failing (5xx) answers with backoff, honouring Retry-After.
    Failed and broken connections (connect, read) are left to `send`; TLS failures
    (`other`) are not retried at all: they do not heal by themselves. PATCH is left out: a
    chunk the registry may have half-taken cannot simply be sent again."""
    retry = Retry(
        total=5,
        connect=0,
        read=0,
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


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    host: str,
    action: str,
    timeout: float | tuple[float, float],
    retry: bool = True,
    stream: bool = False,
    attempts_so_far: int = 0,
    **kwargs: Any,
) -> requests.Response:
    """One request; a connection that fails or breaks before the answer is in is tried
    again (up to CONNECTION_ATTEMPTS) when `retry`. Unless `stream`, the body is read here,
    within REGISTRY_DOCUMENT_LIMITS: no registry document (manifest, config, token, error)
    is larger, and an endless answer must not fill the memory. `attempts_so_far` counts
    the tries of a caller that starts over itself, for the message."""
    attempts = CONNECTION_ATTEMPTS if retry else 1
    for attempt in range(1, attempts + 1):
        try:
            response = session.request(method, url, timeout=timeout, stream=True, **kwargs)
            if not stream:
                read_body(response, host, f"{method} {urlsplit(url).path}")
            return response
        except requests.RequestException as e:
            tries = attempts_so_far + attempt
            error = transport_error(host, e, action, tries, _read_seconds(timeout))
            if attempt == attempts or not isinstance(error, ConnectionFailed):
                raise error from e
            time.sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _read_seconds(timeout: float | tuple[float, float]) -> float:
    return timeout[1] if isinstance(timeout, tuple) else timeout


def read_body(response: requests.Response, host: str, request: str) -> bytes:
    """The whole body, refused past REGISTRY_DOCUMENT_LIMITS; kept as the response's
    content, so that `.content`, `.text` and `.json()` read these bytes and no more."""
    with response:
        body = read_chunks_limited(
            response.iter_content(_READ_PIECE),
            REGISTRY_DOCUMENT_LIMITS,
            f"the answer of registry {host} to",
            request,
            fix="that is no manifest, token or error; check the address and any proxy",
        )
    response._content = body  # what requests itself caches a read body in
    return body


class RegistryTransport:
    """Requests to one registry, authenticated as it asks."""

    def __init__(
        self,
        registry: str,
        credentials: CredentialSource,
        ca_bundle: str | None = None,
        plain_http: bool | None = None,
        session: requests.Session | None = None,
        timeout: float | None = None,
    ) -> None:
        self.registry = registry
        self.timeout = registry_timeout(timeout)
        self._host = _DOCKER_HUB_API if registry == DOCKER_HUB else registry
        self._plain_http = plain_http
        self._session = session if session is not None else retrying_session()
        # An explicit bundle wins over REQUESTS_CA_BUNDLE; True lets requests read that.
        self._verify: str | bool = ca_bundle or True
        self._auth = RegistryAuth(registry, credentials, self._send_to_token_service)
        self._base_url: str | None = None

    def request(
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
        stream: bool = False,
        retry: bool = True,
        attempts_so_far: int = 0,
        read_timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """A request under /v2/REPOSITORY/ (or to an upload location the registry gave),
        authenticated as the registry asks; an answer outside `ok` becomes a RegistryError.
        `retry=False` for a request whose body must not reach the registry twice."""
        base = self.base_url()
        url = path if "://" in path else f"{base}/v2/{repository}/{path}"
        scopes = scopes or (repository_scope(repository, push), *also)
        # Credentials go only to the registry itself, not to a host a Location points to.
        ours = urlsplit(url).netloc == urlsplit(base).netloc
        options = {
            "action": action,
            "stream": stream,
            "retry": retry,
            "attempts_so_far": attempts_so_far,
            "timeout": (self.timeout, read_timeout or self.timeout),
            **kwargs,
        }
        auth = self._auth.headers(scopes, repository) if ours else {}
        response = self._send(method, url, {**(headers or {}), **auth}, **options)
        if response.status_code == 401 and ours:
            response.close()
            auth = self._auth.answer(response.headers.get("WWW-Authenticate"), scopes, repository)
            response = self._send(method, url, {**(headers or {}), **auth}, **options)
            if response.status_code == 401:
                response.close()
                raise self._auth.refused(repository)
        if response.status_code not in ok:
            if stream:  # the error body is needed for the message, within the limits
                read_body(response, self.registry, f"{method} {urlsplit(url).path}")
            raise response_error(self.registry, repository, action, response)
        return response

    def _send(
        self, method: str, url: str, headers: dict[str, str], **options: Any
    ) -> requests.Response:
        return send(
            self._session,
            method,
            url,
            host=self.registry,
            headers=headers,
            verify=self._verify,
            **options,
        )

    def _send_to_token_service(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return send(
            self._session,
            method,
            url,
            host=url,
            action=f"token request for {self.registry}",
            timeout=(self.timeout, self.timeout),
            verify=self._verify,
            **kwargs,
        )

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
            last = scheme == schemes[-1]
            try:
                # No retry before a fallback: a loopback https port that refuses is normal.
                response = self._send(
                    "GET",
                    f"{url}/v2/",
                    {},
                    action="first contact",
                    retry=last,
                    timeout=(self.timeout, self.timeout),
                )
            except RegistryTimedOut:
                # No fallback either: a registry silent on https is not faster on http.
                raise
            except RegistryError as e:
                if last or _is_certificate_failure(e):
                    raise
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


def _is_certificate_failure(error: RegistryError) -> bool:
    cause = error.__cause__
    return isinstance(cause, requests.RequestException) and is_certificate_failure(cause)


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
