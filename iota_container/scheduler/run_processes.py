"""SQL datasets' runs in worker processes, so that a thousand due at once use every core.

A SQL dataset's run (its x-iota-source command or its query, the content stored, the
version finished, retention) is the engine's own Python from end to end, a few ms of CPU
a run; on the scheduler's threads a thousand of them take turns for one interpreter lock.
Container, pool-worker and Ray runs stay on the threads: they wait on Docker, a pool
worker or a cluster, which releases that lock.

The scheduler keeps what makes runs exactly-once: it claims the triggers (one
transaction), holds each dataset's lock from the claim to the run's end, and withdraws
what a stop leaves unstarted. A worker process is sent the dataset's name, the version's
id and a copy of the lock's descriptor over a Unix socket, runs the claimed version on a
StateStore connection of its own, and answers when it is finished. Holding the lock
through its copy, a worker that outlives a killed scheduler still keeps a restarted one
from starting that dataset's next run until it has finished this one.

A worker that dies during a run (killed, out of memory) leaves its version FAILED with a
reason that says how it ended; the next run gets a new worker. Workers are in a session
of their own, so the terminal's Ctrl-C reaches only the scheduler, which lets runs under
way finish (loop.py); they end when the scheduler closes their socket.

    python -m iota_container.scheduler.run_processes FD    # a worker, on socket FD
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iota_container.engine.full_disk import remove_partial_files
from iota_container.engine.home import LOG_NAME, Home
from iota_container.engine.locks import HeldLock
from iota_container.engine.records import FAILED, INTERRUPTED, Version
from iota_container.engine.run import ClaimedRun, DatasetEngine, RunWithdrawn
from iota_container.engine.state_store import StateStore
from iota_container.errors import IotaError

if TYPE_CHECKING:
    from iota_container.engine.state_store import Clock

log = logging.getLogger("iota_container")

_MESSAGE_BYTES = 1 << 16  # a job or an answer: a version's row, or one error line
_ERROR_CHARACTERS = 4096  # of an internal error's message, when it is longer than that
_READY = b"ready"
_EAGER_PER_CORE = 2
_EXIT_SECONDS = 5.0  # for an idle worker to see its socket closed and exit


class RunProcessError(IotaError):
    """A run in a worker process ended with an internal error (its version is FAILED)."""


@dataclass(frozen=True)
class _Job:
    """The claimed version goes with its job, and the finished one comes back with the
    answer: neither side reads the row the other has just written (two queries a run
    each, on the scheduler's side under one interpreter lock for a thousand runs).

    Pickled on this private socket pair (the same one the home and clock come over). The
    worker runs this module as __main__, where pickle would look for these classes, so
    only records' classes and tuples cross it."""

    version: Version

    def encode(self) -> bytes:
        return pickle.dumps(self.version)

    @classmethod
    def decode(cls, message: bytes) -> _Job:
        return cls(pickle.loads(message))


@dataclass(frozen=True)
class _Answer:
    """The finished version; or, when none is, why (an internal error, or the version
    ended before its run began: `withdrawn`); or `read_back`: it is finished, and too
    large for one message (a long reason, many delivery outcomes), so read it."""

    version: Version | None = None
    error: str | None = None
    withdrawn: bool = False
    read_back: bool = False

    def encode(self) -> bytes:
        message = pickle.dumps((self.version, self.error, self.withdrawn, self.read_back))
        if len(message) <= _MESSAGE_BYTES:
            return message
        # A message is one SEQPACKET datagram, cut at the reader's buffer: never larger.
        error = self.error[:_ERROR_CHARACTERS] if self.error else None
        return pickle.dumps((None, error, self.withdrawn, self.version is not None))

    @classmethod
    def decode(cls, message: bytes) -> _Answer:
        return cls(*pickle.loads(message))


class _Worker:
    """One worker process and the scheduler's end of its socket."""

    def __init__(self, home: Home, clock: Clock) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", __name__, str(theirs.fileno())]
        try:
            self.process = subprocess.Popen(
                command, pass_fds=[theirs.fileno()], start_new_session=True
            )
        finally:
            theirs.close()
        self.socket = ours
        ours.sendall(pickle.dumps((home, clock)))

    def wait_ready(self) -> bool:
        """Wait for its imports and store (a run sent earlier would wait for them after
        its claim: a stop then would withdraw a run that looks started)."""
        try:
            return self.socket.recv(_MESSAGE_BYTES) == _READY
        except OSError:
            return False

    def run(self, job: _Job, lock_descriptor: int) -> _Answer | None:
        """The worker's answer, or None when it died first."""
        try:
            socket.send_fds(self.socket, [job.encode()], [lock_descriptor])
            message = self.socket.recv(_MESSAGE_BYTES)
        except OSError:  # EPIPE, ECONNRESET: it is gone
            return None
        return _Answer.decode(message) if message else None

    def ending(self) -> str:
        """How the process ended, once its socket says it is gone."""
        self.socket.close()
        code = self.process.wait()
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def close(self) -> None:
        self.socket.close()  # it reads the end of its socket and exits
        with contextlib.suppress(subprocess.TimeoutExpired):  # busy in an abandoned run
            self.process.wait(_EXIT_SECONDS)


class RunProcesses:
    """Worker processes for claimed SQL runs, one per scheduler worker thread at most."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def start(self, size: int) -> None:
        """Start workers now, before the first window, rather than at its runs: `size`,
        up to two a core (each is an interpreter of its own; more start when as many
        runs are under way at once, `--workers 1024` says how many at most)."""
        count = min(size, _EAGER_PER_CORE * (os.cpu_count() or 1))
        workers = [_Worker(self.store.home, self.store.clock) for _ in range(count)]
        ready = [worker for worker in workers if worker.wait_ready()]
        with self._lock:
            self._idle += ready

    def run(self, claimed: ClaimedRun) -> Version:
        """Run a claimed version in a worker process and return it finished; the
        caller still holds (and then releases) the dataset's lock."""
        version = claimed.version
        job = _Job(version)
        for attempt in range(2):
            worker = self._take()
            answer = worker.run(job, claimed.lock.fileno())
            if answer is not None:
                self._give_back(worker)
                return self._finished(version, answer)
            ending = worker.ending()
            # A worker that died idle (the OOM killer, say) never began this run: one
            # more worker runs it. One that died after the run's start fails it.
            if attempt or self.store.version(version.dataset, version.id).started_at:
                break
            log.warning("a worker process %s before its run began; starting another", ending)
        return self._died(claimed, ending)

    def close(self) -> None:
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for worker in idle:
            worker.close()

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        worker = _Worker(self.store.home, self.store.clock)
        worker.wait_ready()  # if it died starting, the run finds out
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.close()

    def _finished(self, version: Version, answer: _Answer) -> Version:
        if answer.withdrawn:
            raise RunWithdrawn(version)
        if answer.read_back:
            return self.store.version(version.dataset, version.id)
        if answer.version is None:
            raise RunProcessError(f"dataset {version.dataset} version {version.id}: {answer.error}")
        return answer.version

    def _died(self, claimed: ClaimedRun, how: str) -> Version:
        """The version of a run whose worker died, FAILED (unless it had ended first)."""
        version = claimed.version
        log.error("dataset %s version %s: its worker process %s", version.dataset, version.id, how)
        folder = self.store.home.version_dir(version.dataset, version.id)
        remove_partial_files(folder, keep=folder / LOG_NAME)
        reason = f"{INTERRUPTED}: its worker process {how}"
        return self.store.finish_version(version, FAILED, reason=reason)


# -- the worker process ----------------------------------------------------------------


def serve(connection: socket.socket) -> None:
    """Run the jobs the scheduler sends until it closes the socket."""
    home, clock = pickle.loads(connection.recv(_MESSAGE_BYTES))
    with StateStore(home, clock=clock) as store:
        engine = DatasetEngine(store)
        # Every definition parsed once now (records.py keeps them), not one at each first
        # run: a thousand runs due at the first minute would each parse one.
        store.datasets()
        connection.sendall(_READY)
        while True:
            message, descriptors, _, _ = socket.recv_fds(connection, _MESSAGE_BYTES, 1)
            if not message:
                return
            answer = _run_job(engine, store, _Job.decode(message), descriptors[0])
            try:
                connection.sendall(answer.encode())
            except OSError:  # the scheduler is gone; the run is recorded all the same
                return


def _run_job(engine: DatasetEngine, store: StateStore, job: _Job, lock_descriptor: int) -> _Answer:
    lock = HeldLock(lock_descriptor, shared=True)  # closed by run_claimed, never unlocked
    try:
        # The version as claimed: whether it is still CREATING (a stopping scheduler may
        # have given it up since) is checked by the write of its start (RunWithdrawn).
        claimed = ClaimedRun(store.dataset(job.version.dataset), job.version, lock)
    except BaseException:
        lock.release()
        raise
    try:
        return _Answer(engine.run_claimed(claimed))
    except RunWithdrawn:
        return _Answer(withdrawn=True)
    except Exception as e:  # run_claimed ended the version FAILED with it
        return _Answer(error=f"internal error: {type(e).__name__}: {e}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    with socket.socket(fileno=int(sys.argv[1])) as connection:
        serve(connection)


if __name__ == "__main__":
    main()
