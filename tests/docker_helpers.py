"""Helpers for tests that build with the Docker engine and read what registries serve."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from iota_container.environment.options import PackageOptions
from iota_container.image.metadata import ANALYSIS_DIR, ImageMetadata
from iota_container.image.reference import ImageReference, parse_reference
from iota_container.image.spec import BuildSpec, RegistryCredentials
from iota_container.params_file import DEFAULT_PARAMS_PATH
from iota_container.variables import Variable
from tests.registry import RegistryServer
from tests.servers import MotoServer

DOCKER_CERTS_DIR = Path("/etc/docker/certs.d")
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


class Anonymous:
    """A CredentialSource with nothing for anyone."""

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        return None


class Login:
    """A CredentialSource with one user for one registry."""

    def __init__(self, registry: str, username: str, password: str) -> None:
        self.registry = registry
        self.credentials = RegistryCredentials(username=username, password=password)

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        return self.credentials if registry == self.registry else None


@contextmanager
def trusted_by_docker(server: RegistryServer) -> Iterator[Path]:
    """The engine trusts the registry's self-signed certificate while the block runs:
    certs.d/HOST:PORT/ca.crt, read by dockerd at each connection (no restart needed)."""
    assert server.tls is not None, "only a TLS registry has a certificate to trust"
    folder = DOCKER_CERTS_DIR / server.address
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(server.tls.certificate, folder / "ca.crt")
    try:
        yield folder / "ca.crt"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def unique_target(server: RegistryServer, name: str, tag: str = "v1") -> ImageReference:
    return parse_reference(f"{server.address}/{name}-{uuid.uuid4().hex[:8]}:{tag}")


def build_spec(
    notebook: Path,
    target: ImageReference,
    base: str,
    requirements: Path | None = None,
    description: str = "",
    variables: list[Variable] | None = None,
) -> BuildSpec:
    return BuildSpec(
        notebook=notebook,
        metadata=ImageMetadata(
            notebook_path=f"{ANALYSIS_DIR}/{notebook.name}",
            kernel="python3",
            variables=variables or [],
            description=description,
        ),
        target=target,
        base=parse_reference(base),
        packages=PackageOptions(requirements_file=requirements),
    )


def _get(
    server: RegistryServer, path: str, auth: tuple[str, str] | None, accept: str = ""
) -> requests.Response:
    answer = requests.get(
        f"{server.url}/v2/{path}",
        headers={"Accept": accept} if accept else {},
        auth=auth,
        verify=str(server.tls.certificate) if server.tls else True,
        timeout=30,
    )
    answer.raise_for_status()
    return answer


def served_manifest(
    server: RegistryServer, target: ImageReference, auth: tuple[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """(Docker-Content-Digest, manifest) the registry serves for the target's tag."""
    answer = _get(server, f"{target.repository}/manifests/{target.tag}", auth, MANIFEST_TYPES)
    return answer.headers["Docker-Content-Digest"], answer.json()


def served_config(
    server: RegistryServer, target: ImageReference, auth: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The image configuration (labels, env, user) the registry serves for the target."""
    _, manifest = served_manifest(server, target, auth)
    blob = _get(server, f"{target.repository}/blobs/{manifest['config']['digest']}", auth)
    config: dict[str, Any] = json.loads(blob.content)["config"]
    return config


def run_with_params(
    docker_client: Any,
    image: str,
    params: Path,
    moto: MotoServer,
    volumes: dict[str, dict[str, str]] | None = None,
) -> tuple[int, str]:
    """Run `image` as a container dataset: the params file mounted where the contract puts
    it, the moto S3 server reachable on the host's loopback. (exit code, logs)."""
    container = docker_client.containers.run(
        image,
        detach=True,
        network_mode="host",
        environment=moto.client_env(),
        volumes={str(params): {"bind": DEFAULT_PARAMS_PATH, "mode": "ro"}, **(volumes or {})},
    )
    try:
        code = container.wait(timeout=300)["StatusCode"]
        return int(code), container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)


@contextmanager
def analysis_image_in(
    docker_client: Any, base_image: str, registry: RegistryServer, prefix: str, notebook: Path
) -> Iterator[str]:
    """The test base pushed as REGISTRY/PREFIX/base:test and `notebook` built onto it with
    the daemonless backend: the digest-pinned reference (not pulled yet); both are removed
    from the engine afterwards."""
    from tests.support import run_cli

    base = f"{registry.address}/{prefix}/base"
    docker_client.images.get(base_image).tag(base, tag="test")
    for line in docker_client.images.push(base, tag="test", stream=True, decode=True):
        assert "error" not in line, line
    target = f"{registry.address}/{prefix}/{notebook.stem.replace('_', '-')}:v1"
    built = run_cli(
        "build", str(notebook), "-r", target, "--backend", "oci", "--base", f"{base}:test", "--json"
    )
    assert built.returncode == 0, built.stderr
    reference = str(json.loads(built.stdout)["reference"])
    try:
        yield reference
    finally:
        for image in (reference, f"{base}:test"):
            docker_client.images.remove(image, force=True, noprune=True)
