"""The container entrypoint: params → inject → execute → export → upload.

Outputs are written to a local work folder first and uploaded from there, also when a
cell fails: a failed analysis still leaves its executed notebook and HTML report where
the dataset expects them. If an upload fails, the local copies are kept and named.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from iota_container import storage
from iota_container.errors import AnalysisFailed, IotaError, StorageError
from iota_container.notebook.execute import CellFailure
from iota_container.params_file import PARAMS_PATH_ENV, Params, load_params, params_path
from iota_container.steps import StepTimer

log = logging.getLogger("iota_container")

NOTEBOOK_PATH_ENV = "NOTEBOOK_PATH"


@dataclass(frozen=True)
class RunOptions:
    params_path: str | None = None
    notebook: str | None = None
    kernel: str | None = None
    work_dir: str | None = None
    cell_timeout: float | None = None


@dataclass
class RunResult:
    status: str
    notebook: str
    kernel: str
    outputs: dict[str, str]
    unassigned_variables: list[str]
    durations: dict[str, float]
    failure: dict[str, Any] | None = None
    local_copies: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def resolve_notebook_path(params: Params, cli_notebook: str | None) -> tuple[Path, str]:
    """Where the analysis is, and which setting said so."""
    if params.analysis:
        return Path(params.analysis), "Context.Analysis"
    if os.environ.get(NOTEBOOK_PATH_ENV):
        return Path(os.environ[NOTEBOOK_PATH_ENV]), NOTEBOOK_PATH_ENV
    if cli_notebook:
        return Path(cli_notebook), "--notebook"
    raise IotaError(
        f"no notebook to run: {params.source} has no Context.Analysis, {NOTEBOOK_PATH_ENV} is "
        "not set and no --notebook was given; set one of them"
    )


def run_analysis(options: RunOptions) -> RunResult:
    """Run one container dataset analysis. Raises IotaError for bad input, AnalysisFailed
    (after uploading) when a cell fails.

    The kernel boots (about a second) while the outputs are checked and the HTML exporter
    warms up, and it shuts down while the report is exported and uploaded; no cell runs
    before every check has passed.
    """
    from iota_container.notebook.execute import (
        as_notebook_node,
        execute_notebook,
        export_html,
        load_notebook_document,
        warm_html_exporter,
    )
    from iota_container.notebook.inject import inject_variables
    from iota_container.notebook.kernel import KernelSession, choose_kernel

    timer = StepTimer()
    with timer.step("read params") as info:
        params = load_params(options.params_path)
        info["detail"] = f"{len(params.variables)} variables from {params.source}"
    notebook_path, origin = resolve_notebook_path(params, options.notebook)
    notebook_dir = notebook_path.resolve().parent
    with timer.step("read notebook") as info:
        document = load_notebook_document(notebook_path, origin)
        info["detail"] = str(notebook_path)
    with timer.step("start kernel") as info:
        kernel = choose_kernel(options.kernel, document)
        info["detail"] = kernel
        # The kernel is a child process: it finds the same params file through the environment.
        os.environ[PARAMS_PATH_ENV] = str(params_path(options.params_path).resolve())
        session = KernelSession(kernel, notebook_dir).start()
    warming = warm_html_exporter()
    try:
        with timer.step("inject variables") as info:
            notebook = as_notebook_node(document, notebook_path, origin)
            report = inject_variables(notebook, params.variables)
            info["detail"] = f"{report.mode}: {len(report.assigned)} set"
        if report.unassigned:
            log.warning(
                "the notebook never assigns %s; still readable with iota.params()",
                ", ".join(report.unassigned),
            )
        with timer.step("check outputs") as info:
            storage.check_writable(params.output_uris.values())
            info["detail"] = ", ".join(sorted(params.output_uris))
        with timer.step("execute") as info:
            info["detail"] = f"kernel {kernel}"
            failure = execute_notebook(notebook, session, options.cell_timeout)
    except BaseException:
        session.stop(now=True)  # nothing is left to save: no graceful wait
        raise
    stopping = session.stop_in_background()
    if failure:
        log.error("%s", failure.describe())
    warming.join()
    with timer.step("export html"):
        html = export_html(notebook, notebook_dir)
    result = RunResult(
        status="FAILED" if failure else "SUCCEEDED",
        notebook=str(notebook_path),
        kernel=kernel,
        outputs={key: params.output_uris[key] for key in ("ipynb", "html")},
        unassigned_variables=report.unassigned,
        durations=timer.durations,
        failure=_failure_json(failure),
    )
    try:
        _store_outputs(notebook, html, params, options.work_dir, timer, result)
    finally:
        stopping.join()
    if failure:
        raise AnalysisFailed(f"{failure.describe()}; outputs uploaded").with_result(result)
    return result


def _failure_json(failure: CellFailure | None) -> dict[str, Any] | None:
    return asdict(failure) if failure else None


def _store_outputs(
    notebook: Any,
    html: str,
    params: Params,
    work_dir: str | None,
    timer: StepTimer,
    result: RunResult,
) -> None:
    import nbformat

    folder = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="iota-run-"))
    folder.mkdir(parents=True, exist_ok=True)
    copies = {"ipynb": folder / "output.ipynb", "html": folder / "output.html"}
    nbformat.write(notebook, str(copies["ipynb"]))
    copies["html"].write_text(html, encoding="utf-8")
    try:
        for key, path in copies.items():
            with timer.step(f"upload {key}") as info:
                info["detail"] = params.output_uris[key]
                storage.put(path, params.output_uris[key])
    except StorageError as e:
        result.local_copies = {key: str(path) for key, path in copies.items()}
        raise StorageError(
            f"{e} (the executed notebook and report are kept in {folder})"
        ).with_result(result) from e
    if work_dir:
        result.local_copies = {key: str(path) for key, path in copies.items()}
    else:
        shutil.rmtree(folder, ignore_errors=True)
