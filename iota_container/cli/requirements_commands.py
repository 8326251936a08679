"""`requirements`: what a notebook needs in its image, found without running it."""

from __future__ import annotations

from pathlib import Path

import click

from iota_container.cli.common import json_option, print_json


@click.command(short_help="What a notebook imports and which packages provide it.")
@click.argument("notebook", type=click.Path(dir_okay=False, readable=False, path_type=Path))
@click.option("--kernel", help="Kernel whose environment to read (default: the notebook's own).")
@click.option(
    "--include",
    "includes",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A file or folder beside the notebook to put in the image too (repeatable).",
)
@json_option
def requirements(
    notebook: Path, kernel: str | None, includes: tuple[Path, ...], json_output: bool
) -> None:
    """List what NOTEBOOK imports and what provides each module, without running it.

    Every import of every code cell counts (inside functions and branches too; one
    guarded by `except ImportError` is optional), and so do `%pip install` lines. Each
    module is traced in the kernel's own Python to the standard library, a file beside
    the notebook, or an installed distribution, pinned at the version installed there
    with the dependencies it needs. `iota-container build` puts exactly these into the
    image. Exit 2 when a module is provided by nothing, with the fix.
    """
    from iota_container.environment.detect import notebook_requirements
    from iota_container.errors import IotaError

    found = notebook_requirements(notebook, kernel, includes=includes)
    if json_output:
        print_json(found.to_json())
    else:
        _print_report(found)
    if len(found.problems) == 1:
        raise IotaError(found.problems[0])
    if found.problems:
        for problem in found.problems:
            click.echo(f"problem: {problem}", err=True)
        raise IotaError(f"{len(found.problems)} problems (above): an image would not run this")


def _print_report(found: object) -> None:
    from iota_container.environment.detect import Requirements

    assert isinstance(found, Requirements)
    click.echo(f"{found.notebook}: kernel {found.kernel} (Python {found.python_version})")
    rows = [("MODULE", "FROM", "PROVIDED BY")]
    for module in found.modules:
        origin = module.provider + (" (optional)" if module.optional else "")
        by = ", ".join(module.distributions) or module.path or module.fix
        rows.append((module.module, origin, by))
    _table(rows)
    if found.lock.pins or found.lock.unresolved:
        click.echo("\nlocked for the image:")
        for pin in found.lock.pins:
            why = f"  (for {', '.join(pin.required_by)})" if pin.required_by else ""
            click.echo(f"  {pin.requirement}{why}")
        for text in found.lock.unresolved:
            click.echo(f"  {text}  (resolved at build time)")
    if found.local_files:
        click.echo("\nfiles beside the notebook:")
        for file in found.local_files:
            click.echo(f"  {file.relative}  ({file.reason})")
    for note in found.notes:
        click.echo(f"note: {note}")


def _table(rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
