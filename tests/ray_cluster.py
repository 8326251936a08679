"""A real Ray cluster on this machine's loopback: a head and worker nodes, each started
by `ray start` as processes of its own session (so one node can be killed whole), with
declared logical resources, and stopped at the end.

The head declares no CPU, so runs land on worker nodes only; each worker declares
`WORKER_CPUS` CPU and `WORKER_MEMORY` bytes, which, with IOTA_RAY_RESOURCE_SCALE=0.25,
is exactly one ACU_1 run (1 CPU, 4 GiB): two ACU_1 runs cannot share a node, and an
ACU_2 run (2 CPU, 8 GiB) fits on none. The machine's real cores and memory are far
fewer; Ray only counts what the nodes declare.

Every Ray process imports jsonschema, which in this test environment (Jupyter's
`jsonschema[format-nongpl]`) imports rfc3987_syntax, whose grammar is built at import:
four seconds of CPU per process. A node starts a dozen Python processes, and its raylet
gives its agents 15 s to start (not configurable in Ray 2.60), which a busy two-core
machine misses. So the cluster's processes, and the CLI processes the tests start
against it, see a stand-in `rfc3987_syntax` that fails to import, as it would on a
machine without it: jsonschema then skips checking the `iri` format, which nothing here
uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.servers import free_port, require

RESOURCE_SCALE = "0.25"
WORKER_CPUS = 1
WORKER_MEMORY = 4 * 1024**3
OBJECT_STORE_BYTES = 80 * 1024**2
# The GCS declares a node dead after a few missed health checks of a second each, not
# Ray's default half minute: a test of a lost node waits seconds.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


@dataclass
class RayNode:
    process_group: int  # `ray start`'s session: the node's raylet and its workers
    head: bool
    killed: bool = False

    def processes(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.process_group:
                        found.append(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    continue
        return found

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process_group, signal.SIGKILL)


@dataclass
class RayCluster:
    root: Path
    worker_cpus: int = WORKER_CPUS  # and 4 GiB each: at 0.25, one ACU_1 run a CPU
    port: int = field(default_factory=free_port)
    nodes: list[RayNode] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def python_path(self) -> str:
        """PYTHONPATH with the stand-in rfc3987_syntax (see the module docstring)."""
        stand_in = self.root / "python-path" / "rfc3987_syntax"
        if not stand_in.exists():
            stand_in.mkdir(parents=True)
            (stand_in / "__init__.py").write_text(
                'raise ImportError("rfc3987_syntax is left out of the test Ray cluster")\n'
            )
        return os.pathsep.join(filter(None, [str(stand_in.parent), os.environ.get("PYTHONPATH")]))

    def env(self) -> dict[str, str]:
        """What a process that submits runs to this cluster needs."""
        return {
            "RAY_ADDRESS": self.address,
            "IOTA_RAY_RESOURCE_SCALE": RESOURCE_SCALE,
            "PYTHONPATH": self.python_path,
        }

    def start(self, workers: int = 2) -> RayCluster:
        self._ray_start(
            "--head",
            f"--port={self.port}",
            "--num-cpus=0",
            f"--temp-dir={self.root}",
            "--include-dashboard=false",
        )
        for _ in range(workers):
            self.add_worker()
        self.wait_for_workers(workers)
        return self

    def add_worker(self) -> RayNode:
        return self._ray_start(
            f"--address={self.address}",
            f"--num-cpus={self.worker_cpus}",
            f"--memory={WORKER_MEMORY * self.worker_cpus}",
        )

    def workers(self) -> list[RayNode]:
        return [node for node in self.nodes if not node.head]

    def alive_workers(self) -> int:
        """Worker nodes the cluster counts alive."""
        alive = "sum(1 for n in ray.nodes() if n['Alive'] and n['Resources'].get('CPU'))"
        return int(float(self._ask(alive) or 0))

    def free_cpus(self) -> float:
        """The CPUs nothing holds: every worker's, once each run's group is removed."""
        return float(self._ask("ray.available_resources().get('CPU', 0)") or 0)

    def _ask(self, expression: str) -> str:
        """`expression` evaluated by a driver of its own (in the test process, a driver
        would outlive a stopped cluster badly)."""
        script = f"import ray; ray.init(address={self.address!r}, logging_level='ERROR')"
        answer = subprocess.run(
            [sys.executable, "-c", f"{script}; print({expression})"],
            capture_output=True,
            text=True,
            timeout=60,
            env=self._env(),
        )
        return answer.stdout.strip()

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.alive_workers() != count:
            if time.monotonic() > deadline:
                pytest.fail(f"the Ray cluster at {self.address} has no {count} worker nodes")
            time.sleep(0.5)

    def node_running(self, pid: int) -> RayNode:
        """The node whose processes include `pid` or one of its ancestors."""
        while pid > 1:
            for node in self.nodes:
                if pid in node.processes():
                    return node
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rpartition(")")[2].split()[1])
        pytest.fail(f"process {pid} runs on no node of the Ray cluster")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def _ray_start(self, *options: str) -> RayNode:
        command = [
            str(Path(sys.executable).parent / "ray"),
            "start",
            *options,
            "--node-ip-address=127.0.0.1",
            f"--object-store-memory={OBJECT_STORE_BYTES}",
            "--disable-usage-stats",
        ]
        started = subprocess.Popen(
            command,
            env=self._env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # the node's processes keep this group: killed whole
        )
        node = RayNode(started.pid, head="--head" in options)
        self.nodes.append(node)  # stopped with the others, even half started
        _, errors = started.communicate(timeout=240)
        if started.returncode != 0:
            pytest.fail(f"`ray start {' '.join(options)}` failed: {errors.decode()[-2000:]}")
        return node

    def _env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        return (
            keep
            | FAST_HEALTH_CHECKS
            | {
                "RAY_USAGE_STATS_ENABLED": "0",
                "PYTHONPATH": self.python_path,
            }
        )


def start_cluster(workers: int = 2, worker_cpus: int = WORKER_CPUS) -> RayCluster:
    require(find_spec("ray") is not None, "Ray is not installed: pip install 'iota-container[ray]'")
    # A short folder: Ray's socket paths inside it must stay under the kernel's 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    cluster = RayCluster(root, worker_cpus)
    try:
        return cluster.start(workers)
    except BaseException:
        cluster.stop()
        raise


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A head and two worker nodes for the whole session; a test that kills a worker
    starts another before it ends (`restore_workers`)."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def restore_workers(cluster: RayCluster, count: int = 2) -> None:
    """Start workers until `count` are alive again (after a test killed one)."""
    cluster.nodes = [n for n in cluster.nodes if not n.killed]
    # Once the cluster counts the killed ones dead: a new node must not be taken for one.
    cluster.wait_for_workers(len(cluster.workers()))
    for _ in range(count - len(cluster.workers())):
        cluster.add_worker()
    cluster.wait_for_workers(count)
