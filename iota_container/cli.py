"""The `iota-container` command. Thin: parse options, call the SDK, print, map errors.

Every IotaError becomes one line on stderr and its exit code (2 bad input, 1 the
analysis failed); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from iota_container import __version__
from iota_container.errors import IotaError

log = logging.getLogger("iota_container")


class IotaGroup(click.Group):
    """Turns IotaError into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IotaError as e:
            if ctx.find_root().params.get("debug"):
                raise
            if ctx.meta.get("json_output") and e.result is not None:
                _print_json(_result_json(e.result) | {"error": str(e)})
            click.echo(f"error: {e}", err=True)
            if ctx.meta.get("fast_exit"):
                _exit_now(e.exit_code)
            ctx.exit(e.exit_code)


def _exit_now(code: int) -> None:
    """End the process without the interpreter's teardown. After a run, tearing down the
    modules that nbconvert, jupyter_client and boto3 loaded takes about 0.3 s and does
    nothing useful: the kernel is stopped, the outputs are stored, and the streams are
    flushed here."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _result_json(result: Any) -> dict[str, Any]:
    return dict(result.to_json()) if hasattr(result, "to_json") else dict(result)


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("iota-container: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(logging.DEBUG if debug else logging.INFO)


json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print a machine-readable JSON result on stdout."
)


@click.group(cls=IotaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iota-container")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def main(debug: bool) -> None:
    """Run notebooks as AWS IoT Analytics container datasets.

    \b
    Inside a container:   iota-container run
    Locally:              iota-container params init params.json --output-root file:///tmp/out
                          IOTA_PARAMS_PATH=params.json iota-container run --notebook nb.ipynb
    """
    _configure_logging(debug)


@main.command()
@click.option(
    "--params",
    "params_file",
    envvar="IOTA_PARAMS_PATH",
    type=click.Path(dir_okay=False),
    help="Params file [env IOTA_PARAMS_PATH; default /opt/ml/input/data/iotanalytics/params].",
)
@click.option(
    "--notebook",
    type=click.Path(dir_okay=False),
    help="Notebook to run when neither Context.Analysis nor NOTEBOOK_PATH names one.",
)
@click.option(
    "--kernel",
    envvar="KERNEL_NAME",
    help="Kernel name [env KERNEL_NAME; default: the notebook's, else the first installed].",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    help="Keep local copies of the executed notebook and report here.",
)
@click.option(
    "--cell-timeout", type=float, help="Fail a cell that runs longer than this many seconds."
)
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    params_file: str | None,
    notebook: str | None,
    kernel: str | None,
    work_dir: str | None,
    cell_timeout: float | None,
    json_output: bool,
) -> None:
    """Run the analysis a params file describes and upload its outputs.

    Injects the params file's Variables into the notebook, executes it, and uploads the
    executed notebook and an HTML report to Context.OutputUris (ipynb, html), also when
    a cell fails. Exit code 0 when it succeeds, 1 when a cell failed, 2 for bad input.
    """
    from iota_container.runtime import RunOptions, run_analysis

    ctx.meta["json_output"] = json_output
    ctx.meta["fast_exit"] = True
    result = run_analysis(
        RunOptions(
            params_path=params_file,
            notebook=notebook,
            kernel=kernel,
            work_dir=work_dir,
            cell_timeout=cell_timeout,
        )
    )
    if json_output:
        _print_json(result.to_json())
    else:
        click.echo(f"succeeded: report at {result.outputs['html']}")
    _exit_now(0)


@main.command()
@click.argument("notebook", type=click.Path(dir_okay=False, readable=False))
@json_option
def variables(notebook: str, json_output: bool) -> None:
    """List NOTEBOOK's variables without running it.

    From the cell tagged `parameters` when there is one, else from the first plain
    assignment of a literal to each name anywhere in the code: exactly what a run
    rewrites. A trailing comment on the assignment becomes the description.

    \b
    Dataset types: double for int and float; string for str and None; bool, list and
    dict travel as a JSON string (a dataset variable is a string or a double), which the
    runtime decodes back because the notebook's default says the type. HINT suggests
    outputFileUri or datasetContentVersion where the name looks like one.
    """
    from iota_container.notebook.inspect import inspect_notebook_file

    found = inspect_notebook_file(Path(notebook))
    if json_output:
        _print_json({"notebook": notebook, "variables": [v.to_json() for v in found]})
        return
    if not found:
        click.echo(f"{notebook}: no variables (no literal assignments found)")
        return
    rows = [("NAME", "TYPE", "DATASET TYPE", "DEFAULT", "HINT", "DESCRIPTION")]
    for v in found:
        default = _short(repr(v.default))
        rows.append((v.name, v.python_type, v.dataset_type, default, v.hint or "", v.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@main.group(cls=IotaGroup)
def params() -> None:
    """Write and check params files by hand."""


def _parse_var(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE")
        try:
            variables[name] = json.loads(raw)
        except ValueError:
            variables[name] = raw
    return variables


@params.command("init")
@click.argument("file", default="params.json", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--output-root",
    default=None,
    help="s3://BUCKET/PREFIX or file:///DIR for the outputs [default: file://$PWD/iota-output].",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    callback=_parse_var,
    metavar="NAME=VALUE",
    help="A variable; VALUE is read as JSON when it parses (3, true, [1,2]), else as a string.",
)
@click.option("--analysis", help="Notebook path to record as Context.Analysis.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def params_init(
    file: str, output_root: str | None, variables: dict[str, Any], analysis: str | None, force: bool
) -> None:
    """Write a template params file to FILE (default params.json; - for stdout)."""
    from iota_container.params_file import template_params, write_params

    root = output_root or (Path.cwd() / "iota-output").as_uri()
    document = template_params(root, variables, analysis)
    if file == "-":
        _print_json(document)
        return
    written = write_params(document, file, overwrite=force)
    click.echo(f"wrote {written}", err=True)


@params.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, readable=False))
@json_option
def params_validate(file: str, json_output: bool) -> None:
    """Check that FILE follows the params contract; exit 2 with the problem if not."""
    from iota_container.params_file import load_params

    loaded = load_params(file)
    names = sorted(loaded.variables)
    summary = {
        "file": file,
        "valid": True,
        "variables": names,
        "output_uris": dict(loaded.output_uris),
        "analysis": loaded.analysis,
    }
    if json_output:
        _print_json(summary)
    else:
        listed = ", ".join(names) or "none"
        click.echo(f"{file}: valid; variables: {listed}; outputs: {', '.join(loaded.output_uris)}")
