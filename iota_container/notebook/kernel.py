"""Which kernel runs a notebook, and its lifetime: started early, stopped off the main path.

The kernel process takes about a second to boot. Starting it as soon as the notebook is
known lets the runtime check its outputs and warm the HTML exporter meanwhile; stopping
it in the background lets the report be exported and uploaded meanwhile.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iota_container.errors import KernelError
from iota_container.notebook.document import kernel_name, notebook_language

log = logging.getLogger("iota_container")


def choose_kernel(requested: str | None, notebook: Mapping[str, Any]) -> str:
    """The kernel asked for (`--kernel`, `KERNEL_NAME`), else the notebook's own when it
    is installed, else an installed one that speaks the notebook's language. A notebook
    in a language no installed kernel speaks (an R notebook where only Python is
    installed), or naming a missing kernel without saying its language, is refused: run
    on another language's kernel, its cells would fail one by one, or worse, not fail."""
    own = kernel_name(notebook)
    manager = _kernel_specs(requested or own)
    installed: list[str] = sorted(manager.find_kernel_specs())
    if requested:
        if requested not in installed:
            names = ", ".join(installed) or "none"
            raise KernelError(
                f"kernel {requested!r} is not installed (installed: {names}): pick one of those, "
                "or install it (python -m ipykernel install --user --name NAME)"
            )
        return requested
    if not installed:
        raise KernelError("no Jupyter kernel is installed: run python -m ipykernel install --user")
    if own in installed:
        return str(own)
    language = notebook_language(notebook)
    if language is None:
        if own:
            raise KernelError(
                f"the notebook's kernel {own!r} is not installed here (installed: "
                f"{', '.join(installed)}) and the notebook does not say its language: "
                f"install it, or choose a kernel with {_CHOOSE}"
            )
        return installed[0]
    speaking = [name for name in installed if _language_of(manager, name) == language.lower()]
    if not speaking:
        raise KernelError(
            f"the notebook is in {language} (kernel {own!r}) and no installed kernel speaks "
            f"it (installed: {', '.join(installed)}): install a {language} kernel, or choose "
            f"one with {_CHOOSE}"
        )
    if own:
        log.warning("notebook kernel %r is not installed here; using %r", own, speaking[0])
    return speaking[0]


_CHOOSE = "--kernel (KERNEL_NAME in a container)"


def _language_of(manager: Any, name: str) -> str:
    return str(manager.get_kernel_spec(name).language or "").lower()


def _kernel_specs(wanted: str | None) -> Any:
    """A kernel spec manager. When the kernel wanted is installed as a spec, one that
    imports no IPython: its defaults import all of IPython (a third of a second) just to
    find ~/.ipython/kernels and the native kernel, and the kernel process imports it anyway."""
    from jupyter_client.kernelspec import KernelSpecManager

    quick = _spec_manager_without_ipython()
    if wanted and wanted in quick.find_kernel_specs():
        return quick
    return KernelSpecManager()


@functools.lru_cache(maxsize=1)
def _spec_manager_without_ipython() -> Any:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.expanduser("~/.ipython")
    return KernelSpecManager(
        ensure_native_kernel=False,
        kernel_dirs=[*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")],
    )


class KernelSession:
    """One kernel process for one run, talking over unix sockets in a private folder (no
    other local user can reach it, and ipykernel has no plain-TCP warning to print)."""

    def __init__(self, kernel_name: str, cwd: Path) -> None:
        # The async manager, as nbclient makes for itself: with the blocking one, nbclient's
        # liveness check never sees a kernel die, and a run whose kernel is killed hangs.
        from jupyter_client.manager import AsyncKernelManager

        self.kernel_name = kernel_name
        self.cwd = cwd
        self.client: Any = None  # set by whoever talks to the kernel
        self._sockets = Path(tempfile.mkdtemp(prefix="iota-kernel-"))
        self.manager = AsyncKernelManager(
            kernel_name=kernel_name,
            transport="ipc",
            ip=str(self._sockets / "kernel"),
            kernel_spec_manager=_kernel_specs(kernel_name),
        )

    def start(self) -> KernelSession:
        """Launch the kernel process; returns before the kernel is ready."""
        try:
            from jupyter_core.utils import run_sync

            run_sync(self.manager.start_kernel)(cwd=str(self.cwd))
        except Exception as e:
            self.stop()
            raise KernelError(
                f"kernel {self.kernel_name!r} did not start ({type(e).__name__}: {e}): "
                "check its installation"
            ) from e
        return self

    def stop(self, now: bool = False) -> None:
        """Shut the kernel down: politely (its atexit handlers run), or at once."""
        try:
            if self.client is not None:
                self.client.stop_channels()
            if self.manager.has_kernel:
                from jupyter_core.utils import run_sync

                run_sync(self.manager.shutdown_kernel)(now=now)
        finally:
            shutil.rmtree(self._sockets, ignore_errors=True)

    def stop_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.stop, name="stop-kernel")
        thread.start()
        return thread
