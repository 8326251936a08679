"""The few Docker Engine API calls a container run makes, over the engine's unix socket.

Why not docker-py here: importing it (requests, urllib3, ssl) costs a run ~100 ms before
its container exists, a quarter of what the engine adds to a bare `docker run`, and a
scheduler pays it on every start. A run needs nine plain HTTP calls; this client makes
them with the standard library, and answers to the same method names as docker-py's
APIClient (container_run.ContainerApi), so either one runs a container.

Only a local engine on a unix socket is served (DOCKER_HOST unset or unix://); TCP, TLS
and SSH engines go through docker-py (docker_host.py decides which, and connects). Pulls
do too: docker-py reads the registry credentials of ~/.docker/config.json and its helpers,
and a pull takes seconds anyway.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from iota_container.docker_host import DEFAULT_SOCKET

_FRAME_HEADER = struct.Struct(">BxxxL")  # stream (0 stdin, 1 stdout, 2 stderr), size


class EngineApiError(Exception):
    """The engine answered with an error status; `explanation` holds its own message."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status}: {explanation}")
        self.status = status
        self.explanation = explanation


class ImageMissing(EngineApiError):
    """The engine does not have the image (404 on create)."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class UnixSocketEngine:
    """Implements container_run.ContainerApi against a local engine."""

    def __init__(self, path: str = DEFAULT_SOCKET, timeout: float = 600.0) -> None:
        self.path = path
        self.timeout = timeout
        self._puller: Any = None

    # -- containers ---------------------------------------------------------------------

    def ping(self) -> None:
        self._call("GET", "/_ping")

    def create_host_config(
        self,
        *,
        binds: Mapping[str, Mapping[str, str]],
        mem_limit: int,
        memswap_limit: int,
        nano_cpus: int,
        network_mode: str,
    ) -> dict[str, Any]:
        return {
            "Binds": [f"{host}:{b['bind']}:{b.get('mode', 'rw')}" for host, b in binds.items()],
            "Memory": mem_limit,
            "MemorySwap": memswap_limit,
            "NanoCpus": nano_cpus,
            "NetworkMode": network_mode,
        }

    def create_container(
        self,
        image: str,
        *,
        name: str,
        environment: Mapping[str, str],
        labels: Mapping[str, str],
        host_config: Mapping[str, Any],
    ) -> dict[str, Any]:
        body = {
            "Image": image,
            "Env": [f"{key}={value}" for key, value in environment.items()],
            "Labels": dict(labels),
            "HostConfig": dict(host_config),
        }
        try:
            return self._json("POST", f"/containers/create?{urlencode({'name': name})}", body)
        except EngineApiError as e:
            if e.status == 404:
                raise ImageMissing(e.status, e.explanation) from None
            raise

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container)}/start")

    def wait(self, container: str, timeout: float | None = None) -> dict[str, Any]:
        return self._json("POST", f"/containers/{quote(container)}/wait", timeout=timeout)

    def logs(self, container: str, stdout: bool = True, stderr: bool = True) -> bytes:
        query = urlencode({"stdout": int(stdout), "stderr": int(stderr)})
        return _demultiplex(self._call("GET", f"/containers/{quote(container)}/logs?{query}"))

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self._json("GET", f"/containers/{quote(container)}/json")

    def remove_container(self, container: str, force: bool = False) -> None:
        self._call("DELETE", f"/containers/{quote(container)}?{urlencode({'force': int(force)})}")

    def kill(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container)}/kill")

    def events(
        self, filters: dict[str, Any] | None = None, decode: bool | None = None
    ) -> EventStream:
        query = urlencode({"filters": json.dumps(filters or {})})
        connection = _UnixConnection(self.path, timeout=None)
        connection.request("GET", f"/events?{query}")
        response = connection.getresponse()
        if response.status >= 400:
            error = _error(response.status, response.read())
            connection.close()
            raise error
        return EventStream(connection, response)

    def pull(
        self, repository: str, tag: str | None = None, stream: bool = False, decode: bool = False
    ) -> Iterator[dict[str, Any]]:
        if self._puller is None:
            from docker.api.client import APIClient

            self._puller = APIClient(base_url=f"unix://{self.path}", timeout=int(self.timeout))
        pulled: Iterator[dict[str, Any]] = self._puller.pull(
            repository, tag=tag, stream=stream, decode=decode
        )
        return pulled

    # -- plumbing -----------------------------------------------------------------------

    def _json(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = -1.0
    ) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self._call(method, path, body, timeout=timeout))
        return answer

    def _call(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = -1.0
    ) -> bytes:
        """One request on its own connection (a unix socket connects in microseconds, and
        the oom watch reads events on another thread meanwhile). timeout None: no limit."""
        connection = _UnixConnection(self.path, self.timeout if timeout == -1.0 else timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            payload = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 400:
            raise _error(response.status, data)
        return data


class EventStream:
    """The engine's event stream; close() from another thread ends the iteration.

    close() only shuts the socket down: the reader then sees the end of the stream and
    closes the connection itself, since http.client's objects are not safe to close
    under a thread reading them."""

    def __init__(self, connection: http.client.HTTPConnection, response: Any) -> None:
        self._connection = connection
        self._response = response
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            if self._closed:
                return
            self._reading = True
        try:
            for line in self._response:
                if line.strip():
                    yield json.loads(line)
        except (OSError, ValueError, http.client.HTTPException):
            return  # shut down under the reader
        finally:
            self._connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            reading = self._reading
        sock = self._connection.sock
        if not reading:
            self._connection.close()
        elif sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked in recv


def _error(status: int, data: bytes) -> EngineApiError:
    try:
        message = str(json.loads(data).get("message") or "")
    except (ValueError, AttributeError):
        message = data.decode("utf-8", "replace")
    return EngineApiError(status, message.strip() or f"HTTP {status}")


def _demultiplex(data: bytes) -> bytes:
    """A container without a TTY sends its output in frames (an 8-byte header each);
    docker-py's logs() returns their payloads joined, and so does this."""
    chunks, offset = [], 0
    while offset + _FRAME_HEADER.size <= len(data):
        stream, size = _FRAME_HEADER.unpack_from(data, offset)
        if stream > 2:
            return data  # not framed: a TTY container's raw output
        start = offset + _FRAME_HEADER.size
        chunks.append(data[start : start + size])
        offset = start + size
    return b"".join(chunks) if offset == len(data) else data
