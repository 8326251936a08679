"""Exit codes of multiprocessing's fork-server children, read right from many threads.

multiprocessing learns a fork-server child's exit code from a pipe that the fork server
writes once, and Popen.poll() reads it without a lock. When two threads read at once (a
run's thread waiting for its pool worker, and another thread starting a worker, since
Process.start() first polls every child of this process), one of them finds the pipe at
its end and records the exit code as 255 (multiprocessing/popen_forkserver.py): a run
that succeeded ended FAILED, "the analysis exited with code 255". Here every start and
every read of an exit code holds one lock; waiting for the end only watches the pipe,
which reads nothing, so no lock is held while a run goes on.
"""

from __future__ import annotations

import threading
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

_POLLS = threading.Lock()


def start(process: BaseProcess) -> None:
    with _POLLS:
        process.start()


def exit_code(process: BaseProcess, timeout: float | None = None) -> int | None:
    """The started process's exit code once it has ended; None when it still runs after
    `timeout` seconds (None: wait as long as it runs)."""
    wait([process.sentinel], timeout)
    with _POLLS:
        process.join(0)  # reads the code if it has come; forgets the process once ended
        return process.exitcode
