"""The `ray` executor: each run on a Ray cluster, placed by Ray by its computeType.

    RAY_ADDRESS=10.0.0.5:6379 iota-container dataset run sensor_report --executor ray

- The cluster is `RAY_ADDRESS` (`--ray-address`), checked to answer within seconds.
- Each run is driven by a Ray driver process of its own (ray_driver.py says why),
  started ahead of its run (with the executor, as each run is claimed and as each
  ends, one at a time): Ray's import and ray.init in that process overlap the
  engine's work (a scheduler's: its wait for the next window) until the run is handed
  over.
- Each run is one detached Ray actor named by the run id (ray_driver.py says why),
  asking for its computeType's CPUs and memory times IOTA_RAY_RESOURCE_SCALE
  (ray_resources.py); a computeType no node has room for is refused at submission.
- The params file travels with the run as bytes (ray_node.py): on the node the image runs
  through that node's Docker engine with it mounted read-only, or, `--no-container`, the
  runtime runs the definition's notebook in a process there.
- The run's log comes back into `run.log_path`, and its exit code, reason and node into
  the version. A `file://` output with a cluster that is not this machine is refused:
  the nodes could not write this machine's folders.
- A node lost mid-run ends the run FAILED, as an infrastructure failure (the engine runs
  it again only when the definition opts in). A cluster that goes away mid-run ends it
  FAILED with that reason; the engine is not touched (the driver is a child process).
- Followable: a scheduler restarted after a crash finds the run again by its run id and
  waits for its end. One window is left: a run that ended just as the engine died
  (collected by the driver, not yet recorded) is found no more and is failed as
  interrupted, never run twice.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

from iota_container.engine.records import MODE_CONTAINER, MODE_PROCESS
from iota_container.errors import IotaError
from iota_container.executors.base import AnalysisRun, RunEnded
from iota_container.executors.ray_driver import FOLLOW, SUBMIT, DriverRequest, write_request
from iota_container.executors.ray_node import NodeRun
from iota_container.executors.ray_resources import (
    ADDRESS_ENV,
    RayClusterError,
    check_cluster_answers,
    cluster_address,
    refuse_unreachable_outputs,
    resources_for,
)
from iota_container.text import one_line

log = logging.getLogger("iota_container")

DRIVER_LOG_NAME = "ray-driver.log"
INSTALL_HINT = "pip install 'iota-container[ray]'"


class RayExecutor:
    name = "ray"

    def __init__(self) -> None:
        require_ray()
        self._ready: _Driver | None = None  # started for the next run, importing Ray
        self._ready_lock = threading.Lock()
        address = os.environ.get(ADDRESS_ENV, "").strip()
        if address:  # else choose_mode says what is missing
            self._start_ready_driver(address)

    def choose_mode(self, use_container: bool | None) -> str:
        require_ray()
        self._start_ready_driver(cluster_address())  # a run is being claimed: its driver
        # The nodes' Docker engines cannot be asked from here: a container unless refused.
        return MODE_PROCESS if use_container is False else MODE_CONTAINER

    def execute(self, run: AnalysisRun) -> RunEnded:
        address = cluster_address()
        outputs = [run.version.output_prefix, *run.run_params.inputs.values()]
        refuse_unreachable_outputs(address, outputs)
        check_cluster_answers(address)
        action = run.dataset.definition.container_action
        if action is None:
            raise IotaError(f"dataset {run.dataset.name!r} has no containerAction to run on Ray")
        node_run = _node_run(run)
        request = DriverRequest(
            SUBMIT,
            address,
            run.run_id,
            _driver_log(run),
            resources_for(action.resource_configuration),
            node_run,
        )
        ended = self._drive(request, run)
        if ended is None:  # a driver only says so when following
            raise RayClusterError(f"the Ray cluster at {address} lost run {run.run_id}")
        return ended

    def follow(self, run: AnalysisRun) -> RunEnded | None:
        address = cluster_address()
        check_cluster_answers(address)
        return self._drive(DriverRequest(FOLLOW, address, run.run_id, _driver_log(run)), run)

    def _start_ready_driver(self, address: str) -> None:
        """One driver started ahead of the next run, unless one is ready already."""
        with self._ready_lock:
            if self._ready is None or self._ready.process.poll() is not None:
                self._ready = _Driver.start(address)

    def _take_driver(self, address: str) -> _Driver:
        with self._ready_lock:
            ready, self._ready = self._ready, None
        if ready is not None and ready.process.poll() is None:
            return ready  # connected to `address` already, or connects when told
        return _Driver.start(address)

    def _drive(self, request: DriverRequest, run: AnalysisRun) -> RunEnded | None:
        """Run the driver process to the run's end; None when it found no such run."""
        driver_log = Path(request.log_path)
        started = time.monotonic()
        taken = self._take_driver(request.address)
        driver = taken.process
        assert driver.stdin is not None and driver.stdout is not None
        events: dict[str, dict[str, Any]] = {}
        try:
            # stdin stays open until the driver is done (it collects the run's actor after
            # its end): the driver ends early only when this process does.
            write_request(driver.stdin, request)
            for line in driver.stdout:
                event = json.loads(line)
                events[event["event"]] = event
                if event["event"] == "placed":
                    node = event["node"]
                    log.info("dataset %s: run %s on %s", run.dataset.name, request.run_id, node)
        finally:
            driver.stdin.close()
            code = driver.wait()
            taken.keep_early_log(driver_log)
            # For this process's next run (a scheduler's): a process that ends now ends
            # it too, before it is far into Ray's import.
            self._start_ready_driver(request.address)
        if "refused" in events:
            raise RayClusterError(events["refused"]["message"])
        if "ended" in events:
            return _ended(events["ended"], run.log_path)
        if "missing" in events:
            return None
        if request.operation == SUBMIT and "submitted" not in events:
            raise RayClusterError(
                f"the Ray cluster at {request.address} did not take run {request.run_id} (its "
                f"driver ended with code {code}): see {driver_log}"
            )
        return _cluster_gone(request.address, code, driver_log, time.monotonic() - started)


