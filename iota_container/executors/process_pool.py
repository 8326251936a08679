"""A pool of pre-started worker processes for the process-mode runs of a long-lived caller.

    pool = ProcessPool(size=4)
    pool.warm(2)                       # two workers ready (imports done, kernels booting)
    ended = pool.run(PoolRun(params, notebook, log, cwd))
    pool.close()                       # idle workers and their kernels stop

A one-shot run (`python -m iota_container run`) pays an interpreter, the imports of
nbclient, jupyter_client and nbconvert, and a kernel's boot before its first cell: a
few seconds of a loaded machine, on the run's critical path. A pool worker
(pool_worker.py) pays them before a run is handed to it, so a run due at 12:00 starts
its cells at 12:00. Isolation is the one-shot run's: every worker is a process of its
own, with the engine's secrets already dropped from its environment
(`process_environment()`), and it runs ONE run and exits, so neither the worker nor its
kernel ever serves a second run; a crash of the analysis ends that worker only. The
replacement is started as soon as a worker is taken, off the critical path.

Workers are a session of their own (start_new_session), so that stopping one stops the
processes it started; a worker's kernel is a session of its own too (jupyter_client
starts it so) and is stopped by its worker, or by the pool by its pid when the worker
had to be killed (ipykernel also exits within a second of losing its parent).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from iota_container.errors import IotaError
from iota_container.executors.base import RunEnded
from iota_container.executors.run_environment import process_environment

if TYPE_CHECKING:
    from iota_container.executors.base import Executor

log = logging.getLogger("iota_container")

DEFAULT_KERNEL = "python3"  # what the notebooks of this project's users almost all name
STOP_GRACE_SECONDS = 10.0  # an idle worker stops its kernel (a second or two) and exits
HANDOVER_ATTEMPTS = 3  # workers that died before their run was handed over are replaced


@dataclass(frozen=True)
class PoolRun:
    """One process-mode run: what `iota-container run` is given, where its log goes."""

    params: Path
    notebook: Path
    log: Path
    cwd: Path


@dataclass(frozen=True)
class Handover:
    """When a worker was given a run (time.time()), and which processes it had ready."""

    worker_pid: int
    kernel_pid: int | None
    ready_at: float  # when the worker said it was ready (its kernel launched)
    handed_at: float


class WorkerStartFailed(IotaError):
    """No pool worker could be started for a run."""


class _Worker:
    def __init__(self, command: list[str], environment: Mapping[str, str], folder: Path) -> None:
        self.stderr_path = folder / f"worker-{time.monotonic_ns()}.log"
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=dict(environment),
                cwd=folder,
                start_new_session=True,
            )
        self.kernel_pid: int | None = None
        self.ready_at: float | None = None

    def wait_ready(self) -> bool:
        """Block until the worker says it is ready; False when it died first."""
        if self.ready_at is not None:
            return True
        stdout: IO[bytes] | None = self.process.stdout
        line = stdout.readline() if stdout is not None else b""
        try:
            ready = json.loads(line)
        except ValueError:
            return False
        self.kernel_pid = ready.get("kernelPid")
        self.ready_at = time.time()
        return True

    def start_reason(self) -> str:
        text = self.stderr_path.read_text(encoding="utf-8", errors="replace").strip()
        return (text.splitlines() or ["no output"])[-1]

    def hand_over(self, run: PoolRun, handed_at: float) -> bool:
        job = {
            "params": str(run.params),
            "notebook": str(run.notebook),
            "log": str(run.log),
            "cwd": str(run.cwd),
            "handedAt": handed_at,
        }
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(job).encode() + b"\n")
            self.process.stdin.close()
        except OSError:  # BrokenPipeError: it died after saying it was ready
            return False
        return True

    def stop(self, grace: float) -> None:
        """End of stdin asks it to stop its kernel and exit; killed if it does not."""
        try:
            if self.process.stdin is not None and not self.process.stdin.closed:
                self.process.stdin.close()
            self.process.wait(grace)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()

    def kill(self) -> None:
        for group in (self.process.pid, self.kernel_pid):
            if group is None:
                continue
            with contextlib.suppress(OSError):  # gone already
                os.killpg(group, signal.SIGKILL)
        self.process.wait()


class ProcessPool:
    def __init__(
        self,
        size: int,
        *,
        kernel_name: str = DEFAULT_KERNEL,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """`size`: runs at once (the caller's workers) and workers kept ready at most.
        `environment`: the workers' (default: this process's, without its secrets)."""
        if size < 1:
            raise ValueError(f"size is {size}; a pool needs at least 1 worker")
        self.size = size
        self.kernel_name = kernel_name
        self.environment = dict(process_environment(environment))
        self.handovers: list[Handover] = []
        self._command = [sys.executable, "-m", "iota_container.executors.pool_worker", kernel_name]
        # The working folder of its workers (and, below it, of their idle kernels).
        self.folder = Path(tempfile.mkdtemp(prefix="iota-pool-"))
        self._waiting: list[_Worker] = []  # started, not handed a run: oldest first
        self._busy: set[_Worker] = set()
        # Waiting workers to keep: one (the replacement of the last one taken) until the
        # caller says how many runs are due soon.
        self._target = 1
        self._lock = threading.Lock()
        self._closed = False

    def warm(self, runs_soon: int) -> None:
        """Have a worker ready for each of `runs_soon` runs (due soon, or waiting for a
        worker) beyond those running, up to `size`."""
        with self._lock:
            self._target = max(0, min(self.size, runs_soon - len(self._busy)))
            self._start_missing()

    def run(self, run: PoolRun) -> RunEnded:
        """Run it in a worker to its end: the exit code of `iota-container run`, or a
        reason when the worker itself ended by a signal."""
        started = time.monotonic()
        worker = self._hand_over(run)
        try:
            code = worker.process.wait()
        finally:
            with self._lock:
                self._busy.discard(worker)
            if worker.process.stdout is not None:
                worker.process.stdout.close()
            worker.stderr_path.unlink(missing_ok=True)
        reason = None
        if code < 0:
            name = signal.Signals(-code).name
            reason = (
                f"the run's pool worker (pid {worker.process.pid}) was killed by {name}: its "
                f"analysis or the machine (out of memory?) ended it; see its log {run.log}"
            )
        return RunEnded(code, time.monotonic() - started, reason)

    def close(self) -> None:
        """Stop the workers waiting for a run, and their kernels; runs under way finish."""
        with self._lock:
            self._closed = True
            waiting, self._waiting = self._waiting, []
        for worker in waiting:
            worker.stop(STOP_GRACE_SECONDS)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _hand_over(self, run: PoolRun) -> _Worker:
        reasons = []
        for _ in range(HANDOVER_ATTEMPTS):
            with self._lock:
                if self._closed:
                    raise WorkerStartFailed("the process pool is closed: start the scheduler again")
                worker = self._waiting.pop(0) if self._waiting else self._start()
                self._busy.add(worker)
                self._start_missing()  # the replacement, off this run's path
            handed_at = time.time()
            if worker.wait_ready():
                handed_at = time.time()
                if worker.hand_over(run, handed_at):
                    ready_at = worker.ready_at or handed_at
                    self.handovers.append(
                        Handover(worker.process.pid, worker.kernel_pid, ready_at, handed_at)
                    )
                    return worker
            reasons.append(worker.start_reason())
            with self._lock:
                self._busy.discard(worker)
            worker.kill()
        raise WorkerStartFailed(
            f"no pool worker started for notebook {str(run.notebook)!r} ({reasons[-1]}): "
            f"check that kernel {self.kernel_name!r} starts (jupyter kernelspec list)"
        )

    def _start_missing(self) -> None:
        while len(self._waiting) < self._target and not self._closed:
            self._waiting.append(self._start())

    def _start(self) -> _Worker:
        return _Worker(self._command, self.environment, self.folder)


def pool_for(executor: Executor, use_container: bool | None, size: int) -> ProcessPool | None:
    """A pool given to `executor` when it is the local one and its runs are processes
    (no Docker engine, or --no-container); None otherwise (containers, other executors,
    or a pool it already has)."""
    from iota_container.engine.records import MODE_PROCESS
    from iota_container.executors.local import LocalExecutor

    if not isinstance(executor, LocalExecutor) or executor.pool is not None:
        return None
    if executor.choose_mode(use_container) != MODE_PROCESS:
        return None
    executor.pool = ProcessPool(size)
    return executor.pool
