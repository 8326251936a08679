"""The part of a Ray run that runs on a cluster node, inside a detached actor.

The actor is created by ray_driver.py with the run's resource request and is named by
the run id; its constructor starts the analysis in a thread at once, so the run goes on
whatever happens to the process that submitted it. The params file (and the notebook of
a run without a container) travel as bytes in the actor's arguments and are written to a
folder of the node's own: the nodes need no file system shared with the submitter. The
analysis runs as the local executor runs it, on the node: the image through the node's
Docker engine, or the runtime in a child process. The actor keeps the end and the log
until the driver collects them, then the driver kills it.
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

from iota_container.engine.records import MODE_CONTAINER
from iota_container.errors import IotaError
from iota_container.executors.base import AnalysisRun, RunEnded


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


class RunOnNode:
    """A detached actor's class: one run, started on construction."""

    def __init__(self, node_run: NodeRun) -> None:
        import ray

        context = ray.get_runtime_context()
        self.node = f"{socket.gethostname()}/{context.get_node_id()}"
        self._end: NodeEnd | None = None
        self._done = threading.Event()
        self._folder = Path(tempfile.mkdtemp(prefix="iota-ray-run-"))
        threading.Thread(target=self._run, args=(node_run,), daemon=True).start()

    def where(self) -> str:
        return self.node

    def wait(self, timeout_seconds: float) -> NodeEnd | None:
        """The run's end once it ended, else None after `timeout_seconds`."""
        self._done.wait(timeout_seconds)
        return self._end

    def _run(self, node_run: NodeRun) -> None:
        log_path = self._folder / "run.log"
        started = time.monotonic()
        with log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(f"iota-container: ray actor on {self.node} at {time.time():.3f}\n")
        try:
            ended = run_here(node_run, self._folder, log_path)
        except IotaError as e:
            with log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(f"error: {e}\n")
            ended = RunEnded(2, time.monotonic() - started, reason=str(e))
        except Exception as e:  # the actor must still answer, or the run would hang
            ended = RunEnded(2, time.monotonic() - started, reason=f"on node {self.node}: {e!r}")
        log = log_path.read_bytes() if log_path.exists() else b""
        self._end = NodeEnd(dataclasses.replace(ended, node=self.node), log)
        shutil.rmtree(self._folder, ignore_errors=True)
        self._done.set()


def run_here(node_run: NodeRun, folder: Path, log_path: Path) -> RunEnded:
    """The run as the local executor runs it, with the node's own copies of its files."""
    from iota_container.executors.local import LocalExecutor

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
    executor = LocalExecutor()
    executor.choose_mode(run.version.mode == MODE_CONTAINER)  # connects to the node's engine
    return executor.execute(run)
