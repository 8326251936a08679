"""The jupyter_server extension: settings (traits) and routes; the job manager's lifetime.

Configure in jupyter_server_config.py (or on the command line):

    c.IotaContainerExtension.max_running_jobs = 2
    c.IotaContainerExtension.iota_home = "/srv/iota"
    c.IotaContainerExtension.run_in_container = "process"
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Int, TraitError, Type, Unicode, default, validate

from iota_container.engine.home import Home
from iota_container.engine.state_store import StateStore
from jupyter_ext.backends import RegistryRepositories
from jupyter_ext.handlers import handlers
from jupyter_ext.job_store import STORE_NAME, JobStore
from jupyter_ext.jobs import WORKER_MODULE, JobManager

if TYPE_CHECKING:
    from jupyter_ext.settings import ExtensionSettings


class IotaContainerExtension(ExtensionApp):
    name = "jupyter_ext"
    description = "Containerize notebooks and run them as datasets (iota-container)"

    job_manager_class = Type(
        default_value=JobManager,
        klass=JobManager,
        config=True,
        help="The class that queues and runs jobs (each in a child process).",
    )
    repositories_class = Type(
        default_value=RegistryRepositories,
        klass=RegistryRepositories,
        config=True,
        help="The class that lists and creates repositories (ECR, or a registry's catalog).",
    )
    max_running_jobs = Int(1, config=True, help="How many jobs run at once; others queue.")
    iota_home = Unicode(
        "",
        config=True,
        help="The engine's home (state.db, and jupyter-jobs.json: the jobs, kept across "
        "restarts); empty: $IOTA_HOME or ~/.iota-container.",
    )
    output_root = Unicode(
        "",
        config=True,
        help="Where dataset runs write outputs (file:// or s3://); empty: $IOTA_OUTPUT_ROOT "
        "or file://HOME/outputs.",
    )
    default_backend = Unicode(
        "",
        config=True,
        help="Build backend when a job names none (docker, oci, or one registered in the "
        "iota_container.build_backends entry point group); empty: docker when an engine "
        "answers, else oci.",
    )
    run_in_container = Enum(
        ["auto", "container", "process"],
        default_value="auto",
        config=True,
        help='"Run now": in a container, in a local process (x-iota-notebook), or auto '
        "(a container when a Docker engine answers).",
    )

    @validate("default_backend")
    def _known_backend(self, proposal: dict[str, Any]) -> str:
        # Checked against the backend registry, not a fixed list, so that a backend a
        # package registers can be the extension's default too.
        from iota_container.image.backends import backend_names

        name = str(proposal["value"])
        if name and name not in backend_names():
            raise TraitError(
                f"IotaContainerExtension.default_backend {name!r} is unknown: use one of "
                f"{', '.join(backend_names())}, or leave it empty"
            )
        return name

    worker_python = Unicode(
        config=True, help="The Python that runs jobs (`-m jupyter_ext.worker`)."
    )

    # Made from the traits above when the server starts (not traits: not configurable).
    job_manager: JobManager
    repositories: RegistryRepositories

    @default("worker_python")
    def _default_worker_python(self) -> str:
        return sys.executable

    @property
    def root_dir(self) -> str:
        assert self.serverapp is not None, "the extension is linked to a server"
        return str(self.serverapp.root_dir)

    @property
    def base_url(self) -> str:
        assert self.serverapp is not None, "the extension is linked to a server"
        return str(self.serverapp.base_url)

    def open_store(self) -> StateStore:
        return StateStore.open(self.iota_home or None, self.output_root or None)

    def initialize_settings(self) -> None:
        self.job_manager = self.job_manager_class(
            max_running_jobs=self.max_running_jobs,
            worker_command=[self.worker_python, "-m", WORKER_MODULE],
            log=self.log,
            store=JobStore(Home.locate(self.iota_home or None).root / STORE_NAME),
        )
        self.repositories = self.repositories_class()

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def stop_extension(self) -> None:
        await self.job_manager.stop()


if TYPE_CHECKING:

    def _settings_of(extension: IotaContainerExtension) -> ExtensionSettings:
        return extension  # mypy checks here that the extension satisfies the protocol
