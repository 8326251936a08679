"""The part of a Ray run that runs on a cluster node: the node's agent.

Each node that runs runs has one agent, a detached actor named by the node
(`agent_name`), started the first time a driver needs it there, or ahead, when a driver
connects (ray_driver.py). A run does not get an actor of its own: an actor is a worker
process Ray starts for it, a second or more of a two-core node, on every run's critical
path. The agent is already running; it runs each run it is given in a thread of its own,
through a local executor with a pool of pre-started workers (process_pool.py), so a
`--no-container` run starts its cells in a kernel that was booted before it came. What
reserves the run's resources on the node is its placement group (ray_driver.py), not
the agent, which asks for no CPU.

The params file (and the notebook of a run without a container) travel as bytes with the
run and are written to a folder of the node's own: the nodes need no file system shared
with the submitter. The analysis runs as the local executor runs it, on the node: the
image through the node's Docker engine, or the runtime in a pool worker. The agent keeps
each run's end and log, by run id, until the driver collects them: a driver that died
is followed by another process, which asks the agent for the same run id.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from iota_container.engine.records import MODE_CONTAINER
from iota_container.errors import IotaError
from iota_container.executors.base import AnalysisRun, RunEnded

if TYPE_CHECKING:
    from iota_container.executors.local import LocalExecutor

# Runs at once an agent's pool is sized for (its workers kept ready stay one, the
# replacement of the last taken: process_pool.py); more start workers as they come.
POOL_SIZE = 8


@dataclass(frozen=True)
class NodeRun:
    """What travels to the node: the run (its paths are the submitter's) and the bytes of
    its files."""

    run: AnalysisRun
    params: bytes
    notebook_name: str | None = None
    notebook: bytes | None = None


@dataclass(frozen=True)
class NodeEnd:
    ended: RunEnded
    log: bytes


AGENT_PREFIX = "iota-node-agent-"
MAX_CALLS = 1000  # concurrent calls an agent answers: a start, and a wait per run under way


def agent_name(node_id: str) -> str:
    return AGENT_PREFIX + node_id


@dataclass
class _AgentRun:
    done: threading.Event
    end: NodeEnd | None = None


class NodeAgent:
    """A node's agent (a detached threaded actor's class): runs the runs it is given."""

    def __init__(self) -> None:
        import ray

        from iota_container.executors.local import LocalExecutor
        from iota_container.executors.process_pool import ProcessPool

        context = ray.get_runtime_context()
        self.node = f"{socket.gethostname()}/{context.get_node_id()}"
        self._runs: dict[str, _AgentRun] = {}
        self._lock = threading.Lock()
        # One worker ready (its kernel booting now), and a replacement for each taken.
        self._pool = ProcessPool(POOL_SIZE)
        self._pool.warm(1)
        self._executor = LocalExecutor(pool=self._pool)

    def where(self) -> str:
        return self.node

    def start(self, run_id: str, node_run: NodeRun) -> str:
        """Start the run unless this agent has it already (a resubmission): its node."""
        with self._lock:
            if run_id in self._runs:
                return self.node
            self._runs[run_id] = _AgentRun(threading.Event())
        thread = threading.Thread(target=self._run, args=(run_id, node_run), daemon=True)
        thread.start()
        return self.node

    def knows(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._runs

    def wait(self, run_id: str, timeout_seconds: float) -> NodeEnd | None:
        """The run's end once it ended, else None after `timeout_seconds`."""
        with self._lock:
            run = self._runs[run_id]
        run.done.wait(timeout_seconds)
        return run.end

    def collect(self, run_id: str) -> None:
        """Forget an ended run whose end its driver has read."""
        with self._lock:
            self._runs.pop(run_id, None)

    def _run(self, run_id: str, node_run: NodeRun) -> None:
        folder = Path(tempfile.mkdtemp(prefix="iota-ray-run-"))
        log_path = folder / "run.log"
        started = time.monotonic()
        with log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(f"iota-container: ray agent on {self.node} at {time.time():.3f}\n")
        try:
            ended = run_here(node_run, folder, log_path, self._executor)
        except IotaError as e:
            with log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(f"error: {e}\n")
            ended = RunEnded(2, time.monotonic() - started, reason=str(e))
        except Exception as e:  # the agent must still answer, or the run would hang
            ended = RunEnded(2, time.monotonic() - started, reason=f"on node {self.node}: {e!r}")
        log = log_path.read_bytes() if log_path.exists() else b""
        shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            run = self._runs[run_id]
        run.end = NodeEnd(dataclasses.replace(ended, node=self.node), log)
        run.done.set()


def run_here(node_run: NodeRun, folder: Path, log_path: Path, executor: LocalExecutor) -> RunEnded:
    """The run as the local executor runs it, with the node's own copies of its files."""
    params_path = folder / "params"
    params_path.write_bytes(node_run.params)
    params_path.chmod(0o644)  # the image runs as its own user
    # The submitter's notebook where this node has it (a cluster on one machine: files
    # beside it are there too), else the copy that travelled with the run.
    notebook = Path(node_run.run.notebook) if node_run.run.notebook is not None else None
    missing = notebook is None or not notebook.is_file()
    if missing and node_run.notebook is not None and node_run.notebook_name:
        notebook = folder / "notebook" / node_run.notebook_name
        notebook.parent.mkdir()
        notebook.write_bytes(node_run.notebook)
    run = dataclasses.replace(
        node_run.run, params_path=params_path, log_path=log_path, notebook=notebook
    )
    executor.choose_mode(run.version.mode == MODE_CONTAINER)  # connects to the node's engine
    return executor.execute(run)
