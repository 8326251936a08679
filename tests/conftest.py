from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.registry import RegistryServer, TlsFiles, make_self_signed_certificate
from tests.servers import REQUIRE_ENV, MotoServer, require
from tests.support import REGISTRY_USER

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server that checks credentials (none are registered, so all are refused)."""
    server = MotoServer(tmp_path_factory.mktemp("moto-auth"), enforce_auth=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    from docker.errors import DockerException

    import docker

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as e:
        require(False, f"no Docker engine answers ({e}); scripts/start-docker-engine.sh starts one")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: Any) -> str:
    from docker.errors import ImageNotFound

    tag = os.environ.get("IOTA_TEST_BASE_IMAGE", "")
    require(
        bool(tag), "IOTA_TEST_BASE_IMAGE is not set: scripts/test builds the base image and sets it"
    )
    try:
        docker_client.images.get(tag)
    except ImageNotFound:
        require(
            False, f"base image {tag!r} is not built: run scripts/build-base-image.sh --tag {tag}"
        )
    return tag


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A plain-HTTP registry on loopback, no auth (Docker allows HTTP on 127.0.0.0/8)."""
    require(shutil.which("docker-registry") is not None, "docker-registry is not installed")
    server = RegistryServer(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def registry_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_self_signed_certificate(tmp_path_factory.mktemp("tls"), ["localhost"])


@pytest.fixture(scope="session")
def auth_registry(
    tmp_path_factory: pytest.TempPathFactory, registry_tls: TlsFiles
) -> Iterator[RegistryServer]:
    """A registry with htpasswd basic auth behind TLS (self-signed: trust registry_tls)."""
    require(shutil.which("docker-registry") is not None, "docker-registry is not installed")
    server = RegistryServer(
        tmp_path_factory.mktemp("auth-registry"), users=dict([REGISTRY_USER]), tls=registry_tls
    )
    yield server
    server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under the test script, a skipped test is a failed one: CI must not count a test
    that did not run as passing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(REQUIRE_ENV) and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under {REQUIRE_ENV}=1: {report.longrepr}"
