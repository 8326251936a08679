"""What went wrong talking to a registry, as one line naming the registry, the repository and
the fix: transport failures (unreachable, untrusted TLS) and the registry's own error codes
(the distribution spec's `{"errors": [{"code", "message"}]}` body)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import requests

from iota_container.errors import IotaError
from iota_container.image.auth import PASSWORD_ENV, USERNAME_ENV

CA_BUNDLE_OPTION = "--ca-bundle"
_MAX_DETAIL = 200


class RegistryError(IotaError):
    """A registry could not be reached, refused us, or answered with an error."""


class ImageNotFound(RegistryError):
    """The manifest asked for is not in the registry."""


def transport_error(host: str, error: requests.RequestException) -> RegistryError:
    """No HTTP answer at all: a refused or timed-out connection, or a TLS failure."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return RegistryError(
                f"registry {host} presented a TLS certificate this machine does not trust "
                f"({cause.verify_message}): pass its CA certificate with {CA_BUNDLE_OPTION} PATH "
                "(or set REQUESTS_CA_BUNDLE)"
            )
    if isinstance(error, requests.Timeout):
        return RegistryError(
            f"registry {host} did not answer in time: check the address, the network and "
            "any proxy (HTTPS_PROXY, NO_PROXY)"
        )
    return RegistryError(
        f"registry {host} is unreachable ({_reason(error)}): check the address, that the "
        "registry is running, and any proxy (HTTPS_PROXY, NO_PROXY)"
    )


def is_certificate_failure(error: requests.RequestException) -> bool:
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(error))


def credentials_refused(registry: str, repository: str, had_credentials: bool) -> RegistryError:
    where = f"--username/--password, {USERNAME_ENV}/{PASSWORD_ENV}, or `docker login {registry}`"
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
    """The first (code, message) of a registry's error body; ("", text) when it has none."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return str(first.get("code", "")), _one_line(str(first.get("message", "")))
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", _one_line(response.text)


def _reason(error: BaseException) -> str:
    """The innermost operating-system reason, e.g. 'Connection refused'."""
    reasons = [c.strerror for c in _causes(error) if isinstance(c, OSError) and c.strerror]
    return _one_line(reasons[-1]) if reasons else type(error).__name__


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


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
