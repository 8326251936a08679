"""Read, execute and export a notebook: one kernel, cells in order, then an HTML report."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from iota_container.errors import KernelError, NotebookError
from iota_container.limits import NOTEBOOK_LIMITS, loads_json, read_bytes_limited
from iota_container.notebook.document import check_notebook_structure
from iota_container.notebook.kernel import KernelSession
from iota_container.steps import format_duration
from iota_container.uri_grammar import import_without_uri_grammar

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


def load_notebook_document(path: Path, origin: str) -> dict[str, Any]:
    """The notebook's JSON, within the size and depth limits of any document read from
    outside, and checked for the shape of a notebook (notebook/document.py), without
    importing nbformat (a fifth of a second): enough to pick and start the kernel early."""
    where = f"{str(path)!r} (from {origin})"
    try:
        data = read_bytes_limited(path, NOTEBOOK_LIMITS, "notebook")
    except FileNotFoundError:
        raise NotebookError(f"notebook {where} does not exist: fix the path") from None
    except OSError as e:
        raise NotebookError(
            f"notebook {where} cannot be read ({e.strerror or type(e).__name__}): "
            "give a readable .ipynb file"
        ) from e
    try:
        document = loads_json(data.decode("utf-8"), NOTEBOOK_LIMITS, "notebook", str(path))
    except UnicodeDecodeError as e:
        raise NotebookError(
            f"notebook {where} is not UTF-8 text ({e.reason} at byte {e.start}): "
            "give an .ipynb file saved by Jupyter"
        ) from e
    except ValueError as e:
        raise NotebookError(
            f"{where} is not a Jupyter notebook (not JSON: {e}): "
            "give an .ipynb file saved by Jupyter"
        ) from e
    check_notebook_structure(document, where)
    return cast(dict[str, Any], document)


def import_nbformat() -> ModuleType:
    """nbformat, imported without the URI grammar its validator's jsonschema would load.
    Every import of nbformat (or nbclient, nbconvert) on the run's path goes through here
    first."""
    return import_without_uri_grammar("nbformat")


def as_notebook_node(document: dict[str, Any], path: Path, origin: str) -> Any:
    nbformat = import_nbformat()
    from nbformat.reader import get_version

    try:
        # What nbformat.reads does after parsing: multi-line sources become strings.
        major, minor = get_version(document)
        notebook = nbformat.versions[major].to_notebook_json(document, minor=minor)
        if notebook.nbformat != 4:
            notebook = nbformat.convert(notebook, 4)
    except Exception as e:  # nbformat raises many kinds for "not a notebook"
        raise NotebookError(
            f"{str(path)!r} (from {origin}) is not a notebook nbformat can read "
            f"({type(e).__name__}): save it again with Jupyter"
        ) from e
    return notebook


def warm_html_exporter() -> threading.Thread:
    """Import nbconvert and render a one-cell notebook while the kernel boots: the first
    export compiles templates and highlighting rules (most of a second), and the main
    thread spends that time waiting on the kernel process anyway."""

    def warm() -> None:
        nbformat = import_nbformat()

        try:
            export_html(
                nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), Path.cwd()
            )
        except Exception:  # a warm-up failure shows again, with its message, in the real export
            log.debug("warming the HTML exporter failed", exc_info=True)

    thread = threading.Thread(target=warm, name="warm-nbconvert", daemon=True)
    thread.start()
    return thread


def execute_notebook(
    notebook: Any, session: KernelSession, cell_timeout: float | None = None
) -> CellFailure | None:
    """Run every code cell in place on a started kernel; None when all succeed, else the
    failing cell. The caller stops the kernel."""
    import_nbformat()
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    progress = _CellProgress(notebook)
    client = NotebookClient(
        notebook,
        km=session.manager,
        kernel_name=session.kernel_name,
        timeout=cell_timeout,
        startup_timeout=120,
        resources={"metadata": {"path": str(session.cwd)}},
        on_notebook_start=progress.kernel_ready,
        on_cell_execute=progress.cell_started,
        on_cell_executed=progress.cell_done,
    )
    if session.client is not None:  # connected before the run (warm_kernel.connect_client)
        client.kc = session.client
    try:
        client.execute(cleanup_kc=False)
    except CellExecutionError as e:
        return _failure(notebook, progress.current, e.ename, e.evalue)
    except CellTimeoutError as e:
        return _failure(notebook, progress.current, "CellTimeoutError", str(e).splitlines()[0])
    except DeadKernelError as e:
        return _failure(
            notebook,
            progress.current,
            "DeadKernelError",
            f"the kernel process died ({e}): out of memory, or killed",
        )
    except RuntimeError as e:
        # jupyter_client raises a bare RuntimeError when the kernel does not come up.
        raise KernelError(
            f"kernel {session.kernel_name!r} did not start ({e}): check its installation"
        ) from e
    finally:
        session.client = client.kc
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

    def kernel_ready(self, **_: Any) -> None:
        log.info("kernel ready after %s", format_duration(time.perf_counter() - self.started_at))

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
    import_nbformat()
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(embed_images=True)
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"path": str(notebook_dir)}}
    )
    return str(body)
