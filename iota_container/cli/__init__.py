"""The `iota-container` command. Thin: parse options, call the SDK, print, map errors.

Every IotaError becomes one line on stderr and its exit code (2 bad input, 1 the
analysis failed); `--debug` shows the traceback instead. Commands live in one module
per concern and are attached to the group here.
"""

from __future__ import annotations

import click

from iota_container import __version__
from iota_container.cli.common import IotaGroup, configure_logging
from iota_container.cli.dataset_commands import dataset
from iota_container.cli.greengrass_commands import greengrass
from iota_container.cli.image_commands import build, image, variables
from iota_container.cli.run_commands import params, run
from iota_container.cli.scheduler_commands import scheduler


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
    configure_logging(debug)


for command in (run, params, variables, build, image, dataset, scheduler, greengrass):
    main.add_command(command)