@dataclasses.dataclass(frozen=True)
class _Driver:
    """A driver process, started before its run is known: what it prints until it is
    given its request (and its log path) goes to a file of its own."""

    process: subprocess.Popen[bytes]
    early_log: IO[bytes]

    @classmethod
    def start(cls, address: str) -> _Driver:
        early_log = tempfile.TemporaryFile()  # noqa: SIM115  (closed with its run)
        process = subprocess.Popen(
            [sys.executable, "-m", "iota_container.executors.ray_driver", address],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=early_log,
        )
        return cls(process, early_log)

    def keep_early_log(self, driver_log: Path) -> None:
        """Append what the driver printed before its request to its log."""
        with self.early_log:
            self.early_log.seek(0)
            early = self.early_log.read()
        if early:
            with driver_log.open("ab") as log_file:
                log_file.write(early)


def _driver_log(run: AnalysisRun) -> str:
    return str(run.log_path.with_name(DRIVER_LOG_NAME))


def require_ray() -> None:
    """Ray is importable here (it is not imported: the driver process does that)."""
    if find_spec("ray") is None:
        raise IotaError(f"the ray executor needs Ray, which is not installed: {INSTALL_HINT}")


def _node_run(run: AnalysisRun) -> NodeRun:
    params = run.params_path.read_bytes()
    if run.version.mode != MODE_PROCESS:
        return NodeRun(run, params)
    from iota_container.executors.local import _notebook_for

    notebook = _notebook_for(run.dataset, run.notebook)  # one line when there is none
    return NodeRun(
        dataclasses.replace(run, notebook=notebook), params, notebook.name, notebook.read_bytes()
    )


def _ended(event: dict[str, object], log_path: Path) -> RunEnded:
    node_log = base64.b64decode(str(event["log"]))
    if node_log:
        with log_path.open("ab") as log_file:
            log_file.write(node_log)
    code, seconds = event["exitCode"], event["durationSeconds"]
    assert isinstance(code, int) and isinstance(seconds, (int, float))
    reason, node = event["reason"], event["node"]
    return RunEnded(
        code,
        float(seconds),
        reason=str(reason) if reason is not None else None,
        node=str(node) if node is not None else None,
        infrastructure_failure=bool(event["infrastructureFailure"]),
    )


def _cluster_gone(address: str, code: int, driver_log: Path, seconds: float) -> RunEnded:
    """The driver ended without the run's end: the cluster stopped answering it."""
    lines = driver_log.read_text(encoding="utf-8", errors="replace").splitlines()
    last = next((line for line in reversed(lines) if line.strip()), "")
    detail = f": {one_line(last, 200)}" if last else ""
    reason = (
        f"the Ray cluster at {address} stopped answering mid-run (its driver ended with code "
        f"{code}{detail}); see {driver_log}"
    )
    return RunEnded(-1, seconds, reason, infrastructure_failure=True)
