"""`run` and `params`: the container side of the contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from iota_container.cli.common import IotaGroup, Seconds, exit_now, json_option, print_json


@click.command(short_help="Run the analysis a params file describes; upload its outputs.")
@click.argument("words", nargs=-1, metavar="[train]")
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
    "--cell-timeout", type=Seconds(), help="Fail a cell that runs longer than this many seconds."
)
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    words: tuple[str, ...],
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

    `run train` is how SageMaker starts a training container (IMAGE train): the same
    run, and on failure its reason in /opt/ml/output/failure, the job's FailureReason.
    """
    from iota_container.runtime import (
        RunOptions,
        record_failure_reason,
        run_analysis,
        started_as_training,
    )

    ctx.meta["json_output"] = json_output
    ctx.meta["fast_exit"] = True
    training = False
    try:
        training = started_as_training(words)
        result = run_analysis(
            RunOptions(
                params_path=params_file,
                notebook=notebook,
                kernel=kernel,
                work_dir=work_dir,
                cell_timeout=cell_timeout,
            )
        )
    except Exception as e:
        record_failure_reason(e, training)
        raise
    if json_output:
        print_json(result.to_json())
    else:
        click.echo(f"succeeded: report at {result.outputs['html']}")
    exit_now(0)


@click.group(cls=IotaGroup)
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


@params.command("init", short_help="Write a template params file (default params.json).")
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
        print_json(document)
        return
    written = write_params(document, file, overwrite=force)
    click.echo(f"wrote {written}", err=True)


@params.command("validate", short_help="Check that a params file follows the contract.")
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
        print_json(summary)
    else:
        listed = ", ".join(names) or "none"
        click.echo(f"{file}: valid; variables: {listed}; outputs: {', '.join(loaded.output_uris)}")
