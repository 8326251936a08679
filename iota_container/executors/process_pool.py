"""A pool of pre-started worker processes for the process-mode runs of a long-lived caller.

    pool = ProcessPool(size=4)
    pool.warm(2)                       # two workers ready (imports done, kernels booting)
    ended = pool.run(PoolRun(params, notebook, log, cwd))
    pool.close()                       # idle workers and their kernels stop

A one-shot run (`python -m iota_container run`) pays an interpreter, the imports of
nbclient, jupyter_client and nbconvert, and a kernel's boot before its first cell: a
few seconds of a loaded machine, on the run's critical path. Pool workers are forked
from a fork server that imported all that once (pool_imports.py), so a worker costs a
fork, and each starts its kernel before a run is handed to it, so a run due at 12:00
starts its cells at 12:00. Isolation is the one-shot run's: every worker is a process
of its own, with the engine's secrets dropped from its environment
(`process_environment()`) before it starts its kernel, and it runs ONE run and exits,
so neither the worker nor its kernel ever serves a second run; a crash of the analysis
ends that worker only, and a run ends with the pool's process (pool_worker.py:
`end_with_the_pool`), which answers for it. The replacement is started as soon as a
worker is taken, off the critical path.

A worker is a session of its own (pool_worker.py), so that stopping it stops what it
started; its kernel is a session of its own too (jupyter_client starts it so) and is
stopped by its worker, or by the pool by its pid when the worker had to be killed
(ipykernel also exits within a second of losing its parent). The fork server itself
runs no analysis; it is multiprocessing's, one per process, and ends with it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.context
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from iota_container.errors import IotaError
from iota_container.executors import child_exit
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
    ready_at: float  # when the worker said it was ready (its kernel answering)
    handed_at: float
    client_session: str | None = None  # the session id of the client it connected ahead


class WorkerStartFailed(IotaError):
    """No pool worker could be started for a run."""


class _Worker:
    """One worker, forked by the fork server, and the pool's end of its channel."""

    def __init__(self, kernel_name: str, environment: Mapping[str, str], folder: Path) -> None:
        from iota_container.executors.pool_worker import serve

        context = _fork_server()
        self.channel, theirs = context.Pipe()
        self.process = context.Process(
            target=serve,
            args=(theirs, kernel_name, dict(environment), str(folder)),
            name="iota-pool-worker",
            daemon=True,  # ended, not waited for, if this process exits with it waiting
        )
        child_exit.start(self.process)
        theirs.close()
        self.kernel_pid: int | None = None
        self.client_session: str | None = None
        self.ready_at: float | None = None

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def wait_ready(self) -> bool:
        """Block until the worker says it is ready; False when it died first."""
        if self.ready_at is None:
            try:
                ready = self.channel.recv()
            except (EOFError, OSError):
                return False
            self.kernel_pid = ready.get("kernelPid")
            self.client_session = ready.get("clientSession")
            self.ready_at = time.time()
        return True

    def start_reason(self) -> str:
        code = child_exit.exit_code(self.process, STOP_GRACE_SECONDS)
        return f"it exited with code {code} before it was ready"

    def hand_over(self, run: PoolRun, handed_at: float) -> bool:
        job = {
            "params": str(run.params),
            "notebook": str(run.notebook),
            "log": str(run.log),
            "cwd": str(run.cwd),
            "handedAt": handed_at,
        }
        try:
            self.channel.send(job)
        except OSError:  # BrokenPipeError: it died after saying it was ready
            self.channel.close()
            return False
        return True  # the channel stays open while it runs: its end ends the run

    def wait(self) -> int:
        code = child_exit.exit_code(self.process)
        assert code is not None
        self.channel.close()
        return code

    def stop(self, grace: float) -> None:
        """None asks it to stop its kernel and exit; killed if it does not."""
        with contextlib.suppress(OSError):
            if not self.channel.closed:
                self.channel.send(None)
                self.channel.close()
        if child_exit.exit_code(self.process, grace) is None:
            self.kill()

    def kill(self) -> None:
        for group in (self.process.pid, self.kernel_pid):
            if group is not None:
                with contextlib.suppress(OSError):  # gone already
                    os.killpg(group, signal.SIGKILL)
        child_exit.exit_code(self.process)
        self.channel.close()


def _fork_server() -> multiprocessing.context.ForkServerContext:
    """multiprocessing's fork server, which imports pool_imports.py once: a worker is a
    fork of it (milliseconds), not a new interpreter. It is one per process (started
    with the first worker) and ends with this process."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["iota_container.executors.pool_imports"])
    return context


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
            code = worker.wait()
        finally:
            with self._lock:
                self._busy.discard(worker)
        reason = None
        if code < 0:
            worker.kill()  # its kernel too, which would otherwise notice within a second
            name = signal.Signals(-code).name
            reason = (
                f"the run's pool worker (pid {worker.pid}) was killed by {name}: its "
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
                        Handover(
                            worker.pid,
                            worker.kernel_pid,
                            ready_at,
                            handed_at,
                            worker.client_session,
                        )
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
        return _Worker(self.kernel_name, self.environment, self.folder)


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
