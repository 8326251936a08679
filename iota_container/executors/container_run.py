"""One container dataset run through the Docker engine, kept lean: the engine is asked to
create the container straight away (no inspect first); the image is pulled only when the
engine says it does not have it, and the container is inspected only when it failed, to
tell an out-of-memory kill from an analysis that failed.

An out-of-memory kill usually hits the notebook's kernel, a child process, not the
runtime: the container would go on running with no kernel. So the engine's `oom` event
for the container is watched during the run, and the first one stops it: the run failed
for memory, whatever the runtime inside would have made of it.

resourceConfiguration becomes CPU and memory limits: ACU_1 is 4 vCPUs and 16 GiB, ACU_2
8 vCPUs and 32 GiB (as AWS IoT Analytics sized them), each capped to what this machine
has. IOTA_MEMORY_LIMIT (bytes, or with a k/m/g suffix) and IOTA_CPU_LIMIT override them.
Swap is kept at the memory limit, so the limit is a real one and a run that exceeds it is
killed and said to be, instead of slowing to a crawl. volumeSizeInGB is not enforced: the
engine's storage driver would have to support quotas.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from iota_container.definitions.model import ResourceConfiguration
from iota_container.errors import IotaError
from iota_container.executors.engine_socket import EngineApiError, ImageMissing, UnixSocketEngine
from iota_container.image.docker_stream import engine_reason
from iota_container.text import one_line

logger = logging.getLogger("iota_container")

MEMORY_LIMIT_ENV = "IOTA_MEMORY_LIMIT"
CPU_LIMIT_ENV = "IOTA_CPU_LIMIT"
NETWORK_ENV = "IOTA_DOCKER_NETWORK"
# Host networking by default: an endpoint on the host's loopback (a local S3 such as
# moto or MinIO, AWS_ENDPOINT_URL=http://127.0.0.1:...) answers the container as it
# answers an in-process run.
DEFAULT_NETWORK = "host"
GIB = 1024**3
MIB = 1024**2
COMPUTE_TYPES = {"ACU_1": (4.0, 16 * GIB), "ACU_2": (8.0, 32 * GIB)}
_UNITS = {"": 1, "k": 1024, "m": MIB, "g": GIB}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmg]?)i?b?\s*\Z", re.IGNORECASE)


class ContainerApi(Protocol):
    """What a run asks of an engine client: docker.APIClient, or engine_socket's."""

    def create_host_config(
        self,
        *,
        binds: Mapping[str, Mapping[str, str]],
        mem_limit: int,
        memswap_limit: int,
        nano_cpus: int,
        network_mode: str,
    ) -> dict[str, Any]: ...

    def create_container(
        self,
        image: str,
        *,
        name: str,
        environment: Mapping[str, str],
        labels: Mapping[str, str],
        host_config: Mapping[str, Any],
    ) -> dict[str, Any]: ...

    def start(self, container: str) -> None: ...

    def wait(self, container: str, timeout: float | None = None) -> dict[str, Any]: ...

    def logs(self, container: str, stdout: bool = True, stderr: bool = True) -> bytes: ...

    def inspect_container(self, container: str) -> dict[str, Any]: ...

    def remove_container(self, container: str, force: bool = False) -> None: ...

    def pull(
        self, repository: str, tag: str | None = None, stream: bool = False, decode: bool = False
    ) -> Iterator[dict[str, Any]]: ...

    def events(
        self, filters: dict[str, Any] | None = None, decode: bool | None = None
    ) -> EventStream: ...

    def kill(self, container: str) -> None: ...


class EventStream(Iterable[dict[str, Any]], Protocol):
    """docker.types.CancellableStream: close() ends the iteration from another thread."""

    def close(self) -> None: ...


def engine_errors(api: ContainerApi) -> tuple[type[Exception], ...]:
    """What this client raises when the engine answers with an error."""
    if isinstance(api, UnixSocketEngine):
        return (EngineApiError,)
    from docker.errors import DockerException

    return (DockerException,)


def _image_missing(api: ContainerApi) -> type[Exception]:
    if isinstance(api, UnixSocketEngine):
        return ImageMissing
    from docker.errors import ImageNotFound

    return ImageNotFound


class ImageUnavailable(IotaError):
    """The image is neither on this machine nor pullable."""


@dataclass(frozen=True)
class Limits:
    cpus: float
    memory_bytes: int

    @property
    def memory_mib(self) -> int:
        return self.memory_bytes // MIB


@dataclass(frozen=True)
class ContainerJob:
    image: str
    name: str
    environment: Mapping[str, str]
    binds: Mapping[str, Mapping[str, str]]  # host path: {"bind": path inside, "mode": ro|rw}
    limits: Limits
    labels: Mapping[str, str]
    log_path: Path


@dataclass(frozen=True)
class ContainerOutcome:
    exit_code: int
    oom_killed: bool
    duration_seconds: float


