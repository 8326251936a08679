"""Build backends by name, in a small registry like the stores' and the executors'.

    backend = backend_for("oci", BackendSettings(ca_bundle=None))
    backend = backend_for(None, settings)   # docker when an engine answers, else oci

`docker` (image/docker_engine.py) and `oci` (image/oci.py) are built in, each imported
only when chosen: the docker SDK alone is a tenth of a second to load. Others (Podman,
Kaniko, a remote builder …) are added with `register_backend` or through the
`iota_container.build_backends` entry point group, whose entries are factories called
with the build's BackendSettings and returning an image.spec.BuildBackend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from iota_container.errors import IotaError
from iota_container.image.spec import BuildBackend

DOCKER = "docker"
OCI = "oci"
ENTRY_POINT_GROUP = "iota_container.build_backends"


@dataclass(frozen=True)
class BackendSettings:
    """What a build's options say to whichever backend builds it."""

    ca_bundle: Path | None = None  # the registry's (and pip's, for docker) extra CA
    plain_http: bool | None = None  # None: plain HTTP for loopback registries only
    registry_timeout: float | None = None  # None: IOTA_REGISTRY_TIMEOUT, else 30 s


BackendFactory = Callable[[BackendSettings], BuildBackend]
_factories: dict[str, BackendFactory] = {}


def _docker_backend(settings: BackendSettings) -> BuildBackend:
    from iota_container.image.docker_engine import DockerBackend

    return DockerBackend(ca_bundle=settings.ca_bundle)


def _oci_backend(settings: BackendSettings) -> BuildBackend:
    from iota_container.image.oci import OciBackend

    return OciBackend(
        ca_bundle=str(settings.ca_bundle) if settings.ca_bundle else None,
        plain_http=settings.plain_http,
        timeout=settings.registry_timeout,
    )


BUILT_IN: dict[str, BackendFactory] = {DOCKER: _docker_backend, OCI: _oci_backend}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `backend_for(name)` build with backends made by `factory` (replaces any earlier)."""
    _factories[name] = factory


def backend_names() -> tuple[str, ...]:
    """Every name `backend_for` accepts: built in, registered, then from entry points."""
    from importlib.metadata import entry_points

    names = [*BUILT_IN, *_factories, *(e.name for e in entry_points(group=ENTRY_POINT_GROUP))]
    return tuple(dict.fromkeys(names))


def backend_for(name: str | None, settings: BackendSettings) -> BuildBackend:
    """The backend of that name; None chooses docker when an engine answers, else oci."""
    if name is None:
        from iota_container.docker_host import engine_answers

        name = DOCKER if engine_answers() else OCI
    return _factory_for(name)(settings)


def _factory_for(name: str) -> BackendFactory:
    if name in _factories:
        return _factories[name]
    if name in BUILT_IN:
        return BUILT_IN[name]
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            loaded: BackendFactory = entry.load()
            return loaded
    raise IotaError(
        f"--backend {name!r} is unknown: use {' or '.join(backend_names())}, or install the "
        f"package that registers it (entry point group {ENTRY_POINT_GROUP})"
    )
