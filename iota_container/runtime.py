"""The container entrypoint: params → inject → execute → export → upload.

Every output is checked before any cell runs (check_outputs; the file:// rules are in
storage/local.py). The executed notebook and the HTML report are uploaded from memory,
also when a cell fails: a failed analysis still leaves them where the dataset expects
them, and a full TMPDIR cannot stop them. Copies go to --work-dir when one is given;
if an upload fails, copies are kept (in the work folder, else a temporary one) and named.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from iota_container import storage
from iota_container.atomic import write_bytes_atomically
from iota_container.errors import AnalysisFailed, IotaError, StorageError
from iota_container.notebook.execute import CellFailure
from iota_container.params_file import PARAMS_PATH_ENV, Params, load_params, params_path
from iota_container.steps import StepTimer
from iota_container.storage.uri import parse_output_uri

log = logging.getLogger("iota_container")

NOTEBOOK_PATH_ENV = "NOTEBOOK_PATH"
COPY_NAMES = {"ipynb": "output.ipynb", "html": "output.html"}


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
    from iota_container.notebook.kernel import choose_kernel
    from iota_container.notebook.warm_kernel import start_kernel_session

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
        # A pool worker's kernel, started before the run was handed over, when it fits.
        session = start_kernel_session(kernel, notebook_dir)
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
            check_outputs(params, notebook_path, options)
            info["detail"] = ", ".join(sorted(params.output_uris))
        with timer.step("execute") as info:
            info["detail"] = f"kernel {kernel}"
            failure = execute_notebook(notebook, session, options.cell_timeout)
    except BaseException:
        session.stop(now=True)  # nothing is left to save: no graceful wait
        storage.close_stores()
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
        storage.close_stores()  # the uploads' threads and connections
        stopping.join()
    if failure:
        raise AnalysisFailed(f"{failure.describe()}; outputs uploaded").with_result(result)
    return result


def check_outputs(params: Params, notebook_path: Path, options: RunOptions) -> None:
    """Every output checked before any cell runs (see storage.local for the file:// rules):
    none at the place of another or of the run's own inputs, and the work folder usable."""
    from iota_container.storage.local import check_folder_writable, resolved_place

    inputs = {
        "the notebook being run": notebook_path,
        "the params file": params_path(options.params_path),
    }
    for key, uri in params.output_uris.items():
        path = parse_output_uri(uri).path
        for what, input_path in inputs.items():
            if path is not None and resolved_place(path) == resolved_place(input_path.absolute()):
                raise StorageError(
                    f"Context.OutputUris.{key} {uri!r} is {what}, which the run would "
                    "overwrite: choose another output file"
                )
    storage.check_writable(params.output_uris.values())
    if options.work_dir:
        check_folder_writable(Path(options.work_dir), f"--work-dir {options.work_dir!r}")


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
    """Upload the executed notebook and the report from memory, so that a full TMPDIR
    cannot stop them; local copies go to the work folder when one was asked for, and to
    a temporary one when an upload failed, so that the run's work is not lost."""
    payloads = _output_payloads(notebook, html)
    try:
        for key, payload in payloads.items():
            with timer.step(f"upload {key}") as info:
                info["detail"] = params.output_uris[key]
                storage.put(payload, params.output_uris[key])
    except StorageError as e:
        kept = _keep_after_failed_upload(payloads, work_dir, result)
        raise StorageError(f"{e} ({kept})").with_result(result) from e
    if work_dir:
        try:
            result.local_copies = _write_copies(payloads, Path(work_dir))
        except OSError as e:
            raise StorageError(
                f"the outputs were uploaded, but their copies cannot be kept in "
                f"{work_dir!r} ({e.strerror or e}): free some space there, or choose another "
                "--work-dir"
            ).with_result(result) from e


def _output_payloads(notebook: Any, html: str) -> dict[str, bytes]:
    import nbformat

    text = nbformat.writes(notebook)
    # What nbformat.write puts in a file: the document and one final newline.
    return {
        "ipynb": (text if text.endswith("\n") else text + "\n").encode("utf-8"),
        "html": html.encode("utf-8"),
    }


def _write_copies(payloads: dict[str, bytes], folder: Path) -> dict[str, str]:
    """Each payload written whole into `folder` (a failed one leaves no partial file)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = {}
    for key, payload in payloads.items():
        copies[key] = str(write_bytes_atomically(folder / COPY_NAMES[key], payload))
    return copies


def _keep_after_failed_upload(
    payloads: dict[str, bytes], work_dir: str | None, result: RunResult
) -> str:
    """Where the outputs were kept after a failed upload, as words for the error."""
    folder: Path | str = work_dir or "a temporary folder"
    try:
        folder = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="iota-run-"))
        result.local_copies = _write_copies(payloads, folder)
    except OSError as e:
        return f"and they cannot be kept in {str(folder)!r} either: {e.strerror or e}"
    return f"the executed notebook and report are kept in {folder}"


# SageMaker starts a training container as `IMAGE train`: with the base image's entrypoint
# that is `iota-container run train`. Its layout is /opt/ml (the params file is the
# channel `iotanalytics`, at the default params path); /opt/ml/output/failure is what
# SageMaker shows as the training job's FailureReason.
TRAINING_WORD = "train"
SAGEMAKER_CONFIG_DIR = Path("/opt/ml/input/config")
SAGEMAKER_OUTPUT_DIR = Path("/opt/ml/output")
FAILURE_REASON_LIMIT = 1000  # SageMaker keeps the first 1024 characters of the file


def started_as_training(words: tuple[str, ...]) -> bool:
    """True for `run train` (SageMaker's start), False for `run`; IotaError otherwise."""
    if words == (TRAINING_WORD,):
        _log_training_job()
        return True
    if not words:
        return False
    raise IotaError(
        f"`iota-container run` takes no words but {TRAINING_WORD!r} (how SageMaker starts a "
        f"training container), not {' '.join(words)!r}: give options (--params, "
        "--notebook) instead"
    )


def record_failure_reason(error: BaseException, training: bool) -> None:
    """The one-line reason of a failed run in /opt/ml/output/failure, when SageMaker
    started it (or its layout is there); never raises, the run's own error goes on."""
    if not (training or SAGEMAKER_OUTPUT_DIR.is_dir()):
        return
    if isinstance(error, IotaError):
        reason = str(error)
    else:
        reason = f"internal error: {type(error).__name__}: {error}"
    from iota_container.text import one_line

    reason = one_line(reason, FAILURE_REASON_LIMIT)
    try:
        SAGEMAKER_OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        (SAGEMAKER_OUTPUT_DIR / "failure").write_text(reason + "\n", encoding="utf-8")
    except OSError as e:
        log.warning("cannot write %s/failure: %s", SAGEMAKER_OUTPUT_DIR, e.strerror or e)


def _log_training_job() -> None:
    """The training job and host this container runs as, when SageMaker says."""
    import json

    host = ""
    try:
        config = json.loads((SAGEMAKER_CONFIG_DIR / "resourceconfig.json").read_text()[:65536])
        host = str(config.get("current_host", "")) if isinstance(config, dict) else ""
    except (OSError, ValueError):
        pass
    job = os.environ.get("TRAINING_JOB_NAME", "")
    log.info("started by SageMaker: training job %s, host %s", job or "?", host or "?")
