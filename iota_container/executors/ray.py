"""The `ray` executor: each run on a Ray cluster, placed by Ray by its computeType.

    RAY_ADDRESS=10.0.0.5:6379 iota-container dataset run sensor_report --executor ray

- The cluster is `RAY_ADDRESS` (`--ray-address`), checked to answer within seconds.
- The runs of an engine process are driven by one Ray driver process (ray_driver.py
  says why), started with the executor, before any run is known: Ray's import and
  ray.init overlap the engine's own work (a scheduler's: its wait for the first
  window), and are paid once, not by each run. A driver that ended (its cluster went
  away) is replaced by the next run.
- Each run is one detached placement group named by the run id, asking for its
  computeType's CPUs and memory times IOTA_RAY_RESOURCE_SCALE (ray_resources.py), run
  by the agent of the node Ray reserved it on (ray_node.py); a computeType no node has
  room for is refused at submission.
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
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
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
        self._driver: _Driver | None = None
        self._driver_lock = threading.Lock()
        address = os.environ.get(ADDRESS_ENV, "").strip()
        if address:  # else choose_mode says what is missing
            self._driver_for(address)

    def choose_mode(self, use_container: bool | None) -> str:
        require_ray()
        self._driver_for(cluster_address())  # a run is being claimed: its driver
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

    def _driver_for(self, address: str) -> _Driver:
        """The driver of `address`: the running one, or one started now."""
        with self._driver_lock:
            driver = self._driver
            if driver is None or driver.address != address or not driver.alive:
                driver = self._driver = _Driver.start(address)
            return driver

    def _drive(self, request: DriverRequest, run: AnalysisRun) -> RunEnded | None:
        """The driver's answers to the request, to its end; None when it found no such
        run."""
        driver_log = Path(request.log_path)
        started = time.monotonic()
        driver = self._driver_for(request.address)
        events: dict[str, dict[str, Any]] = {}
        for event in driver.serve(request, driver_log):
            events[event["event"]] = event
            if event["event"] == "placed":
                node = event["node"]
                log.info("dataset %s: run %s on %s", run.dataset.name, request.run_id, node)
        if "refused" in events:
            raise RayClusterError(events["refused"]["message"])
        if "ended" in events:
            return _ended(events["ended"], run.log_path)
        if "missing" in events:
            return None
        code = driver.exit_code()
        if request.operation == SUBMIT and "submitted" not in events:
            raise RayClusterError(
                f"the Ray cluster at {request.address} did not take run {request.run_id} "
                f"({_ending(code)}): see {driver_log}"
            )
        return _cluster_gone(request.address, code, driver_log, time.monotonic() - started)


class _Driver:
    """A driver process and this process's end of it: requests written to its stdin,
    its events read from its stdout by a thread and handed to the request they are
    about. What it prints itself (Ray's messages) goes to a file of its own, whose lines
    of a request's time are added to that request's log."""

    def __init__(self, address: str, process: subprocess.Popen[bytes], output: IO[bytes]):
        self.address = address
        self.process = process
        self._output = output
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._waiting: dict[str, queue.Queue[dict[str, Any] | None]] = {}
        self._ended = False
        threading.Thread(target=self._read_events, daemon=True).start()

    @classmethod
    def start(cls, address: str) -> _Driver:
        output = tempfile.TemporaryFile()  # noqa: SIM115  (closed with the driver)
        process = subprocess.Popen(
            [sys.executable, "-m", "iota_container.executors.ray_driver", address],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=output,
        )
        return cls(address, process, output)

    @property
    def alive(self) -> bool:
        return not self._ended and self.process.poll() is None

    def exit_code(self) -> int | None:
        """Its exit code, None while it runs (its stdout closed: it is ending)."""
        if not self._ended:
            return self.process.poll()
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def serve(self, request: DriverRequest, driver_log: Path) -> Iterator[dict[str, Any]]:
        """The driver's events about `request`, up to its `done` (or the driver's end)."""
        answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        written = self._output_size()
        assert self.process.stdin is not None
        with self._lock:
            self._waiting[request.run_id] = answers
            if self._ended:
                answers.put(None)
        try:
            with self._write_lock:  # not the lock its events are handed out under
                write_request(self.process.stdin, request)
        except OSError:  # BrokenPipeError: it ended (and said so to `answers`)
            answers.put(None)
        try:
            while (event := answers.get()) is not None and event["event"] != "done":
                yield event
        finally:
            with self._lock:
                self._waiting.pop(request.run_id, None)
            self._add_output(driver_log, written)

    def _read_events(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            with self._lock:
                answers = self._waiting.get(event["runId"])
            if answers is not None:
                answers.put(event)
        with self._lock:  # it ended: every request waiting has had all it will get
            self._ended = True
            for answers in self._waiting.values():
                answers.put(None)

    def _output_size(self) -> int:
        return os.fstat(self._output.fileno()).st_size

    def _add_output(self, driver_log: Path, since: int) -> None:
        """What the driver printed while the request was under way, to its log."""
        printed = os.pread(self._output.fileno(), self._output_size() - since, since)
        if printed:
            with driver_log.open("ab") as log_file:
                log_file.write(printed)


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


def _ending(code: int | None) -> str:
    return f"its driver ended with code {code}" if code is not None else "its driver gave it up"


def _cluster_gone(address: str, code: int | None, driver_log: Path, seconds: float) -> RunEnded:
    """The driver ended without the run's end: the cluster stopped answering it."""
    lines = driver_log.read_text(encoding="utf-8", errors="replace").splitlines()
    last = next((line for line in reversed(lines) if line.strip()), "")
    detail = f": {one_line(last, 200)}" if last else ""
    reason = (
        f"the Ray cluster at {address} stopped answering mid-run ({_ending(code)}{detail}); "
        f"see {driver_log}"
    )
    return RunEnded(-1, seconds, reason, infrastructure_failure=True)
