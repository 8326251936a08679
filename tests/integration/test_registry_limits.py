"""Registry answers that no image needs: deeply nested or oversized manifests, configs,
tokens and error bodies. A real docker-registry stores and serves the deep manifests and
configs (it ignores fields it does not know); what it never sends by itself (an endless
answer, a deep error body or token) comes from a small HTTP server in the test. Each is one
line naming the registry, never a RecursionError or a MemoryError."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from iota_container.errors import LimitExceeded
from iota_container.image.auth import ChainedCredentials
from iota_container.image.media_types import OCI_CONFIG, OCI_MANIFEST
from iota_container.image.registry import RegistryClient, RegistryError
from tests.oci_helpers import digest
from tests.registry import RegistryServer
from tests.support import run_cli

pytestmark = pytest.mark.integration

ANONYMOUS = ChainedCredentials([])
DEEP = 5_000  # past Python's recursion limit, within Go's (the registry parses manifests)


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def push_manifest(client: RegistryClient, repository: str, config: bytes, **extra: str) -> None:
    client.upload_blob(repository, config, digest(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest(config), "size": len(config)},
        "layers": [],
    }
    text = json.dumps(manifest)[:-1] + "".join(f', "{k}": {v}' for k, v in extra.items()) + "}"
    client.put_manifest(repository, "1", text.encode(), OCI_MANIFEST)


def error_line(result: object) -> str:
    stderr = str(getattr(result, "stderr", ""))
    assert getattr(result, "returncode", None) == 2, stderr
    assert "Traceback" not in stderr
    return stderr.strip().splitlines()[-1]


def test_a_deep_manifest_from_a_real_registry(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    push_manifest(client, "limits/deep-manifest", b"{}", extra=deep_json(DEEP))
    line = error_line(run_cli("image", "inspect", f"{registry.address}/limits/deep-manifest:1"))
    assert line == (
        f"error: manifest '{registry.address}/limits/deep-manifest:1' is nested deeper than 64 "
        "levels: the registry sent no manifest; check the address and any proxy"
    )


def test_a_deep_config_from_a_real_registry(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    push_manifest(client, "limits/deep-config", ('{"x": ' + deep_json(DEEP) + "}").encode())
    with pytest.raises(LimitExceeded) as error:
        client.get_image("limits/deep-config", "1")
    assert str(error.value) == (
        f"config '{registry.address}/limits/deep-config:1' is nested deeper than 64 levels: "
        "the registry sent no config; check the address and any proxy"
    )


def test_a_config_larger_than_any_config(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    huge = json.dumps({"padding": "x" * (5 << 20)}).encode()
    push_manifest(client, "limits/huge-config", huge)
    with pytest.raises(LimitExceeded) as error:
        client.get_image("limits/huge-config", "1")
    assert str(error.value) == (
        f"image config '{registry.address}/limits/huge-config@{digest(huge)}' is larger than "
        "4 MiB: the manifest points at a layer, not a config; re-push the image"
    )


# -- answers no real registry sends ----------------------------------------------------------

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class ScriptedRegistry:
    """An HTTP server whose every answer is `route(handler)`; /v2/ answers 200."""

    def __init__(self, route: Route) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/v2/":
                    answer(self, 200, b"{}")
                else:
                    route(self)

            do_HEAD = do_GET

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def answer(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", OCI_MANIFEST)
    handler.end_headers()  # no length: the body ends when the connection does (never)
    handler.close_connection = True
    for _ in itertools.count():
        try:
            handler.wfile.write(b"[" * 65536)
        except OSError:
            return


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[ScriptedRegistry]:
    server = ScriptedRegistry(request.param)
    yield server
    server.stop()


@pytest.mark.parametrize("scripted", [endless], indirect=True)
def test_an_endless_answer_is_refused_after_4_mib(scripted: ScriptedRegistry) -> None:
    client = RegistryClient(scripted.address, ANONYMOUS, plain_http=True)
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as error:
        client.get_manifest("limits/endless", "1")
    assert time.monotonic() - started < 60  # does not hang
    assert str(error.value) == (
        f"the answer of registry {scripted.address} to 'GET /v2/limits/endless/manifests/1' is "
        "larger than 4 MiB: that is no manifest, token or error; check the address and any proxy"
    )


def deep_error(handler: http.server.BaseHTTPRequestHandler) -> None:
    answer(handler, 400, ('{"errors": ' + deep_json(DEEP) + "}").encode())


@pytest.mark.parametrize("scripted", [deep_error], indirect=True)
def test_a_deep_error_body_still_gives_one_line(scripted: ScriptedRegistry) -> None:
    client = RegistryClient(scripted.address, ANONYMOUS, plain_http=True)
    with pytest.raises(RegistryError) as error:
        client.get_manifest("limits/error", "1")
    message = str(error.value)
    assert message.startswith(
        f"registry {scripted.address} failed the read of manifest 1 in limits/error (HTTP 400): "
    )
    assert "\n" not in message


def deep_token(handler: http.server.BaseHTTPRequestHandler) -> None:
    host = handler.headers["Host"]
    if handler.path.startswith("/token"):
        answer(handler, 200, ('{"token": ' + deep_json(DEEP) + "}").encode())
        return
    challenge = f'Bearer realm="http://{host}/token",service="limits"'
    answer(handler, 401, b"{}", {"WWW-Authenticate": challenge})


@pytest.mark.parametrize("scripted", [deep_token], indirect=True)
def test_a_deep_token_answer(scripted: ScriptedRegistry) -> None:
    client = RegistryClient(scripted.address, ANONYMOUS, plain_http=True)
    with pytest.raises(LimitExceeded) as error:
        client.blob_exists("limits/token", digest(b"x"))
    assert str(error.value) == (
        f"token answer 'http://{scripted.address}/token' is nested deeper than 64 levels: the "
        "token service sent no token; check the registry's auth configuration"
    )
