"""One worker of the process pool: forked from the pool's fork server, runs ONE run.

The fork server (process_pool.py) has imported what a run needs (pool_imports.py), so
a worker starts with its imports done. It takes the run environment it is given (the
engine's, without its secrets: `process_environment()`), starts a kernel, says it is
ready on its channel, and waits for one run. It runs it exactly as `iota-container run
--params P --notebook N` does (the same click command, in this process, its output in
the run's log) and exits with that command's exit code. One run a process: nothing of
one run (modules, globals, a kernel) can reach the next, and a crash takes down this
process only. A closed channel before a run: stop the kernel, exit 0.

On the channel: the worker sends `{"ready": True, "pid": ..., "kernelPid": ...,
"clientSession": ...}` once its kernel answers its client; the
pool sends the run (`params`, `notebook`, `log`, `cwd`, `handedAt`), or None to stop it,
and keeps its end open until the run ends (`end_with_the_pool`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def serve(
    channel: Connection, kernel_name: str, environment: Mapping[str, str], folder: str
) -> None:
    """The worker's whole life (multiprocessing's target), in the pool's `folder`."""
    # A session of its own, so the pool can stop it and whatever it starts as a group.
    os.setsid()
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(environment)
    kernel_pid, client_session = start_kernel(kernel_name)
    ready = {"ready": True, "pid": os.getpid(), "kernelPid": kernel_pid}
    channel.send(ready | {"clientSession": client_session})
    try:
        job = channel.recv()
    except (EOFError, OSError):  # the pool closed
        job = None
    if job is None:
        channel.close()
        from iota_container.notebook.warm_kernel import discard_started_kernel

        discard_started_kernel()
        return
    end_with_the_pool(channel, kernel_pid)
    run_job(job)


def end_with_the_pool(channel: Connection, kernel_pid: int | None) -> None:
    """Kill the run (its kernel, then this process) when the pool's process ends: a run
    never outlives the process that answers for it (a scheduler killed, a Ray node's
    agent lost with its node), which has failed its version by then or will; it would
    otherwise write its outputs afterwards, beside a retry's. The pool holds its end of
    the channel open until the run ends: end of file on it means its process is gone.
    (Not PR_SET_PDEATHSIG: this process's parent is the fork server, which outlives the
    pool's process as long as any of its children runs.)"""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            channel.recv()
        for group in (kernel_pid, os.getpid()):
            if group is not None:
                with contextlib.suppress(OSError):
                    os.killpg(group, signal.SIGKILL)

    threading.Thread(target=watch, name="iota-pool-watch", daemon=True).start()


def start_kernel(kernel_name: str) -> tuple[int | None, str]:
    """The run's kernel, started and answering before the run is known: its pid, and the
    session id of the client the run will use."""
    from iota_container.notebook.kernel import KernelSession
    from iota_container.notebook.warm_kernel import offer_started_kernel

    # A folder of its own, inside the pool's (this process's working folder): the run
    # moves the kernel to the notebook's folder at handover.
    idle_folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=Path.cwd()))
    session = KernelSession(kernel_name, idle_folder).start()
    offer_started_kernel(session)  # connected, and its handshake done, now
    pid = getattr(session.manager.provisioner, "pid", None)
    return (pid if isinstance(pid, int) else None), str(session.client.session.session)


def run_job(job: dict[str, Any]) -> None:
    """Run one job as `iota-container run`; does not return (the command exits)."""
    from iota_container.cli import main

    log_fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    os.chdir(job["cwd"])
    waited = time.time() - float(job["handedAt"])
    print(f"iota-container: pool worker {os.getpid()}: run handed over {waited:.3f} s ago")
    arguments = ["run", "--params", job["params"], "--notebook", job["notebook"]]
    main(arguments, prog_name="iota-container")  # exits with the run's code
