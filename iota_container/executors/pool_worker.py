"""`python -m iota_container.executors.pool_worker`: one pre-started process of the pool.

The pool (process_pool.py) starts it ahead of need, with the run environment already
reduced to `process_environment()`. It imports what a run needs, starts a kernel, says
`ready` on stdout, then waits for one run on stdin (a JSON line), runs it exactly as
`iota-container run --params P --notebook N` does (the same click command, in this
process, its output in the run's log), and exits with that command's exit code. One run
a process: nothing of one run (modules, globals, a kernel) can reach the next, and a
crash takes down this process only. End of stdin before a run: stop the kernel, exit 0.

One line on stdout before the run, `{"ready": true, "pid": ..., "kernel": "python3",
"kernelPid": ...}`,
then nothing (stdout is the run's log from the handover on).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

READY = "ready"


def prepare(kernel_name: str) -> int | None:
    """The imports of a run, and its kernel started, before any run is known."""
    from iota_container.notebook.execute import warm_html_exporter
    from iota_container.notebook.kernel import KernelSession
    from iota_container.notebook.warm_kernel import offer_started_kernel

    # The first HTML export fills the caches of nbconvert, its templates and pygments
    # (most of a second): done here, the run's own warm-up and export find them filled.
    warm_html_exporter().join()
    import nbclient  # noqa: F401

    import iota_container.cli.run_commands
    import iota_container.notebook.inject
    import iota_container.runtime  # noqa: F401

    # A folder of its own, inside the pool's (this process's working folder): the run
    # moves the kernel to the notebook's folder at handover.
    idle_folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=Path.cwd()))
    session = KernelSession(kernel_name, idle_folder).start()
    offer_started_kernel(session)
    pid = getattr(session.manager.provisioner, "pid", None)
    return pid if isinstance(pid, int) else None


def run_job(job: dict[str, Any]) -> None:
    """Run one job as `iota-container run`; does not return (the command exits)."""
    from iota_container.cli import main

    log_fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    os.chdir(job["cwd"])
    waited = time.time() - float(job["handedAt"])
    print(f"iota-container: pool worker {os.getpid()}: run handed over {waited:.3f} s ago")
    arguments = ["run", "--params", job["params"], "--notebook", job["notebook"]]
    main(arguments, prog_name="iota-container")  # exits with the run's code


def main() -> int:
    kernel_name = sys.argv[1] if len(sys.argv) > 1 else "python3"
    kernel_pid = prepare(kernel_name)
    ready = {READY: True, "pid": os.getpid(), "kernel": kernel_name, "kernelPid": kernel_pid}
    print(json.dumps(ready), flush=True)
    line = sys.stdin.readline()
    if not line.strip():  # the pool closed: nothing to run
        from iota_container.notebook.warm_kernel import discard_started_kernel

        discard_started_kernel()
        return 0
    run_job(json.loads(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
