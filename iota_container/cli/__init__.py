"""The `iota-container` command. Thin: parse options, call the SDK, print, map errors.

Every IotaError becomes one line on stderr and its exit code (2 bad input, 1 the
analysis failed); `--debug` shows the traceback instead. Commands live in one module
per concern and are attached to the group here.
"""

from __future__ import annotations

import importlib

import click

from iota_container import __version__
from iota_container.cli.common import IotaGroup, configure_logging

# name -> "module:attribute" under iota_container.cli. A command's module is imported only
# when that command runs: `dataset run` need not load the image builder, the Jupyter
# pieces or Greengrass, and a scheduled run pays for every import it makes.
COMMANDS = {
    "run": "run_commands:run",
    "params": "run_commands:params",
    "variables": "image_commands:variables",
    "requirements": "requirements_commands:requirements",
    "build": "image_commands:build",
    "image": "image_commands:image",
    "dataset": "dataset_commands:dataset",
    "datastore": "datastore_commands:datastore",
    "scheduler": "scheduler_commands:scheduler",
    "greengrass": "greengrass_commands:greengrass",
    "sagemaker": "sagemaker_commands:sagemaker",
}


class CommandsOnDemand(IotaGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(f"iota_container.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=CommandsOnDemand, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iota-container")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def main(debug: bool) -> None:
    """Run notebooks as AWS IoT Analytics container datasets.

    \b
    Inside a container:   iota-container run
    Locally:              iota-container params init params.json --output-root file:///tmp/out
                          IOTA_PARAMS_PATH=params.json iota-container run --notebook nb.ipynb
    """
    configure_logging(debug)
