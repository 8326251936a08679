"""Read, execute and export a notebook: one kernel, cells in order, then an HTML report."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iota_container.errors import KernelError, NotebookError
from iota_container.steps import format_duration

log = logging.getLogger("iota_container")


@dataclass(frozen=True)
class CellFailure:
    cell_index: int
    execution_count: int | None
    ename: str
    evalue: str

    def describe(self) -> str:
        prompt = f" (In [{self.execution_count}])" if self.execution_count else ""
        return f"cell {self.cell_index}{prompt} raised {self.ename}: {self.evalue}"


def read_notebook(path: Path, origin: str) -> Any:
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(
            f"notebook {str(path)!r} (from {origin}) does not exist: fix the path"
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise NotebookError(
            f"notebook {str(path)!r} (from {origin}) cannot be read ({type(e).__name__}): "
            "give a readable .ipynb file"
        ) from e
    try:
        notebook = nbformat.reads(text, as_version=4)
        cells = notebook.cells
    except Exception as e:  # nbformat raises many kinds for "not a notebook"
        raise NotebookError(
            f"{str(path)!r} (from {origin}) is not a Jupyter notebook "
            f"({type(e).__name__}): give an .ipynb file saved by Jupyter"
        ) from e
    if not isinstance(cells, list):
        raise NotebookError(f"{str(path)!r} (from {origin}) has no list of cells: not a notebook")
    return notebook


def choose_kernel(requested: str | None, notebook: Any) -> str:
    """The kernel asked for, else the notebook's own when installed, else the first
    installed one that speaks the notebook's language."""
    from jupyter_client.kernelspec import KernelSpecManager

    manager = KernelSpecManager()
    installed = sorted(manager.find_kernel_specs())
    if requested:
        if requested not in installed:
            names = ", ".join(installed) or "none"
            raise KernelError(
                f"kernel {requested!r} is not installed (installed: {names}): "
                "pick one of those, or install it (python -m ipykernel install --user --name NAME)"
            )
        return requested
    if not installed:
        raise KernelError("no Jupyter kernel is installed: run python -m ipykernel install --user")
    spec = notebook.metadata.get("kernelspec", {})
    own = spec.get("name")
    if own in installed:
        return str(own)
    language = spec.get("language") or notebook.metadata.get("language_info", {}).get("name")
    chosen = installed[0]
    if language:
        for name in installed:
            if manager.get_kernel_spec(name).language == language:
                chosen = name
                break
    if own:
        log.warning("notebook kernel %r is not installed here; using %r", own, chosen)
    return chosen


def preload_html_exporter() -> threading.Thread:
    """Import nbconvert while the kernel starts and runs: the import takes most of a second,
    and the main thread spends that time waiting on the kernel anyway."""

    def load() -> None:
        import nbconvert.exporters.html  # noqa: F401

    thread = threading.Thread(target=load, name="preload-nbconvert", daemon=True)
    thread.start()
    return thread


def execute_notebook(
    notebook: Any, kernel_name: str, cwd: Path, cell_timeout: float | None = None
) -> CellFailure | None:
    """Run every code cell in place; None when all succeed, else the failing cell."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    progress = _CellProgress(notebook)
    # Unix sockets in a private folder instead of loopback TCP ports: no other local user
    # can reach the kernel, and ipykernel has nothing to warn about.
    sockets = Path(tempfile.mkdtemp(prefix="iota-kernel-"))
    manager = KernelManager(kernel_name=kernel_name, transport="ipc", ip=str(sockets / "kernel"))
    client = NotebookClient(
        notebook,
        km=manager,
        kernel_name=kernel_name,
        timeout=cell_timeout,
        startup_timeout=120,
        resources={"metadata": {"path": str(cwd)}},
        on_notebook_start=progress.kernel_started,
        on_cell_execute=progress.cell_started,
        on_cell_executed=progress.cell_done,
    )
    try:
        client.execute(cleanup_kc=True)
    except CellExecutionError as e:
        return _failure(notebook, progress.current, e.ename, e.evalue)
    except CellTimeoutError as e:
        return _failure(notebook, progress.current, "CellTimeoutError", str(e).splitlines()[0])
    except DeadKernelError as e:
        return _failure(notebook, progress.current, "DeadKernelError", f"the kernel died ({e})")
    except RuntimeError as e:
        # jupyter_client raises a bare RuntimeError when the kernel does not come up.
        raise KernelError(
            f"kernel {kernel_name!r} did not start ({e}): check its installation"
        ) from e
    finally:
        # cleanup_kc stops the kernel a client was given; this covers a failed start.
        if manager.has_kernel:
            manager.shutdown_kernel()
        shutil.rmtree(sockets, ignore_errors=True)
    return None


def _failure(notebook: Any, cell_index: int, ename: str, evalue: str) -> CellFailure:
    import nbformat

    cell = notebook.cells[cell_index] if 0 <= cell_index < len(notebook.cells) else {}
    failure = CellFailure(cell_index, cell.get("execution_count"), ename, evalue)
    banner = nbformat.v4.new_markdown_cell(
        f"**Execution failed:** {failure.describe()}. The outputs below stop at that cell."
    )
    banner.metadata["tags"] = ["iota-execution-error"]
    notebook.cells.insert(0, banner)
    return failure


class _CellProgress:
    """Logs a line per code cell, so a long run shows where it is."""

    def __init__(self, notebook: Any) -> None:
        self.total = sum(1 for cell in notebook.cells if cell.get("cell_type") == "code")
        self.done = 0
        self.current = -1
        self.started_at = time.perf_counter()

    def kernel_started(self, **_: Any) -> None:
        log.info("kernel started in %s", format_duration(time.perf_counter() - self.started_at))

    def cell_started(self, cell_index: int, **_: Any) -> None:
        self.current = cell_index
        self.started_at = time.perf_counter()

    def cell_done(self, cell_index: int, **_: Any) -> None:
        self.done += 1
        elapsed = format_duration(time.perf_counter() - self.started_at)
        log.info(
            "cell %d ran (%d of %d code cells) in %s", cell_index, self.done, self.total, elapsed
        )


def export_html(notebook: Any, notebook_dir: Path) -> str:
    """A standalone HTML report; plots are embedded, and so are images a markdown cell links."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(embed_images=True)
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"path": str(notebook_dir)}}
    )
    return str(body)
