"""The options and helpers the engine's commands share (`dataset`, `datastore`,
`scheduler`): the state folder, the output root, the executor, catch-up, a version."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def open_store(home: str | None, output_root: str | None) -> Any:
    from iota_container.engine.state_store import StateStore

    return StateStore.open(home, output_root)


home_option = click.option(
    "--home",
    envvar="IOTA_HOME",
    type=click.Path(file_okay=False),
    help="State folder [env IOTA_HOME; default ~/.iota-container].",
)
output_root_option = click.option(
    "--output-root",
    envvar="IOTA_OUTPUT_ROOT",
    help="Where versions' outputs go: s3://BUCKET/PREFIX or file:///DIR "
    "[env IOTA_OUTPUT_ROOT; default file://HOME/outputs].",
)


executor_option = click.option(
    "--executor",
    "executor_name",
    help="Where analyses run: local (the Docker engine, else a process), ray, sagemaker, "
    "or an executor a package registers [env IOTA_EXECUTOR; default local].",
)
ray_address_option = click.option(
    "--ray-address",
    help="With --executor ray: the cluster's head node, HOST:PORT [env RAY_ADDRESS].",
)


def chosen_executor(name: str | None, ray_address: str | None) -> Any:
    """The executor of --executor (IOTA_EXECUTOR, local), with --ray-address given to it
    as Ray's own RAY_ADDRESS (an executor is made with no arguments); None for local,
    which the engine makes on first use (a SQL dataset's run needs no executor)."""
    from iota_container.executors import LOCAL, executor_for, executor_name

    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address
    chosen = executor_name(name)
    return None if chosen == LOCAL else executor_for(chosen)


def catch_up_option(missed: str) -> Callable[[F], F]:
    """--catch-up/--latest-only, for what was missed `missed` (while paused, ...)."""
    return click.option(
        "--catch-up/--latest-only",
        "catch_up",
        default=True,
        show_default=True,
        help=f"Triggers missed {missed}: run them all, oldest first, or only the newest of "
        "each kind (the others are recorded as skipped and never run).",
    )


def version_option(default: str, help_text: str) -> Callable[[F], F]:
    """--version, a version selector, defined once for the commands on one version."""
    return click.option("--version", "selector", default=default, show_default=True, help=help_text)
