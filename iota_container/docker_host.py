"""Whether a Docker engine answers, and how to reach it: the one policy that the build
backend (docker-py: builds, pulls and pushes with credentials) and the local executor (the
standard-library client of executors/engine_socket.py on a local socket, for start-up
speed; docker-py for any other address) both follow.

- Where: DOCKER_HOST as Docker's own tools read it, else the default socket.
- How long: the engine must answer a ping within IOTA_DOCKER_CONNECT_TIMEOUT seconds (5 by
  default). An engine that answers at all answers at once; the automatic choices (the
  docker or the oci backend, a container or a process) wait that long for a missing one.
  After the ping each client gets its caller's timeout for the calls that follow.

Nothing here imports docker-py until a docker-py client is asked for.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iota_container.errors import IotaError
from iota_container.image.docker_stream import engine_reason
from iota_container.seconds_setting import positive_seconds
from iota_container.text import one_line

if TYPE_CHECKING:
    from iota_container.executors.engine_socket import UnixSocketEngine

DOCKER_HOST_ENV = "DOCKER_HOST"
DEFAULT_SOCKET = "/var/run/docker.sock"
CONNECT_TIMEOUT_ENV = "IOTA_DOCKER_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
START_ENGINE_FIX = "start dockerd, or set DOCKER_HOST to the engine's address"


class DockerHostError(IotaError):
    """IOTA_DOCKER_CONNECT_TIMEOUT is not a positive number of seconds."""


class EngineUnreachable(IotaError):
    """No Docker engine answered a ping at `address`; `reason` is the client's own word."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"no Docker engine answers at {address} ({reason}): {START_ENGINE_FIX}")
        self.address = address
        self.reason = reason

    def needed_by(self, need: str, fix: str) -> str:
        """This failure as the message of whoever needed the engine (`need`), with its fix."""
        where = f"none answers at {self.address} ({self.reason})"
        return f"{need} needs a Docker engine, and {where}: {fix}"


def engine_address(environ: Mapping[str, str] | None = None) -> str:
    """The engine's address as Docker writes it: DOCKER_HOST, else the default socket."""
    host = (os.environ if environ is None else environ).get(DOCKER_HOST_ENV, "")
    return host or f"unix://{DEFAULT_SOCKET}"


def local_socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The engine's unix socket when DOCKER_HOST names one (or is unset), else None (TCP,
    TLS and SSH engines, which only docker-py reaches)."""
    address = engine_address(environ)
    return address.removeprefix("unix://") if address.startswith("unix://") else None


def connect_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds an engine has to answer the first ping: IOTA_DOCKER_CONNECT_TIMEOUT, else 5."""
    text = (os.environ if environ is None else environ).get(CONNECT_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_CONNECT_TIMEOUT_SECONDS
    example = f"{CONNECT_TIMEOUT_ENV}={DEFAULT_CONNECT_TIMEOUT_SECONDS:g}"
    return positive_seconds(text, CONNECT_TIMEOUT_ENV, DockerHostError, example)


def connect_socket_engine(socket_path: str, call_timeout: float) -> UnixSocketEngine:
    """The standard-library client of a local engine, alive, then with `call_timeout`."""
    from iota_container.executors.engine_socket import EngineApiError, UnixSocketEngine

    client = UnixSocketEngine(socket_path, timeout=connect_timeout())
    try:
        client.ping()
    except (OSError, EngineApiError) as e:
        raise EngineUnreachable(f"unix://{socket_path}", _reason(e)) from e
    client.timeout = call_timeout
    return client


def connect_docker_py(call_timeout: float, *, objects: bool = False) -> Any:
    """A docker.APIClient (DOCKER_HOST and its TLS settings, as docker-py reads them),
    alive, then with `call_timeout`; with `objects`, a docker.DockerClient around one
    (images and containers as objects). ImportError when docker-py is not installed."""
    from docker.api.client import APIClient
    from docker.client import DockerClient
    from docker.errors import DockerException
    from docker.utils import kwargs_from_env

    settings = kwargs_from_env()
    address = settings.get("base_url") or engine_address()
    try:
        # With no API version given, the constructor asks the engine for its own: a ping.
        # (docker-py's timeouts are whole seconds.)
        kind: Any = DockerClient if objects else APIClient
        made = kind(timeout=math.ceil(connect_timeout()), **settings)
        made.ping()
    except (DockerException, OSError) as e:  # OSError: requests' and socket errors
        raise EngineUnreachable(address, _reason(e)) from e
    (made.api if objects else made).timeout = math.ceil(call_timeout)
    return made


def connect_run_client(call_timeout: float) -> Any:
    """The client a container run uses: the standard-library one on a local socket,
    docker-py for any other address."""
    socket_path = local_socket_path()
    if socket_path is not None:
        return connect_socket_engine(socket_path, call_timeout)
    return connect_docker_py(call_timeout)


def engine_answers() -> bool:
    """Whether an engine answers at all (the automatic choices), without docker-py's
    import cost when the engine is on a local socket."""
    try:
        client = connect_run_client(call_timeout=connect_timeout())
    except (EngineUnreachable, ImportError):
        return False
    close = getattr(client, "close", None)
    if close is not None:
        close()
    return True


def _reason(error: Exception) -> str:
    return one_line(engine_reason(error), 160)
