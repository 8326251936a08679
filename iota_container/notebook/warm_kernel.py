"""A kernel started before its run is known, handed to that run once.

A pool worker (executors/pool_worker.py) starts a kernel while it waits for a run, so a
run handed over at its due time finds the kernel booted. The kernel is never used by
more than one run: `take_started_kernel` gives it away once, and the worker exits after
that run. What the kernel could not know when it started is set in it before the first
cell, by one silent request that binds no name in the notebook's namespace and counts
no execution:
- the working folder: the run's notebook folder (and the `sys.path` entry Python put
  there for the folder the kernel started in, so modules beside the notebook import);
- the environment variables the runtime set for its kernel since (the params path).
A run that asks for another kernel gets a new one, and the warm one is stopped.

The kernel's client is connected and its handshake done before the hand-over too
(`connect_client`): nbclient would otherwise make its own at the start of the run and
wait for the kernel's first answer and a fifth of a second of silence on IOPub, about
0.3 s between the run's due time and its first cell.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iota_container.errors import KernelError

if TYPE_CHECKING:
    from iota_container.notebook.kernel import KernelSession

HANDOVER_TIMEOUT_SECONDS = 120  # the kernel may still be booting on a loaded machine


@dataclass
class _Offered:
    session: KernelSession
    environment: dict[str, str] = field(default_factory=dict)  # os.environ at its start


_offered: _Offered | None = None
_lock = threading.Lock()


def offer_started_kernel(session: KernelSession) -> None:
    """Make `session` (started, never used) the kernel of this process's next run, once
    its client is connected and the kernel has answered (connect_client)."""
    global _offered
    connect_client(session)
    with _lock:
        _offered = _Offered(session, dict(os.environ))


def connect_client(session: KernelSession) -> None:
    """A client of the started kernel, its channels open and the kernel's first answer
    received (nbclient's own handshake), kept as `session.client` for the run: nbclient
    uses a client it is given as it is (execute.py), and the session stops it. The client
    has a session id of its own (a frontend's, not the manager's), so that the requests
    the kernel runs say which client sent them."""
    from jupyter_client.session import Session
    from jupyter_core.utils import run_sync

    signing = session.manager.session
    own = Session(key=signing.key, signature_scheme=signing.signature_scheme)
    client = session.manager.client(session=own)
    client.start_channels()
    session.client = client
    run_sync(client.wait_for_ready)(timeout=HANDOVER_TIMEOUT_SECONDS)
    client.allow_stdin = False  # as nbclient sets on its own clients: a run reads no input


def start_kernel_session(kernel_name: str, cwd: Path) -> KernelSession:
    """The offered kernel when it is `kernel_name`'s (moved to `cwd`), else a new one
    started in `cwd`. Returns before a new kernel is ready."""
    from iota_container.notebook.kernel import KernelSession

    offered = _take()
    if offered is not None and offered.session.kernel_name == kernel_name:
        try:
            _move_into_run(offered, cwd)
        except Exception as e:
            offered.session.stop(now=True)
            raise KernelError(
                f"the kernel {kernel_name!r} started for this run did not take its working "
                f"folder {str(cwd)!r} ({type(e).__name__}: {e}): check the kernel's log above"
            ) from e
        return offered.session
    if offered is not None:
        offered.session.stop_in_background()
    return KernelSession(kernel_name, cwd).start()


def discard_started_kernel() -> None:
    """Stop the offered kernel, if any (its process is about to exit unused)."""
    offered = _take()
    if offered is not None:
        offered.session.stop(now=True)


def _take() -> _Offered | None:
    global _offered
    with _lock:
        offered, _offered = _offered, None
    return offered


def _move_into_run(offered: _Offered, cwd: Path) -> None:
    """The run's folder and environment, set in the kernel by one silent request."""
    from jupyter_core.utils import run_sync

    session = offered.session
    changed = {k: v for k, v in os.environ.items() if offered.environment.get(k) != v}
    # The kernel's sys.path names its first folder as given, or resolved (os.getcwd()).
    started_in = tuple(sorted({str(session.cwd), os.path.realpath(session.cwd)}))
    # __import__, not import: nothing is bound in the namespace the notebook sees.
    code = (
        f"__import__('os').chdir({str(cwd)!r}); "
        f"__import__('sys').path[:] = [{str(cwd)!r} if p in {started_in!r} else p "
        f"for p in __import__('sys').path]; "
        f"__import__('os').environ.update(__import__('json').loads({json.dumps(changed)!r}))"
    )
    reply = run_sync(_reply_to)(session.client, code)  # the run's client (connect_client)
    if reply["content"].get("status") != "ok":
        content = reply["content"]
        raise KernelError(f"{content.get('ename')}: {content.get('evalue')}")
    session.cwd = cwd


async def _reply_to(client: Any, code: str) -> dict[str, Any]:
    request = client.execute(code, silent=True, store_history=False)
    while True:
        reply: dict[str, Any] = await client.get_shell_msg(timeout=HANDOVER_TIMEOUT_SECONDS)
        if reply["parent_header"].get("msg_id") == request:
            return reply
