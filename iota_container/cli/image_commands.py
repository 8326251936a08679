"""`variables`, `build` and `image`: containerize a notebook."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from iota_container.cli.common import (
    IotaGroup,
    ca_bundle_option,
    json_option,
    plain_http_option,
    print_json,
    registry_timeout_option,
)
from iota_container.image.backends import backend_names


@click.command()
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
        print_json({"notebook": notebook, "variables": [v.to_json() for v in found]})
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


@click.command(short_help="Build a notebook into an image, push it, print its digest.")
@click.argument("notebook", type=click.Path(dir_okay=False, readable=False))
@click.option(
    "--repository",
    "-r",
    required=True,
    metavar="REGISTRY/REPO[:TAG]",
    help="Where to push, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/analysis:v1.",
)
@click.option(
    "--variables",
    "variables_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON variables (as `iota-container variables --json` writes) instead of detecting them.",
)
@click.option(
    "--requirements",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A pip requirements file to install instead of the packages detected from the "
    "notebook's imports in its kernel (see `iota-container requirements`).",
)
@click.option(
    "--no-requirements",
    is_flag=True,
    help="Add no packages: the image has only what the base has.",
)
@click.option(
    "--include",
    "includes",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A file or folder beside the notebook to copy into the image too (repeatable); "
    "imported local modules and data files the code names are found by themselves.",
)
@click.option(
    "--python-version",
    metavar="3.N",
    help="The base's Python, for a base without the io.iota-container.environment label "
    "that scripts/build-base-image.sh writes.",
)
@click.option(
    "--platform",
    metavar="linux/amd64|linux/arm64",
    help="The base's platform, with --python-version [default: linux/amd64].",
)
@click.option(
    "--base",
    envvar="IOTA_BASE_IMAGE",
    help="Base image [env IOTA_BASE_IMAGE; default REGISTRY/iota-container/base:VERSION].",
)
@click.option(
    "--backend",
    type=click.Choice(backend_names()),
    help="docker: build with the Docker engine; oci: add one layer in the registry, no engine "
    "[default: docker when an engine answers, else oci].",
)
@click.option("--kernel", help="Kernel the image runs the notebook with [default: the notebook's].")
@click.option("--description", default="", help="Image description (a label).")
@click.option(
    "--no-create-repository",
    is_flag=True,
    help="ECR: fail instead of creating a missing repository.",
)
@click.option(
    "--username",
    envvar="IOTA_REGISTRY_USERNAME",
    help="Registry user [env IOTA_REGISTRY_USERNAME].",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the registry password from stdin (or set IOTA_REGISTRY_PASSWORD); never a flag.",
)
@ca_bundle_option
@plain_http_option
@registry_timeout_option
@json_option
@click.pass_context
def build(
    ctx: click.Context,
    notebook: str,
    repository: str,
    variables_file: Path | None,
    requirements: Path | None,
    no_requirements: bool,
    includes: tuple[Path, ...],
    python_version: str | None,
    platform: str | None,
    base: str | None,
    backend: str | None,
    kernel: str | None,
    description: str,
    no_create_repository: bool,
    username: str | None,
    password_stdin: bool,
    ca_bundle: Path | None,
    plain_http: bool | None,
    registry_timeout: float | None,
    json_output: bool,
) -> None:
    """Build NOTEBOOK into an analysis image and push it; prints the digest-pinned reference.

    The image runs `iota-container run` on the notebook; its labels describe the notebook,
    kernel, variables and packages, so a dataset definition can be written from the image
    alone.

    \b
    Packages: what the notebook imports, at the versions installed in its kernel
    (`iota-container requirements NOTEBOOK` shows them), installed as their own layer;
    --requirements FILE instead, --no-requirements for none. With --backend oci the wheels
    are fetched and installed for the base's platform on this machine, no engine needed;
    the layer is cached and shared by every notebook with the same packages. Nothing is
    pushed when an import would not resolve in the image.

    \b
    Registry credentials, first that answers: --username with --password-stdin or
    IOTA_REGISTRY_PASSWORD; for ECR, GetAuthorizationToken with the AWS credentials; the
    Docker config file (~/.docker/config.json, credential helpers). They stay in memory.
    """
    from iota_container.environment.options import PackageOptions
    from iota_container.errors import IotaError
    from iota_container.image.build import BuildOptions, build_image
    from iota_container.image.progress import ConsoleProgress

    ctx.meta["json_output"] = json_output
    if requirements is not None and no_requirements:
        raise IotaError("--requirements and --no-requirements exclude each other: keep one")
    if platform and not python_version:
        raise IotaError("--platform describes a base together with --python-version: add it")
    if password_stdin:
        password: str | None = sys.stdin.read().rstrip("\n")
    else:
        password = os.environ.get("IOTA_REGISTRY_PASSWORD") if username else None
    options = BuildOptions(
        notebook=Path(notebook),
        repository=repository,
        variables_file=variables_file,
        packages=PackageOptions(
            detect=not no_requirements,
            requirements_file=requirements,
            includes=includes,
            python_version=python_version,
            platform=platform,
        ),
        base=base,
        backend=backend,
        kernel=kernel,
        description=description,
        create_repository=not no_create_repository,
        username=username,
        password=password,
        ca_bundle=ca_bundle,
        plain_http=plain_http,
        registry_timeout=registry_timeout,
    )
    with ConsoleProgress() as progress:
        result = build_image(options, progress)
    if json_output:
        print_json(result.to_json())
    else:
        click.echo(result.reference)


@click.group(cls=IotaGroup)
def image() -> None:
    """Look at analysis images."""


@image.command("inspect", short_help="Show an image's notebook, kernel and variables.")
@click.argument("reference")
@ca_bundle_option
@plain_http_option
@registry_timeout_option
@json_option
def image_inspect(
    reference: str,
    ca_bundle: Path | None,
    plain_http: bool | None,
    registry_timeout: float | None,
    json_output: bool,
) -> None:
    """Show what an image built by `iota-container build` says about itself: notebook,
    kernel, variables and the packages it adds to its base (its lock), read from the
    registry (no Docker engine needed)."""
    from iota_container.image.build import inspect_image

    described = inspect_image(
        reference,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        plain_http=plain_http,
        timeout=registry_timeout,
    )
    if json_output:
        print_json(described.to_json())
        return
    metadata = described.metadata
    click.echo(f"image:     {described.reference}")
    click.echo(f"notebook:  {metadata.notebook_path}")
    kernel = metadata.kernel or "(the notebook's own)"
    click.echo(f"kernel:    {kernel}")
    for variable in metadata.variables:
        click.echo(
            f"variable:  {variable.name} ({variable.dataset_type}, default "
            f"{variable.default!r}) {variable.description}".rstrip()
        )
    for pin in metadata.lock.pins if metadata.lock is not None else ():
        modules = f" (imports {', '.join(pin.modules)})" if pin.modules else ""
        click.echo(f"package:   {pin.requirement}{modules}")
