"""Answers a registry's `WWW-Authenticate` challenge: HTTP basic, or bearer tokens from the
registry's token service, one per set of repository scopes (Docker's token protocol, which
ECR, Docker Hub, GHCR, Harbor and distribution's `auth: token` speak).

Credentials are looked up only once a registry asks for them, so a registry that needs none
never sees any (and a credential helper is not run for it)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from iota_container.image.registry_errors import (
    RegistryError,
    credentials_refused,
    registry_error,
)
from iota_container.image.spec import CredentialSource, RegistryCredentials
from iota_container.limits import REGISTRY_DOCUMENT_LIMITS, loads_json

# How a token request goes out: (method, url, **requests options) → the answer, its body
# read within limits; connection failures already raised as RegistryError.
TokenSender = Callable[..., requests.Response]

# auth-param = token "=" ( token / quoted-string ), RFC 7235.
_PARAM = re.compile(r'([\w.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_TOKEN_CLIENT_ID = "iota-container"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercase: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> tuple[str, ...]:
        # distribution joins the scopes a request needs with spaces, in one parameter.
        return tuple(self.params.get("scope", "").split())


def parse_challenge(header: str | None) -> Challenge | None:
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): re.sub(r"\\(.)", r"\1", m.group(2))
        if m.group(2) is not None
        else m.group(3)
        for m in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


def repository_scope(repository: str, push: bool) -> str:
    return f"repository:{repository}:{'pull,push' if push else 'pull'}"


class RegistryAuth:
    """The Authorization header for each request to one registry."""

    def __init__(self, registry: str, credentials: CredentialSource, send: TokenSender) -> None:
        self.registry = registry
        self._source = credentials
        self._send = send
        self._challenge: Challenge | None = None
        self._credentials: RegistryCredentials | None = None
        self._looked_up = False
        self._tokens: dict[tuple[str, ...], str] = {}

    def learn(self, header: str | None) -> None:
        """The challenge of the registry's `GET /v2/`, so later requests need no 401 first."""
        self._challenge = parse_challenge(header)

    def headers(self, scopes: tuple[str, ...], repository: str) -> dict[str, str]:
        """What to send before the registry asks: nothing until it has challenged once."""
        challenge = self._challenge
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            credentials = self._lookup()
            return _basic(credentials) if credentials and credentials.password else {}
        if challenge.scheme == "bearer":
            token = self._tokens.get(scopes) or self._token(challenge, scopes, repository)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def answer(
        self, header: str | None, scopes: tuple[str, ...], repository: str
    ) -> dict[str, str]:
        """After a 401: authenticate as its challenge says. A cached token may have expired,
        or the registry may want a wider scope than asked for, so fetch a new one."""
        challenge = parse_challenge(header)
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise RegistryError(
                f"registry {self.registry} wants authentication for {repository} by a scheme "
                f"this client does not speak ({header or 'no WWW-Authenticate header'}): "
                "use --backend docker with `docker login`"
            )
        self._challenge = challenge
        if challenge.scheme == "basic":
            credentials = self._lookup()
            if credentials is None or not credentials.password:
                raise self.refused(repository)
            return _basic(credentials)
        wider = tuple(dict.fromkeys([*scopes, *challenge.scopes]))
        token = self._token(challenge, wider, repository)
        self._tokens[scopes] = token
        return {"Authorization": f"Bearer {token}"}

    def refused(self, repository: str) -> RegistryError:
        return credentials_refused(self.registry, repository, self._lookup() is not None)

    def _lookup(self) -> RegistryCredentials | None:
        if not self._looked_up:
            self._credentials = self._source.credentials_for(self.registry)
            self._looked_up = True
        return self._credentials

    def _token(self, challenge: Challenge, scopes: tuple[str, ...], repository: str) -> str:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError(
                f"registry {self.registry} asked for a bearer token without naming its token "
                "service (no realm): check the registry's auth configuration"
            )
        credentials = self._lookup()
        response = self._request_token(realm, challenge.params.get("service"), scopes)
        if response.status_code in (401, 403):
            raise credentials_refused(self.registry, repository, credentials is not None)
        body = _json_object(response, realm) if response.ok else {}
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            code, message = registry_error(response)
            raise RegistryError(
                f"token service {realm} of registry {self.registry} gave no token for "
                f"{repository} (HTTP {response.status_code} {code} {message}): check the "
                "registry's auth configuration"
            )
        self._tokens[scopes] = token
        return token

    def _request_token(
        self, realm: str, service: str | None, scopes: tuple[str, ...]
    ) -> requests.Response:
        credentials = self._lookup()
        if credentials is not None and credentials.identity_token:
            # An identity token is an OAuth2 refresh token: exchanged by POST, not basic auth.
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credentials.identity_token,
                "client_id": _TOKEN_CLIENT_ID,
                "scope": " ".join(scopes),
                **({"service": service} if service else {}),
            }
            return self._send("POST", realm, data=form)
        query = [("scope", scope) for scope in scopes]
        if service:
            query.append(("service", service))
        auth = (
            (credentials.username, credentials.password)
            if credentials is not None and credentials.username and credentials.password
            else None  # an anonymous token: public repositories give one
        )
        return self._send("GET", realm, params=query, auth=auth)


def _basic(credentials: RegistryCredentials) -> dict[str, str]:
    pair = f"{credentials.username or ''}:{credentials.password or ''}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def _json_object(response: requests.Response, realm: str) -> dict[str, Any]:
    """The token answer; {} when it is not a JSON object (the caller says no token came)."""
    try:
        body = loads_json(
            response.content,
            REGISTRY_DOCUMENT_LIMITS,
            "token answer",
            realm,
            fix="the token service sent no token; check the registry's auth configuration",
        )
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