def limits_for(resources: ResourceConfiguration | None) -> Limits:
    """CPU and memory limits for a computeType, capped to this machine, or as overridden."""
    cpus, memory = COMPUTE_TYPES.get(resources.compute_type if resources else "", (4.0, 16 * GIB))
    cpus = min(cpus, float(len(os.sched_getaffinity(0))))
    memory = min(memory, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    if os.environ.get(CPU_LIMIT_ENV):
        cpus = _positive_number(CPU_LIMIT_ENV, os.environ[CPU_LIMIT_ENV])
    if os.environ.get(MEMORY_LIMIT_ENV):
        memory = parse_size(MEMORY_LIMIT_ENV, os.environ[MEMORY_LIMIT_ENV])
    return Limits(cpus, memory)


def parse_size(setting: str, text: str) -> int:
    """`512m`, `2g`, `1048576` as bytes."""
    match = _SIZE.match(text)
    size = float(match[1]) * _UNITS[match[2].lower()] if match else 0
    if size < 1:
        raise IotaError(f"{setting}={text!r} is not a size: write bytes, or e.g. 512m or 2g")
    return int(size)


def _positive_number(setting: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise IotaError(f"{setting}={text!r} is not a positive number: give one, or unset it")
    return value


def run_container(api: ContainerApi, job: ContainerJob) -> ContainerOutcome:
    """Run the job's container to its end; its logs go to job.log_path."""
    container = _create(api, job)
    watch = _OutOfMemoryWatch(api, container)  # subscribed before the start: no event missed
    try:
        started = time.monotonic()
        api.start(container)
        # No timeout: a run takes as long as its notebook does (the default would be 60 s).
        exit_code = int(api.wait(container, timeout=None)["StatusCode"])
        duration = time.monotonic() - started
        watch.stop()
        _keep_log(job.log_path, api.logs(container, stdout=True, stderr=True))
        oom_killed = watch.seen
        if exit_code != 0 and not oom_killed:
            oom_killed = bool(api.inspect_container(container)["State"].get("OOMKilled"))
        return ContainerOutcome(exit_code, oom_killed, duration)
    finally:
        watch.stop()
        api.remove_container(container, force=True)


def _keep_log(path: Path, output: bytes) -> None:
    """Append the container's output to the run's log. A full disk loses the log, not the
    run: the outputs are stored and the exit code says how the run ended."""
    try:
        with path.open("ab") as log:
            log.write(output)
    except OSError as e:
        logger.warning("the container's log cannot be kept in %s (%s)", path, e.strerror or e)


class _OutOfMemoryWatch:
    """Stops the container at its first `oom` event (see the module docstring)."""

    def __init__(self, api: ContainerApi, container: str) -> None:
        self.seen = False
        self._stopped = False
        self._stream = api.events(
            filters={"type": ["container"], "container": [container], "event": ["oom"]},
            decode=True,
        )
        self._thread = threading.Thread(
            target=self._watch, args=(api, container), name="oom-watch", daemon=True
        )
        self._thread.start()

    def _watch(self, api: ContainerApi, container: str) -> None:
        errors = engine_errors(api)
        for _event in self._stream:
            self.seen = True
            with contextlib.suppress(*errors):  # it may have ended already
                api.kill(container)
            return

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError):
            self._stream.close()
        self._thread.join(timeout=10)


def _create(api: ContainerApi, job: ContainerJob) -> str:
    host_config = api.create_host_config(
        binds={path: dict(bind) for path, bind in job.binds.items()},
        mem_limit=job.limits.memory_bytes,
        memswap_limit=job.limits.memory_bytes,
        nano_cpus=int(job.limits.cpus * 1e9),
        network_mode=os.environ.get(NETWORK_ENV) or DEFAULT_NETWORK,
    )
    arguments: dict[str, Any] = {
        "name": job.name,
        "environment": dict(job.environment),
        "labels": dict(job.labels),
        "host_config": host_config,
    }
    try:
        created = api.create_container(job.image, **arguments)
    except _image_missing(api):
        _pull(api, job.image)
        created = api.create_container(job.image, **arguments)
    return cast(str, created["Id"])


def _pull(api: ContainerApi, image: str) -> None:
    from docker.errors import DockerException

    fix = "push it with `iota-container build`, or fix containerAction.image"
    try:
        for line in api.pull(image, stream=True, decode=True):
            if "error" in line:
                raise ImageUnavailable(
                    f"image {image} is not on this machine and cannot be pulled "
                    f"({one_line(str(line['error']))}): {fix}"
                )
    except (DockerException, EngineApiError) as e:  # the pull itself goes through docker-py
        raise ImageUnavailable(
            f"image {image} is not on this machine and cannot be pulled ({engine_reason(e)}): {fix}"
        ) from e
