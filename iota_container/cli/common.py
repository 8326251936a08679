"""What every command shares: error mapping, JSON output, logging, a fast exit."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from iota_container.cli.log_lines import LineHandler
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
                print_json(_result_json(e.result) | {"error": str(e)})
            click.echo(f"error: {e}", err=True)
            if ctx.meta.get("fast_exit"):
                exit_now(e.exit_code)
            ctx.exit(e.exit_code)


def exit_now(code: int) -> None:
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


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def configure_logging(debug: bool) -> None:
    # Neither the plain lines nor --json-log's objects show where a record was made, by
    # which thread or process: not looking them up (the logging HOWTO's "Optimization")
    # saves a fifth of each record, and a scheduler logs two a run, thousands a minute.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = LineHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("iota-container: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(logging.DEBUG if debug else logging.INFO)


class Seconds(click.types.FloatParamType):
    """A finite number of seconds greater than 0. click's FloatRange lets nan through
    (every comparison with nan is false), and inf or 0 are no time limit a user means."""

    name = "seconds"

    def __repr__(self) -> str:
        return "SECONDS"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a number of seconds greater than 0 (e.g. 600)", param, ctx)
        return seconds


# Registry options shared by every command that talks to a registry (defined once).
ca_bundle_option = click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Extra CA certificates (PEM) to trust: the registry's, or a TLS-intercepting proxy's.",
)
plain_http_option = click.option(
    "--plain-http", is_flag=True, default=None, help="Talk to the registry over HTTP."
)
registry_timeout_option = click.option(
    "--registry-timeout",
    type=Seconds(),
    # Not click's envvar: the registry client reads IOTA_REGISTRY_TIMEOUT itself, so that
    # every caller (the Jupyter server, the engine's pulls) honours it with one message.
    help="Seconds to wait for a registry to connect or to send more "
    "[env IOTA_REGISTRY_TIMEOUT; default 30].",
)

json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print a machine-readable JSON result on stdout."
)
