"""Bounded waits and cut connections, with real sockets: a loopback server that accepts and
never answers, and a TCP proxy in front of a real docker-registry that resets a blob's
upload or download part-way (faults a healthy registry never causes by itself)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from iota_container.image.auth import ChainedCredentials
from iota_container.image.media_types import OCI_MANIFEST
from iota_container.image.registry import RegistryClient
from iota_container.image.registry_errors import ConnectionFailed, RegistryTimedOut
from iota_container.image.registry_transport import (
    DEFAULT_TIMEOUT_SECONDS,
    RegistryTimeoutError,
    registry_timeout,
)
from tests.notebooks import write_notebook
from tests.oci_helpers import digest, pseudo_random, push_base
from tests.registry import RegistryServer
from tests.support import run_cli
from tests.tcp_faults import ResettingProxy, SilentServer

pytestmark = pytest.mark.integration

ANONYMOUS = ChainedCredentials([])
DOES_NOT_HANG = 60  # seconds: generous; only "it came back at all" is asserted


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


def error_line(result: object) -> str:
    stderr = str(getattr(result, "stderr", ""))
    assert getattr(result, "returncode", None) == 2, stderr
    assert "Traceback" not in stderr
    return stderr.strip().splitlines()[-1]


# -- a registry that never answers ---------------------------------------------------------


def test_image_inspect_gives_up_on_a_silent_registry_and_names_it(silent: SilentServer) -> None:
    started = time.monotonic()
    result = run_cli(
        "image",
        "inspect",
        f"{silent.address}/silent/image:1",
        env={"IOTA_REGISTRY_TIMEOUT": "2"},
        timeout=DOES_NOT_HANG * 3,
    )
    assert time.monotonic() - started < DOES_NOT_HANG
    line = error_line(result)
    assert line == (
        f"error: registry {silent.address} did not answer within 2 s during the first contact: "
        "check the address, the network and any proxy (HTTPS_PROXY, NO_PROXY), or set "
        "IOTA_REGISTRY_TIMEOUT to wait longer"
    )
    assert silent.accepted == 1  # no retry, and no second wait on http after https


@pytest.mark.parametrize("command", [["image", "inspect"], ["dataset", "new", "x", "--from-image"]])
def test_the_registry_timeout_option_bounds_the_wait(
    silent: SilentServer, command: list[str], tmp_path: Path
) -> None:
    started = time.monotonic()
    result = run_cli(
        *command, f"{silent.address}/silent/image:1", "--registry-timeout", "1.5",
        cwd=tmp_path, timeout=DOES_NOT_HANG * 3,
    )  # fmt: skip
    assert time.monotonic() - started < DOES_NOT_HANG
    assert f"registry {silent.address} did not answer within 1.5 s" in error_line(result)


def test_plain_http_to_a_silent_registry_times_out_too(silent: SilentServer) -> None:
    client = RegistryClient(silent.address, ANONYMOUS, plain_http=True, timeout=1)
    started = time.monotonic()
    with pytest.raises(RegistryTimedOut, match=f"registry {silent.address} did not answer"):
        client.blob_exists("silent/image", digest(b"x"))
    assert time.monotonic() - started < DOES_NOT_HANG


def test_the_default_timeout_is_short_and_the_setting_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IOTA_REGISTRY_TIMEOUT", raising=False)
    assert registry_timeout() == DEFAULT_TIMEOUT_SECONDS == 30
    assert RegistryClient("r.example.com", ANONYMOUS).timeout == 30
    monkeypatch.setenv("IOTA_REGISTRY_TIMEOUT", "4.5")
    assert RegistryClient("r.example.com", ANONYMOUS).timeout == 4.5
    assert RegistryClient("r.example.com", ANONYMOUS, timeout=7).timeout == 7  # constructor wins


@pytest.mark.parametrize("value", ["abc", "0", "-3", "nan", "inf", "1e999"])
def test_a_bad_timeout_setting_is_one_line(value: str) -> None:
    line = error_line(
        run_cli("image", "inspect", "127.0.0.1:1/x/y:1", env={"IOTA_REGISTRY_TIMEOUT": value})
    )
    assert line == (
        f"error: IOTA_REGISTRY_TIMEOUT {value!r} is not a number of seconds: set it to a "
        "positive number, e.g. IOTA_REGISTRY_TIMEOUT=30"
    )
    with pytest.raises(RegistryTimeoutError):
        registry_timeout(environ={"IOTA_REGISTRY_TIMEOUT": value})


# -- connections cut mid-blob ----------------------------------------------------------------


@pytest.fixture
def resetting(registry: RegistryServer) -> Iterator[ResettingProxy]:
    proxy = ResettingProxy(registry.address, uploads=1)
    yield proxy
    proxy.stop()


def test_a_build_survives_a_connection_reset_mid_blob(
    tmp_path: Path, registry: RegistryServer, resetting: ResettingProxy
) -> None:
    push_base(RegistryClient(registry.address, ANONYMOUS), "cut/base", "1")
    notebook = write_notebook(tmp_path / "cut.ipynb", "limit = 3", "print(limit)")
    result = run_cli(
        "build",
        str(notebook),
        "-r",
        f"{resetting.address}/cut/analysis:v1",
        "--base",
        f"{resetting.address}/cut/base:1",
        "--backend",
        "oci",
        timeout=DOES_NOT_HANG * 3,
    )
    assert result.returncode == 0, result.stderr
    assert len(resetting.resets) == 1 and resetting.resets[0].startswith("upload cut after")
    # urllib3's own retry lines ("Retrying (Retry(total=...)) after connection broken")
    # must not reach the user; nor a traceback.
    assert "Retrying" not in result.stderr and "Traceback" not in result.stderr
    pinned = result.stdout.strip().splitlines()[-1]
    manifest_digest = pinned.rsplit("@", 1)[1]
    answer = requests.get(
        f"{registry.url}/v2/cut/analysis/manifests/v1",
        headers={"Accept": OCI_MANIFEST},
        timeout=10,
    )
    assert answer.headers["Docker-Content-Digest"] == manifest_digest


def test_a_chunked_upload_starts_over_after_a_reset_mid_patch(
    registry: RegistryServer, resetting: ResettingProxy
) -> None:
    client = RegistryClient(resetting.address, ANONYMOUS, chunk_size=64 * 1024)
    data = pseudo_random(300 * 1024, "cut-chunks")
    client.upload_blob("cut/chunked", data, digest(data))
    assert resetting.resets and "upload cut after 32768 of 65536" in resetting.resets[0]
    direct = RegistryClient(registry.address, ANONYMOUS)
    assert direct.get_blob("cut/chunked", digest(data)) == data


def test_a_download_cut_mid_blob_resumes_where_it_broke(registry: RegistryServer) -> None:
    data = pseudo_random(400 * 1024, "cut-download")
    RegistryClient(registry.address, ANONYMOUS).upload_blob("cut/download", data, digest(data))
    proxy = ResettingProxy(registry.address, downloads=1)
    try:
        client = RegistryClient(proxy.address, ANONYMOUS, chunk_size=16 * 1024)
        assert client.get_blob("cut/download", digest(data)) == data
        assert proxy.resets and proxy.resets[0].startswith("download cut after")
    finally:
        proxy.stop()


def test_a_copy_between_registries_survives_a_reset_on_each_side(
    tmp_path: Path, registry: RegistryServer
) -> None:
    """The base layer streams from one registry into another; both sides are cut once."""
    other = RegistryServer(tmp_path / "other")
    source = ResettingProxy(registry.address, downloads=1)
    target = ResettingProxy(other.address, uploads=1)
    try:
        data = pseudo_random(300 * 1024, "cut-copy")
        RegistryClient(registry.address, ANONYMOUS).upload_blob("cut/copy", data, digest(data))
        reader = RegistryClient(source.address, ANONYMOUS, chunk_size=64 * 1024)
        writer = RegistryClient(target.address, ANONYMOUS, chunk_size=64 * 1024)
        chunks = reader.blob_chunks("cut/copy", digest(data))
        writer.upload_blob_chunks("cut/copy", chunks, len(data), digest(data))
        assert source.resets and target.resets
        assert RegistryClient(other.address, ANONYMOUS).get_blob("cut/copy", digest(data)) == data
    finally:
        source.stop()
        target.stop()
        other.stop()


def test_resets_that_do_not_stop_end_in_one_line_that_says_so(registry: RegistryServer) -> None:
    proxy = ResettingProxy(registry.address, uploads=100)
    try:
        client = RegistryClient(proxy.address, ANONYMOUS)
        with pytest.raises(ConnectionFailed) as error:
            client.upload_blob("cut/always", b"some bytes", digest(b"some bytes"))
    finally:
        proxy.stop()
    message = str(error.value)
    assert message.startswith(
        f"registry {proxy.address} cut the connection during the upload of blob "
        f"{digest(b'some bytes')} ("
    )
    assert "tried 3 times" in message and "unreachable" not in message and "\n" not in message
    assert len(proxy.resets) == 3


def test_the_ecr_api_waits_the_registry_timeout_too(
    silent: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iota_container.image.ecr import EcrError, EcrRegistry

    monkeypatch.setenv("IOTA_REGISTRY_TIMEOUT", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{silent.address}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    started = time.monotonic()
    with pytest.raises(EcrError, match="Read timeout on endpoint URL"):
        EcrRegistry.for_registry(registry).credentials_for(registry)
    assert time.monotonic() - started < DOES_NOT_HANG  # botocore alone: 60 s per attempt
