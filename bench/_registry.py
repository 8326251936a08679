"""An OCI registry for the benchmarks, and a reverse proxy that counts what clients send it.

`docker-registry` (Debian's distribution 2.8) stores; `CountingProxy` sits in front of it
on its own port, and every client (the Docker engine, `iota-container build`) talks to the
proxy, so the bytes each one uploads are counted on the wire, the same way for all.
`PushTally` reads one push out of the proxy's record, and `PushFigures` sets it against
the image the push produced, read back from the registry.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

from _common import free_port, require_executable, stop_process

# --- OCI registry -----------------------------------------------------------------------


class RegistryServer:
    """Debian's `docker-registry serve` (distribution 2.8) on a free loopback port: plain
    HTTP, no auth, its storage in `workdir`. tests/registry.py holds the test suite's
    variant (TLS, basic auth); a bench script runs with bench/ on sys.path, not the
    repository root, so it cannot import that module."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.log_path = workdir / f"registry-{self.port}.log"
        config = workdir / f"registry-{self.port}.yml"
        # JSON is YAML: the registry reads it as its configuration file.
        config.write_text(
            json.dumps(
                {
                    "version": 0.1,
                    "log": {"level": "warn"},
                    "storage": {
                        "filesystem": {"rootdirectory": str(workdir / f"storage-{self.port}")},
                        "delete": {"enabled": True},
                    },
                    "http": {"addr": self.address},
                }
            )
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [require_executable("docker-registry"), "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up(timeout=30)

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: docker-registry exited: {self.log_path.read_text()}")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1).close()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"bench: docker-registry did not answer on {self.url} in {timeout} s")

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def registry_server(workdir: Path) -> Iterator[RegistryServer]:
    server = RegistryServer(workdir)
    try:
        yield server
    finally:
        server.stop()


# --- counting reverse proxy -------------------------------------------------------------


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    path: str  # with its query string
    status: int
    request_bytes: int  # the body as the client meant it (after chunked decoding)
    response_bytes: int


# Headers about one connection, not the message (RFC 9110 7.6.1), and the body framing,
# which the proxy redoes on each side. Expect: http.server answers 100-continue itself.
_NOT_FORWARDED = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "transfer-encoding",
    "content-length",
    "expect",
}
_COPY_CHUNK = 1 << 16
_TLS_HANDSHAKE = b"\x16"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class CountingProxy:
    """A reverse proxy on a free loopback port in front of one HTTP server. Requests go
    through unchanged, Host header included (so the Location headers the server writes
    name the proxy), and each one is recorded with its body size: what every client sent
    is counted on the wire, the same way for all of them."""

    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.upstream_port = upstream_port
        self.records: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.records.append(request)

    def mark(self) -> int:
        """A position in the record; `since(mark)` gives what came after it."""
        with self._lock:
            return len(self.records)

    def since(self, mark: int) -> list[ProxiedRequest]:
        with self._lock:
            return list(self.records[mark:])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@contextmanager
def counting_proxy(upstream_port: int) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.stop()


def _handler_for(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class ForwardingHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, and chunked request bodies
        # Headers and body go out in separate writes: with Nagle's algorithm the body would
        # wait for the client's delayed ACK of the headers.
        disable_nagle_algorithm = True
        upstream: http.client.HTTPConnection | None = None  # one per client connection

        def handle(self) -> None:
            # A TLS ClientHello (clients probe https first on loopback) has no line end
            # to wait for: close at once, and the client falls back to plain HTTP.
            if self.rfile.peek(1)[:1] == _TLS_HANDSHAKE:  # type: ignore[attr-defined]
                return
            try:
                super().handle()
            finally:
                if self.upstream is not None:
                    self.upstream.close()

        def do_GET(self) -> None:
            self._forward()

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: TLS probes of the plain-HTTP port would be logged as bad requests

        def _forward(self) -> None:
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(
                    "127.0.0.1", proxy.upstream_port, timeout=300
                )
            try:
                sent = self._send_request(self.upstream)
                response = self.upstream.getresponse()
                self._send_response(response, sent)
                if response.will_close:
                    self.upstream.close()  # reconnects on the next request
            except OSError:
                self.close_connection = True
                self.upstream.close()

        def _send_request(self, upstream: http.client.HTTPConnection) -> int:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _NOT_FORWARDED:
                    upstream.putheader(name, value)
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            length = int(self.headers.get("Content-Length") or 0)
            if chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            elif length or self.command in ("POST", "PUT", "PATCH"):
                upstream.putheader("Content-Length", str(length))
            upstream.endheaders()
            sent = 0
            pieces = _chunked_body(self.rfile) if chunked else _sized_body(self.rfile, length)
            for piece in pieces:
                sent += len(piece)
                upstream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                upstream.send(b"0\r\n\r\n")
            return sent

        def _send_response(self, response: http.client.HTTPResponse, sent: int) -> None:
            has_body = self.command != "HEAD" and response.status not in (204, 304)
            declared = response.getheader("Content-Length")
            # Without a declared length the (small) body is read first, to declare one.
            body = response.read() if has_body and declared is None else None
            length = len(body) if body is not None else int(declared or 0)
            # Recorded before the client sees the answer: a client that exits on it must
            # find its request in the record.
            proxy.record(
                ProxiedRequest(
                    self.command, self.path, response.status, sent, length if has_body else 0
                )
            )
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            if has_body or declared is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            if body is not None:
                self.wfile.write(body)
            elif has_body:
                while piece := response.read(_COPY_CHUNK):
                    self.wfile.write(piece)
            else:
                response.read()  # reads nothing, but frees the connection for the next request

    return ForwardingHandler


def _sized_body(stream: BinaryIO | io.BufferedIOBase, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining:
        piece = stream.read(min(remaining, _COPY_CHUNK))
        if not piece:
            raise ConnectionError("client closed the connection inside a request body")
        remaining -= len(piece)
        yield piece


def _chunked_body(stream: BinaryIO | io.BufferedIOBase) -> Iterator[bytes]:
    while True:
        size = int(stream.readline(1 << 16).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields: none that matter here
            return
        yield from _sized_body(stream, size)
        stream.readline(1 << 16)  # the CRLF after the chunk


# --- reading an image back (straight from the registry, not through the proxy) ---------


@dataclass(frozen=True)
class ImageLayout:
    base_layers: dict[str, int]  # digest -> size
    top_layer: tuple[str, int]  # the layer the build added
    config: tuple[str, int]
    manifest_bytes: int

    @property
    def needed(self) -> int:
        """What a push must send when the registry already has the base: the top layer,
        the config and the manifest."""
        return self.top_layer[1] + self.config[1] + self.manifest_bytes


def registry_get(url: str, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def image_layout(registry_url: str, repository: str, tag: str) -> ImageLayout:
    raw = registry_get(f"{registry_url}/v2/{repository}/manifests/{tag}", MANIFEST_TYPES)
    manifest = json.loads(raw)
    layers = [(str(layer["digest"]), int(layer["size"])) for layer in manifest["layers"]]
    config = manifest["config"]
    return ImageLayout(
        dict(layers[:-1]), layers[-1], (str(config["digest"]), int(config["size"])), len(raw)
    )


def image_config(registry_url: str, repository: str, layout: ImageLayout) -> dict[str, Any]:
    config = registry_get(f"{registry_url}/v2/{repository}/blobs/{layout.config[0]}")
    return dict(json.loads(config).get("config") or {})


def file_in_top_layer(registry_url: str, repository: str, layout: ImageLayout, name: str) -> bytes:
    blob = registry_get(f"{registry_url}/v2/{repository}/blobs/{layout.top_layer[0]}")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as archive:
        for member in archive.getmembers():
            if member.name.endswith(f"/{name}"):
                extracted = archive.extractfile(member)
                return extracted.read() if extracted else b""
    return b""


# --- what one push sent, from the proxy's record ---------------------------------------


@dataclass
class PushTally:
    """One push as the registry saw it. Bytes are request bodies; `uploaded` maps each
    blob whose upload completed to the bytes sent for it."""

    bytes_sent: int = 0
    manifest_bytes: int = 0
    uploaded: dict[str, int] = field(default_factory=dict)
    mounted: int = 0  # cross-repository mounts the registry accepted (201)
    present: int = 0  # HEAD answered 200 (before an upload: the blob was there already)
    requests: int = 0
    mount_sources: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, requests: Sequence[ProxiedRequest]) -> PushTally:
        tally = cls(requests=len(requests))
        per_upload: dict[str, int] = {}
        for request in requests:
            tally.bytes_sent += request.request_bytes
            tally._add(request, per_upload)
        return tally

    def _add(self, request: ProxiedRequest, per_upload: dict[str, int]) -> None:
        path, _, query = request.path.partition("?")
        params = urllib.parse.parse_qs(query)
        if "/manifests/" in path and request.method == "PUT":
            self.manifest_bytes += request.request_bytes
        elif "/blobs/uploads/" in path:
            upload = path.rsplit("/blobs/uploads/", 1)[1]
            per_upload[upload] = per_upload.get(upload, 0) + request.request_bytes
            if request.method == "POST" and "mount" in params and request.status == 201:
                self.mounted += 1
                self.mount_sources += params.get("from", [])
            elif "digest" in params and request.status == 201:
                self.uploaded[params["digest"][0]] = per_upload.pop(upload)
        elif "/blobs/" in path and request.method == "HEAD" and request.status == 200:
            self.present += 1


@dataclass(frozen=True)
class PushFigures:
    """A push set against the image it produced: which of its parts were sent."""

    bytes_sent: int
    top_layer_bytes: int
    config_bytes: int
    base_layer_bytes: int
    other_bytes: int
    manifest_bytes: int
    blobs_uploaded: int
    base_layers_uploaded: int
    blobs_mounted: int
    blobs_present: int
    requests: int
    needed: int  # top layer + config + manifest of the image pushed
    notebook_bytes: int
    mounted_from: tuple[str, ...]  # the repositories mounts came from

    @classmethod
    def of(cls, tally: PushTally, layout: ImageLayout, notebook_size: int) -> PushFigures:
        def sent(digest: str) -> int:
            return tally.uploaded.get(digest, 0)

        base = [digest for digest in tally.uploaded if digest in layout.base_layers]
        known = {layout.top_layer[0], layout.config[0], *layout.base_layers}
        return cls(
            bytes_sent=tally.bytes_sent,
            top_layer_bytes=sent(layout.top_layer[0]),
            config_bytes=sent(layout.config[0]),
            base_layer_bytes=sum(sent(digest) for digest in base),
            other_bytes=tally.bytes_sent
            - tally.manifest_bytes
            - sum(v for d, v in tally.uploaded.items() if d in known),
            manifest_bytes=tally.manifest_bytes,
            blobs_uploaded=len(tally.uploaded),
            base_layers_uploaded=len(base),
            blobs_mounted=tally.mounted,
            blobs_present=tally.present,
            requests=tally.requests,
            needed=layout.needed,
            notebook_bytes=notebook_size,
            mounted_from=tuple(sorted(set(tally.mount_sources))),
        )
