"""Network faults a real registry never causes by itself, made with real sockets on
loopback: a server that takes connections and never answers, and a proxy in front of a
real registry that cuts (TCP reset) a blob upload or download part-way."""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
from dataclasses import dataclass, field

_HEAD_END = b"\r\n\r\n"
_BLOB_UPLOAD = re.compile(rb"^(PATCH|PUT) [^ ]*/blobs/uploads/", re.MULTILINE)
_BLOB_DOWNLOAD = re.compile(rb"^GET [^ ]*/blobs/sha256:", re.MULTILINE)
_CONTENT_LENGTH = re.compile(rb"^content-length:\s*(\d+)", re.IGNORECASE | re.MULTILINE)


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN: what a crashing proxy or a NAT timeout does.
    shutdown(SHUT_RD) first wakes a thread blocked reading it: the kernel closes a socket
    (and sends the RST) only once no system call holds it."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    sock.close()


class SilentServer:
    """Accepts every connection and never sends a byte (a hung registry, or a firewall
    that lets the handshake through)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.address = f"127.0.0.1:{self.port}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._listener.accept()
                self.accepted += 1
                self._held.append(connection)

    def stop(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


@dataclass
class _Cut:
    """What a ResettingProxy cuts, and how often it still will."""

    uploads: int = 0  # blob PATCH/PUT requests cut after half of their body
    downloads: int = 0  # blob GET answers cut after `download_bytes`
    download_bytes: int = 64 * 1024
    done: list[str] = field(default_factory=list)


class ResettingProxy:
    """Forwards TCP to `upstream` (host:port) and resets the first `uploads` blob uploads
    half-way through their body, and the first `downloads` blob downloads part-way. HTTP
    is parsed only as far as needed to find those requests."""

    def __init__(self, upstream: str, uploads: int = 0, downloads: int = 0) -> None:
        host, port = upstream.rsplit(":", 1)
        self._upstream = (host, int(port))
        self.cut = _Cut(uploads=uploads, downloads=downloads)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def resets(self) -> list[str]:
        return list(self.cut.done)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._upstream)
                state = _Connection(client, upstream)
                threading.Thread(target=self._requests, args=(state,), daemon=True).start()
                threading.Thread(target=self._answers, args=(state,), daemon=True).start()

    def _take(self, kind: str) -> bool:
        with self._lock:
            left = getattr(self.cut, kind)
            if left <= 0:
                return False
            setattr(self.cut, kind, left - 1)
            return True

    def _requests(self, state: _Connection) -> None:
        """Client to registry, one request head and body at a time."""
        buffer = b""
        with contextlib.suppress(OSError):
            while True:
                while _HEAD_END not in buffer:
                    data = state.client.recv(65536)
                    if not data:
                        state.upstream.shutdown(socket.SHUT_WR)
                        return
                    buffer += data
                    if not buffer[:1].isupper():  # not HTTP (a TLS hello): pass it on as is
                        state.upstream.sendall(buffer)
                        buffer = b""
                head, _, buffer = buffer.partition(_HEAD_END)
                head += _HEAD_END
                length_match = _CONTENT_LENGTH.search(head)
                length = int(length_match.group(1)) if length_match else 0
                if _BLOB_DOWNLOAD.search(head) and self._take("downloads"):
                    # No pipelining: every earlier answer on this connection is complete.
                    state.answered = 0
                    state.cut_answer_after = self.cut.download_bytes
                cut_upload = length > 1 and _BLOB_UPLOAD.search(head) and self._take("uploads")
                state.upstream.sendall(head)
                buffer = self._forward_body(state, buffer, length, cut_upload)

    def _forward_body(
        self, state: _Connection, buffer: bytes, length: int, cut_upload: object
    ) -> bytes:
        limit = length // 2 if cut_upload else length
        sent = 0
        while sent < limit:
            if not buffer:
                buffer = state.client.recv(65536)
                if not buffer:
                    raise OSError("client went away")
            piece, buffer = buffer[: limit - sent], buffer[limit - sent :]
            state.upstream.sendall(piece)
            sent += len(piece)
        if cut_upload:
            self.cut.done.append(f"upload cut after {sent} of {length} bytes")
            state.close()
            raise OSError("cut")
        return buffer

    def _answers(self, state: _Connection) -> None:
        """Registry to client; a download marked by `_requests` is cut part-way."""
        with contextlib.suppress(OSError):
            while True:
                data = state.upstream.recv(65536)
                if not data:
                    state.client.shutdown(socket.SHUT_WR)
                    return
                if state.cut_answer_after is not None:
                    keep = max(state.cut_answer_after - state.answered, 0)
                    if len(data) > keep:
                        state.client.sendall(data[:keep])
                        self.cut.done.append(f"download cut after {state.answered + keep} bytes")
                        state.close()
                        return
                state.answered += len(data)
                state.client.sendall(data)

    def stop(self) -> None:
        self._listener.close()


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.cut_answer_after: int | None = None
        self.answered = 0  # bytes of answers forwarded since the download was marked

    def close(self) -> None:
        reset(self.client)
        with contextlib.suppress(OSError):
            self.upstream.shutdown(socket.SHUT_RDWR)  # the registry sees the body end early
        self.upstream.close()
