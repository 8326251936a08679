"""Where registry credentials come from: command-line options, IOTA_REGISTRY_* variables,
and Docker's own configuration (`docker login`, credential helpers), in that order.

Secrets stay in memory: nothing here logs, prints or writes them, and error messages name
the registry and the source, never the values."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from iota_container.errors import IotaError, LimitExceeded
from iota_container.image.reference import DOCKER_HUB
from iota_container.image.spec import CredentialSource, RegistryCredentials
from iota_container.limits import (
    CREDENTIAL_LIMITS,
    loads_json,
    read_bytes_limited,
    read_stream_limited,
)

USERNAME_ENV = "IOTA_REGISTRY_USERNAME"
PASSWORD_ENV = "IOTA_REGISTRY_PASSWORD"
# `docker login` without a server name stores Docker Hub under this legacy key.
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = {DOCKER_HUB, "index.docker.io", "registry-1.docker.io"}
# A credential helper's answer for "nothing stored", by the protocol's reference helpers.
_HELPER_NOT_FOUND = "credentials not found"
# The username a helper returns when the secret is an identity (refresh) token.
_IDENTITY_TOKEN_USER = "<token>"
HELPER_TIMEOUT_SECONDS = 60


class CredentialError(IotaError):
    """Credentials that are set up but cannot be read."""


class StaticCredentials:
    """A user name and password from the command line, for `registry` only (None: any
    registry): a base image pulled from another registry never sees them."""

    def __init__(self, registry: str | None, username: str | None, password: str | None) -> None:
        if not username or not password:
            raise CredentialError(
                "a registry user name needs its password and the other way round: give both "
                f"--username and --password-stdin (or set {PASSWORD_ENV}), or neither"
            )
        self._credentials = RegistryCredentials(username=username, password=password)
        self._registry = registry

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        if self._registry is not None and registry != self._registry:
            return None
        return self._credentials


class EnvironmentCredentials:
    """IOTA_REGISTRY_USERNAME and IOTA_REGISTRY_PASSWORD, for `registry` only (None: any;
    pass the build's target, or a public base elsewhere is asked with the wrong account)."""

    def __init__(
        self, registry: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self._registry = registry
        self._environ = os.environ if environ is None else environ

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        if self._registry is not None and registry != self._registry:
            return None
        username = self._environ.get(USERNAME_ENV)
        password = self._environ.get(PASSWORD_ENV)
        if not username and not password:
            return None
        if not username or not password:
            missing, present = (
                (USERNAME_ENV, PASSWORD_ENV) if not username else (PASSWORD_ENV, USERNAME_ENV)
            )
            raise CredentialError(f"{present} is set but {missing} is not: set both, or neither")
        return RegistryCredentials(username=username, password=password)


class DockerConfigCredentials:
    """What `docker login` left in $DOCKER_CONFIG/config.json (default ~/.docker): a
    registry's `credHelpers` entry, else the `credsStore` helper, else its `auths` entry."""

    def __init__(
        self, config_path: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        environ = os.environ if environ is None else environ
        if config_path is None:
            folder = environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
            config_path = Path(folder) / "config.json"
        self.config_path = config_path
        self._config: dict[str, Any] | None = None

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        config = self._load()
        helper = config.get("credHelpers", {}).get(registry) or config.get("credsStore")
        if helper:
            found = run_credential_helper(str(helper), _server_url(registry))
            if found is not None:
                return found
        entry = _auths_entry(config.get("auths", {}), registry)
        return _decode_auths_entry(entry, registry, self.config_path) if entry else None

    def _load(self) -> dict[str, Any]:
        if self._config is None:
            try:
                loaded = _read_config(self.config_path)
            except FileNotFoundError:
                loaded = {}
            except (OSError, ValueError, LimitExceeded) as e:
                raise CredentialError(
                    f"Docker config {self.config_path} cannot be read ({e}): fix it, or point "
                    "DOCKER_CONFIG at another folder"
                ) from e
            if not isinstance(loaded, dict):
                raise CredentialError(
                    f"Docker config {self.config_path} is not a JSON object: fix it, or point "
                    "DOCKER_CONFIG at another folder"
                )
            self._config = loaded
        return self._config


def _read_config(path: Path) -> Any:
    fix = "that is no Docker config; fix it, or point DOCKER_CONFIG at another folder"
    text = read_bytes_limited(path, CREDENTIAL_LIMITS, "Docker config", fix=fix)
    return loads_json(text, CREDENTIAL_LIMITS, "Docker config", str(path), fix=fix)


class ChainedCredentials:
    """The first source that has credentials for a registry answers."""

    def __init__(self, sources: Sequence[CredentialSource]) -> None:
        self.sources = list(sources)

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        for source in self.sources:
            found = source.credentials_for(registry)
            if found is not None:
                return found
        return None


def run_credential_helper(helper: str, server_url: str) -> RegistryCredentials | None:
    """`docker-credential-HELPER get`: the server URL on stdin, JSON on stdout."""
    executable = shutil.which(f"docker-credential-{helper}")
    if executable is None:
        raise CredentialError(
            f"Docker's config names the credential helper {helper!r}, but "
            f"docker-credential-{helper} is not on PATH: install it, or remove it from the "
            "config's credsStore/credHelpers"
        )
    try:
        returncode, stdout, stderr = _run_helper(executable, server_url)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CredentialError(
            f"credential helper docker-credential-{helper} did not answer for {server_url} "
            f"({type(e).__name__}): check it works with `docker-credential-{helper} get`"
        ) from e
    except LimitExceeded as e:
        raise CredentialError(
            f"credential helper docker-credential-{helper} answered more than "
            f"{CREDENTIAL_LIMITS.max_bytes:,} bytes for {server_url}: check it with "
            f"`docker-credential-{helper} get`"
        ) from e
    if returncode != 0:
        # A helper prints its error message on stdout; the first line names the problem.
        said = (stdout.strip() or stderr.strip()).splitlines()
        reason = said[0][:200] if said else f"exit code {returncode}"
        if _HELPER_NOT_FOUND in reason.lower():
            return None
        raise CredentialError(
            f"credential helper docker-credential-{helper} failed for {server_url} ({reason}): "
            f"run `docker login {server_url}` again"
        )
    return _parse_helper_answer(stdout, helper, server_url)


def _run_helper(executable: str, server_url: str) -> tuple[int, str, str]:
    """`HELPER get` with the server URL on stdin: (exit code, stdout, stderr), each stream
    read within CREDENTIAL_LIMITS (the answer is a secret: it stays in memory, never in a
    file), the helper killed after HELPER_TIMEOUT_SECONDS."""
    timed_out = threading.Event()
    with subprocess.Popen(
        [executable, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:

        def give_up() -> None:
            timed_out.set()
            process.kill()

        deadline = threading.Timer(HELPER_TIMEOUT_SECONDS, give_up)
        deadline.start()
        try:
            errors = _BackgroundReader(_pipe(process.stderr))
            _write_input(_pipe(process.stdin), server_url)
            answer = read_stream_limited(
                _pipe(process.stdout), CREDENTIAL_LIMITS, "answer", executable
            )
            returncode = process.wait()
            said = errors.result()
        except LimitExceeded:
            process.kill()
            raise
        finally:
            deadline.cancel()
    if timed_out.is_set():
        raise subprocess.TimeoutExpired([executable, "get"], HELPER_TIMEOUT_SECONDS)
    return returncode, _text(answer), _text(said)


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:
        raise AssertionError("unreachable: the helper runs with all three streams piped")
    return stream


def _write_input(stdin: IO[bytes], text: str) -> None:
    try:
        stdin.write(text.encode())
        stdin.close()
    except BrokenPipeError:
        pass  # it did not read its input: its exit code and output say why


class _BackgroundReader:
    """Reads a stream to its end in a thread (a helper that fills its stderr pipe must not
    block while stdout is read), keeping only the first CREDENTIAL_LIMITS bytes."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._kept = b""
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        # A helper killed for answering too much has its pipes closed under this thread.
        with contextlib.suppress(OSError, ValueError):
            self._kept = self._stream.read(CREDENTIAL_LIMITS.max_bytes)
            while self._stream.read(64 * 1024):
                pass

    def result(self) -> bytes:
        self._thread.join(HELPER_TIMEOUT_SECONDS)
        return self._kept


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _parse_helper_answer(stdout: str, helper: str, server_url: str) -> RegistryCredentials:
    try:
        document = loads_json(stdout, CREDENTIAL_LIMITS, "answer", f"docker-credential-{helper}")
        username, secret = str(document["Username"]), str(document["Secret"])
    except (ValueError, KeyError, TypeError, LimitExceeded) as e:
        raise CredentialError(
            f"credential helper docker-credential-{helper} gave no Username and Secret for "
            f"{server_url}: check it with `docker-credential-{helper} get`"
        ) from e
    if username == _IDENTITY_TOKEN_USER:
        return RegistryCredentials(identity_token=secret)
    return RegistryCredentials(username=username, password=secret)


def _server_url(registry: str) -> str:
    """What `docker login` stored the registry under, and what helpers are asked for."""
    return DOCKER_HUB_CONFIG_KEY if registry in _DOCKER_HUB_ALIASES else registry


def _auths_entry(auths: Mapping[str, Any], registry: str) -> Mapping[str, Any] | None:
    """Keys are `host[:port]`, or URLs such as `https://host/v1/` from older clients."""
    wanted = _DOCKER_HUB_ALIASES if registry in _DOCKER_HUB_ALIASES else {registry}
    for key, entry in auths.items():
        host = key.split("://", 1)[-1].split("/", 1)[0]
        if host in wanted and isinstance(entry, Mapping):
            return entry
    return None


def _decode_auths_entry(
    entry: Mapping[str, Any], registry: str, config_path: Path
) -> RegistryCredentials | None:
    if entry.get("identitytoken"):
        return RegistryCredentials(
            username=entry.get("username") or None, identity_token=str(entry["identitytoken"])
        )
    if entry.get("auth"):
        try:
            pair = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            pair = ""
        username, separator, password = pair.partition(":")
        if not separator:
            raise CredentialError(
                f"Docker config {config_path}: the `auth` of {registry} is not base64 of "
                f"USER:PASSWORD: run `docker login {registry}` again"
            )
        return RegistryCredentials(username=username, password=password)
    if entry.get("username") and entry.get("password"):
        return RegistryCredentials(username=str(entry["username"]), password=str(entry["password"]))
    return None  # an empty entry: the credentials live in credsStore
