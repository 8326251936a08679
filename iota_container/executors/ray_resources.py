"""What a run asks of a Ray cluster, and where the cluster is: no Ray import here.

- The cluster: `RAY_ADDRESS` (Ray's own convention; `--ray-address` sets it), as
  `HOST:PORT` of the head node's GCS (`ray start --head --port PORT`).
- The resource request of one run: its `computeType` as AWS IoT Analytics sized it
  (ACU_1 = 4 CPUs and 16 GiB, ACU_2 = 8 CPUs and 32 GiB), times `IOTA_RAY_RESOURCE_SCALE`
  (default 1): a small or test cluster declares fewer resources per node, e.g. 0.25 makes
  ACU_1 1 CPU and 4 GiB. Ray places the run on a node that has them free.
- Outputs must be reachable from here: a `file://` output root only works when the
  cluster's nodes are this machine (a loopback address).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any

from iota_container.definitions.model import ResourceConfiguration
from iota_container.errors import IotaError

ADDRESS_ENV = "RAY_ADDRESS"
SCALE_ENV = "IOTA_RAY_RESOURCE_SCALE"
GIB = 1024**3
# As the service sized them (executors/container_run.py caps a container's limits the same).
COMPUTE_TYPES = {"ACU_1": (4.0, 16 * GIB), "ACU_2": (8.0, 32 * GIB)}
CONNECT_TIMEOUT_SECONDS = 3.0


class RayClusterError(IotaError):
    """No Ray cluster answers, or it cannot run what was asked."""


@dataclass(frozen=True)
class RunResources:
    """A run's Ray resource request."""

    compute_type: str
    num_cpus: float
    memory_bytes: int

    def describe(self) -> str:
        return f"{self.num_cpus:g} CPU and {self.memory_bytes / GIB:g} GiB"


def resource_scale() -> float:
    text = os.environ.get(SCALE_ENV, "1")
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not 0 < scale <= 64:
        raise IotaError(
            f"{SCALE_ENV} is {text!r}: give a number above 0 (0.25 makes ACU_1 1 CPU, 4 GiB)"
        )
    return scale


def resources_for(configuration: ResourceConfiguration) -> RunResources:
    compute_type = configuration.compute_type
    if compute_type not in COMPUTE_TYPES:
        raise IotaError(f"computeType {compute_type!r} is unknown: use ACU_1 or ACU_2")
    cpus, memory = COMPUTE_TYPES[compute_type]
    scale = resource_scale()
    return RunResources(compute_type, cpus * scale, int(memory * scale))


def unsatisfiable_reason(resources: RunResources, nodes: list[dict[str, Any]]) -> str | None:
    """Why no alive node of the cluster (`ray.nodes()`) could ever run this request, or
    None when one could (now or once its runs end)."""
    alive = [node.get("Resources", {}) for node in nodes if node.get("Alive")]
    for offered in alive:
        cpus, memory = float(offered.get("CPU", 0)), float(offered.get("memory", 0))
        if cpus >= resources.num_cpus and memory >= resources.memory_bytes:
            return None
    largest: dict[str, Any] = max(
        alive, key=lambda offered: (offered.get("CPU", 0), offered.get("memory", 0)), default={}
    )
    return (
        f"computeType {resources.compute_type} asks for {resources.describe()} and no node "
        f"of the Ray cluster has that much (the largest has "
        f"{float(largest.get('CPU', 0)):g} CPU and {float(largest.get('memory', 0)) / GIB:g} "
        f"GiB): use a smaller computeType, add a larger node, or lower {SCALE_ENV}"
    )


def cluster_address() -> str:
    address = os.environ.get(ADDRESS_ENV, "").strip()
    if not address:
        raise IotaError(
            f"the ray executor needs a cluster: set {ADDRESS_ENV} or --ray-address to the "
            "head node's HOST:PORT (`ray start --head --port 6379` prints it)"
        )
    return address


def host_and_port(address: str) -> tuple[str, int] | None:
    """The GCS host and port of a `HOST:PORT` address; None for Ray's other forms."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def is_loopback(address: str) -> bool:
    """Whether every node of the cluster at `address` is this machine, as far as the
    address says: a loopback head (the nodes of a cluster join at its head's host)."""
    parsed = host_and_port(address)
    host = parsed[0] if parsed else address
    if host in ("localhost", "auto", "local"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except OSError:
            return False


def refuse_unreachable_outputs(address: str, uris: list[str]) -> None:
    """A `file://` output or input means a folder of this machine: a remote node would
    write its own folder, out of reach from here."""
    local = [uri for uri in uris if uri.startswith("file:")]
    if local and not is_loopback(address):
        raise IotaError(
            f"output {local[0]} is a file:// URI, which nodes of the Ray cluster at {address} "
            "cannot write for this machine: set IOTA_OUTPUT_ROOT (or --output-root) to an "
            "s3:// prefix, or use a cluster on this machine"
        )


def check_cluster_answers(address: str) -> None:
    """A Ray cluster answers at `address` (its GCS port accepts a connection), within a
    few seconds: connecting with Ray itself to nothing retries for a minute."""
    parsed = host_and_port(address)
    if parsed is None:
        return  # `auto` and the like: Ray itself finds the cluster
    try:
        socket.create_connection(parsed, timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as e:
        raise RayClusterError(
            f"no Ray cluster answers at {address} ({e.strerror or e}): start one with "
            f"`ray start --head --port {parsed[1]}`, or set {ADDRESS_ENV} (--ray-address) "
            "to its head node's HOST:PORT"
        ) from e
