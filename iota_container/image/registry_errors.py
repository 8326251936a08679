"""What went wrong talking to a registry, as one line naming the registry, the repository and
the fix: transport failures (unreachable, silent, cut off, untrusted TLS) and the registry's
own error codes (the distribution spec's `{"errors": [{"code", "message"}]}` body)."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator

import requests
import urllib3.exceptions

from iota_container.errors import IotaError, LimitExceeded
from iota_container.image.auth import PASSWORD_ENV, USERNAME_ENV
from iota_container.limits import REGISTRY_DOCUMENT_LIMITS, loads_json
from iota_container.text import one_line

CA_BUNDLE_OPTION = "--ca-bundle"
REGISTRY_TIMEOUT_ENV = "IOTA_REGISTRY_TIMEOUT"
_MAX_DETAIL = 200
# What a connection that was open and then cut looks like, from the socket up to requests.
_BROKEN = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.IncompleteRead,
    urllib3.exceptions.ProtocolError,
    requests.exceptions.ChunkedEncodingError,
)


class RegistryError(IotaError):
    """A registry could not be reached, refused us, or answered with an error."""


class ImageNotFound(RegistryError):
    """The manifest asked for is not in the registry."""


class ConnectionFailed(RegistryError):
    """The connection was refused, or broke before the answer was in: trying again may
    work (the registry restarted, a proxy dropped a connection)."""


class RegistryTimedOut(RegistryError):
    """The registry took the connection, or the request, and kept silent too long."""


def transport_error(
    host: str,
    error: requests.RequestException,
    action: str = "",
    attempts: int = 1,
    timeout: float | None = None,
) -> RegistryError:
    """No HTTP answer at all: a refused, silent or cut connection, or a TLS failure."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return RegistryError(
                f"registry {host} presented a TLS certificate this machine does not trust "
                f"({cause.verify_message}): pass its CA certificate with {CA_BUNDLE_OPTION} PATH "
                "(or set REQUESTS_CA_BUNDLE)"
            )
    during = f" during the {action}" if action else ""
    if is_timeout(error):
        waited = f"within {timeout:g} s" if timeout else "in time"
        return RegistryTimedOut(
            f"registry {host} did not answer {waited}{during}: check the address, the network "
            f"and any proxy (HTTPS_PROXY, NO_PROXY), or set {REGISTRY_TIMEOUT_ENV} to wait longer"
        )
    causes = list(_causes(error))
    connected = not any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in causes)
    if connected and any(isinstance(c, _BROKEN) for c in causes):
        tried = f"; tried {attempts} times" if attempts > 1 else ""
        return ConnectionFailed(
            f"registry {host} cut the connection{during} ({_reason(error)}{tried}): check "
            "the network, any proxy (HTTPS_PROXY, NO_PROXY) and the registry's log, then retry"
        )
    refused = any(isinstance(c, ConnectionRefusedError) for c in causes)
    return (ConnectionFailed if refused else RegistryError)(
        f"registry {host} is unreachable ({_reason(error)}): check the address, that the "
        "registry is running, and any proxy (HTTPS_PROXY, NO_PROXY)"
    )


def is_certificate_failure(error: requests.RequestException) -> bool:
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(error))


def is_timeout(error: requests.RequestException) -> bool:
    """A connect or read that waited out its timeout. Not every urllib3 timeout class: a
    refused connection (NewConnectionError) is one of them by inheritance."""
    return isinstance(error, requests.Timeout) or any(
        isinstance(cause, (TimeoutError, urllib3.exceptions.ReadTimeoutError))
        for cause in _causes(error)
    )


def credentials_refused(registry: str, repository: str, had_credentials: bool) -> RegistryError:
    where = (
        f"{USERNAME_ENV} and {PASSWORD_ENV}, `docker login {registry}`, or (build) "
        "--username with --password-stdin"
    )
    if had_credentials:
        return RegistryError(
            f"registry {registry} refused the credentials for {repository}: check the user "
            f"name and password ({where}) and that the account may use {repository}"
        )
    return RegistryError(
        f"registry {registry} requires credentials for {repository}: give them with {where}"
    )


def response_error(
    registry: str, repository: str, action: str, response: requests.Response
) -> RegistryError:
    """An HTTP answer that is not what `action` (e.g. "upload of blob sha256:...") needed."""
    status = response.status_code
    code, message = registry_error(response)
    detail = f"{code}: {message}" if code else f"HTTP {status}"
    if code == "NAME_INVALID" or (status == 404 and not code):
        # distribution answers a name its routes do not match with a bare 404 page.
        return RegistryError(
            f"registry {registry} rejects the repository name {repository!r} ({detail}): use "
            "lowercase letters and digits separated by '.', '_', '__', '-' or '/'"
        )
    if code == "NAME_UNKNOWN":
        return RegistryError(
            f"repository {repository} does not exist in registry {registry} ({detail}): "
            f"create it first (for ECR: aws ecr create-repository --repository-name {repository})"
        )
    if code == "BLOB_UNKNOWN":
        return RegistryError(
            f"registry {registry} lacks a blob for the {action} in {repository} ({detail}): "
            "the image there is incomplete; push it again"
        )
    if code == "DENIED" or status == 403:
        return RegistryError(
            f"registry {registry} denied the {action} in {repository} ({detail}): check that "
            "the account has push and pull rights there"
        )
    return RegistryError(
        f"registry {registry} failed the {action} in {repository} ({detail}): retry, "
        "or check the registry's log"
    )


def registry_error(response: requests.Response) -> tuple[str, str]:
    """The first (code, message) of a registry's error body; ("", text) when it has none.
    The body was read within limits by the transport; a deep one is no error body."""
    try:
        document = loads_json(response.content, REGISTRY_DOCUMENT_LIMITS, "error", response.url)
        first = (document.get("errors") or [])[0]
        return str(first.get("code", "")), one_line(str(first.get("message", "")), _MAX_DETAIL)
    except (ValueError, AttributeError, IndexError, TypeError, KeyError, LimitExceeded):
        body = response.content[: _MAX_DETAIL * 4].decode("utf-8", "replace")
        return "", one_line(body, _MAX_DETAIL)


def _reason(error: BaseException) -> str:
    """The innermost operating-system reason, e.g. 'Connection refused', else what
    http.client said ('Remote end closed connection without response')."""
    causes = list(_causes(error))
    reasons = [c.strerror for c in causes if isinstance(c, OSError) and c.strerror]
    if reasons:
        return one_line(reasons[-1], _MAX_DETAIL)
    said = [str(c) for c in causes if isinstance(c, (http.client.HTTPException, OSError))]
    return one_line(said[-1], _MAX_DETAIL) if said and said[-1] else type(error).__name__


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps: requests and urllib3 nest the socket error in
    causes, `reason` attributes and constructor arguments."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending += [e for e in (*linked, *current.args) if isinstance(e, BaseException)]
