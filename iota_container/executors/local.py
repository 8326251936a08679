"""The `local` executor: the analysis image through the Docker engine, or, without one,
`python -m iota_container run` as a child process.

- In a container (container_run.py): the params file is mounted read-only at the
  contract's path, file:// output and input folders at their own paths so file:// URIs
  mean the same inside, the allow-listed AWS and runtime settings passed in
  (run_environment.py: never the engine's registry credentials or other secrets), and
  resourceConfiguration becomes CPU and memory limits.
- As a process: the notebook the definition's `x-iota-notebook` names (or the caller's
  `notebook`) runs with its log captured, so a crash of the analysis cannot take the
  engine down, and the engine's own settings and secrets are left out of its environment.

Without a choice, a container runs when a Docker engine answers, a process otherwise.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from iota_container.docker_host import EngineUnreachable, connect_run_client
from iota_container.engine.records import MODE_CONTAINER, MODE_PROCESS, RegisteredDataset
from iota_container.errors import IotaError
from iota_container.executors.base import AnalysisRun, RunEnded
from iota_container.executors.container_run import (
    ContainerApi,
    ContainerJob,
    engine_errors,
    limits_for,
    run_container,
)
from iota_container.executors.run_environment import (
    container_environment,
    mounted_files,
    process_environment,
)
from iota_container.image.docker_stream import engine_reason
from iota_container.params_file import DEFAULT_PARAMS_PATH
from iota_container.storage.uri import parse_output_uri

if TYPE_CHECKING:
    from iota_container.executors.process_pool import ProcessPool

log = logging.getLogger("iota_container")

# Long enough for any call of a run (a pull included); waiting for the run has none.
CALL_TIMEOUT_SECONDS = 600
LABEL_DATASET = "io.iota-container.dataset"
LABEL_VERSION = "io.iota-container.dataset-version"


class LocalExecutor:
    name = "local"

    def __init__(self, docker: Any | None = None, *, pool: ProcessPool | None = None) -> None:
        """`docker`: a docker.DockerClient or docker.APIClient; connected on first need
        (DOCKER_HOST or the default socket) when not given. `pool`: pre-started workers
        for process runs (process_pool.py), given by a long-lived caller (the scheduler);
        without one, each process run is a child process of its own (one run pays no
        pool it cannot amortise)."""
        self.pool = pool
        self._api: ContainerApi | None = None
        if docker is not None:
            self._api = cast(ContainerApi, getattr(docker, "api", docker))

    def choose_mode(self, use_container: bool | None) -> str:
        if use_container is False:
            return MODE_PROCESS
        if self._api is None:
            self._api = _connect(required=bool(use_container))
        return MODE_CONTAINER if self._api is not None else MODE_PROCESS

    def execute(self, run: AnalysisRun) -> RunEnded:
        if run.version.mode == MODE_CONTAINER:
            return self._in_container(run)
        return _in_process(run.dataset, run.notebook, run.params_path, run.log_path, self.pool)

    def _in_container(self, run: AnalysisRun) -> RunEnded:
        dataset, version, log_path = run.dataset, run.version, run.log_path
        action = dataset.definition.container_action
        assert action is not None
        if self._api is None:
            self._api = _connect(required=True)
        assert self._api is not None
        limits = limits_for(action.resource_configuration)
        environment = container_environment()
        binds = {str(run.params_path): {"bind": DEFAULT_PARAMS_PATH, "mode": "ro"}}
        for file in mounted_files(environment):
            binds[str(file)] = {"bind": str(file), "mode": "ro"}
        for uri in run.run_params.inputs.values():
            folder = _local_folder(uri)
            if folder is not None:
                binds[str(folder)] = {"bind": str(folder), "mode": "ro"}
        output_folder = _local_folder(f"{version.output_prefix}/_")
        if output_folder is not None:
            output_folder.mkdir(parents=True, exist_ok=True)
            # The image runs as its own user (uid 1000), not as whoever runs the engine.
            output_folder.chmod(0o777)
            binds[str(output_folder)] = {"bind": str(output_folder), "mode": "rw"}
        job = ContainerJob(
            image=action.image,
            name=f"iota-{dataset.name}-{version.id}",
            environment=environment,
            binds=binds,
            limits=limits,
            labels={LABEL_DATASET: dataset.name, LABEL_VERSION: version.id},
            log_path=log_path,
        )
        failures: tuple[type[Exception], ...] = (*engine_errors(self._api), OSError)
        try:
            outcome = run_container(self._api, job)
        except failures as e:  # OSError: the connection to the engine
            raise IotaError(
                f"the Docker engine failed to run image {action.image} ({engine_reason(e)}): "
                f"see the engine's log; the run's own log is {log_path}"
            ) from e
        reason = None
        if outcome.oom_killed:
            reason = (
                f"container exceeded its memory limit of {limits.memory_mib} MiB: use "
                "computeType ACU_2, or make the analysis use less memory"
            )
        return RunEnded(outcome.exit_code, outcome.duration_seconds, reason)


def _connect(*, required: bool) -> ContainerApi | None:
    """A Docker engine client (docker_host.py: the standard-library one on a local
    socket), or None when none answers and none was required."""
    try:
        return cast(ContainerApi, connect_run_client(call_timeout=CALL_TIMEOUT_SECONDS))
    except EngineUnreachable as e:
        if not required:
            log.info("no Docker engine answers: running without a container")
            return None
        raise IotaError(
            e.needed_by("a container run", "start dockerd, or run with --no-container")
        ) from e


def _in_process(
    dataset: RegisteredDataset,
    notebook: str | os.PathLike[str] | None,
    params: Path,
    log_path: Path,
    pool: ProcessPool | None = None,
) -> RunEnded:
    path = _notebook_for(dataset, notebook)
    if pool is not None:
        from iota_container.executors.process_pool import PoolRun

        return pool.run(PoolRun(params, path, log_path, path.parent))
    command = [sys.executable, "-m", "iota_container", "run", "--params", str(params)]
    env = process_environment()
    started = time.monotonic()
    with log_path.open("ab") as log_file:
        code = subprocess.run(
            [*command, "--notebook", str(path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=path.parent,
            check=False,
        ).returncode
    return RunEnded(code, time.monotonic() - started)


def _notebook_for(dataset: RegisteredDataset, notebook: str | os.PathLike[str] | None) -> Path:
    """The caller's notebook (relative to the working folder), else the definition's
    x-iota-notebook (relative to the definition file)."""
    action = dataset.definition.container_action
    declared = action.notebook if action is not None else None
    if notebook is not None:
        path = Path(notebook).absolute()
    elif declared:
        path = dataset.source_file.parent / declared
    else:
        raise IotaError(
            f"dataset {dataset.name!r} has no notebook to run without a container: add "
            f"x-iota-notebook (the notebook's path) to its containerAction in "
            f"{dataset.source_file}, or run it in a container (start dockerd)"
        )
    if not path.is_file():
        raise IotaError(
            f"notebook {str(path)!r} of dataset {dataset.name!r} does not exist: fix "
            "x-iota-notebook, or give the notebook's path"
        )
    return path


def _local_folder(uri: str) -> Path | None:
    """The folder of a file:// URI; None for other schemes."""
    if not uri.startswith("file:"):
        return None
    path = parse_output_uri(uri).path
    return path.parent if path is not None else None
