"""Create one content version of a dataset now, as the service's CreateDatasetContent did.

    engine = DatasetEngine(StateStore.open())
    version = engine.run("sensor_report")          # container if an engine answers
    raise_for_status(version)                       # DatasetRunFailed: its reason

Runs of one dataset are serialized by its lock file (locks.py); the version is created in
a transaction once the lock is held, and finished SUCCEEDED or FAILED with a reason.
Then versioningConfiguration and retentionPeriod are applied (retention.py).

- A SQL dataset's content comes from its x-iota-source (query_source.py) and is stored
  under the output root; its URI is the version's content URI.
- A container dataset's variables are resolved (resolve.py) into a params file in the
  version's folder (mode 0644: the image's user reads it), then either
  - the image runs through the Docker engine (container_run.py) with the params file
    mounted read-only at the contract's path, file:// output and input folders mounted at
    their own paths so file:// URIs mean the same inside, the allow-listed AWS and runtime
    settings passed in (run_environment.py: never the engine's registry credentials or
    other secrets), and resourceConfiguration as CPU and memory limits; or
  - without a container, `python -m iota_container run` runs the notebook the definition's
    `x-iota-notebook` names (or the caller's `notebook`), as a child process: its log is
    captured, a crash of the analysis cannot take the engine down, and the engine's own
    settings and secrets are left out of its environment.
  Without a choice, a container runs when a Docker engine answers, the runtime otherwise.

The engine does not trigger dependent datasets: a scheduler does, with `Trigger.dataset`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from iota_container import storage
from iota_container.engine.full_disk import (
    disk_full,
    home_write_error,
    make_folder,
    remove_partial_files,
)
from iota_container.engine.home import LOG_NAME, PARAMS_NAME
from iota_container.engine.locks import HeldLock, take_dataset_lock
from iota_container.engine.query_source import produce_query_content
from iota_container.engine.records import (
    FAILED,
    INTERRUPTED,
    MODE_CONTAINER,
    MODE_PROCESS,
    MODE_QUERY,
    SUCCEEDED,
    RegisteredDataset,
    Trigger,
    Version,
)
from iota_container.engine.resolve import RunParams, confine_to_output_root, resolve_run_params
from iota_container.engine.state_store import StateStore
from iota_container.engine.store_schema import StateDiskFull
from iota_container.errors import EXIT_ANALYSIS_FAILED, EXIT_BAD_INPUT, IotaError
from iota_container.executors.container_run import (
    ContainerApi,
    ContainerJob,
    engine_errors,
    limits_for,
    run_container,
)
from iota_container.executors.engine_socket import (
    EngineApiError,
    UnixSocketEngine,
    local_socket_path,
)
from iota_container.executors.run_environment import (
    container_environment,
    mounted_files,
    process_environment,
)
from iota_container.image.docker_stream import engine_reason, one_line
from iota_container.params_file import DEFAULT_PARAMS_PATH, write_params
from iota_container.storage.uri import parse_output_uri

log = logging.getLogger("iota_container")

CONNECT_TIMEOUT_SECONDS = 5
LABEL_DATASET = "io.iota-container.dataset"
LABEL_VERSION = "io.iota-container.dataset-version"


class DatasetRunFailed(IotaError):
    """A version finished FAILED: the message is its reason."""

    def __init__(self, version: Version) -> None:
        super().__init__(f"dataset {version.dataset} version {version.id}: {version.reason}")
        self.version = version
        # The analysis ran and failed (1), or it could not start: bad input (2).
        self.exit_code = EXIT_ANALYSIS_FAILED if version.exit_code is not None else EXIT_BAD_INPUT
        self.result = version


@dataclass(frozen=True)
class ClaimedRun:
    """A version claimed for its trigger, its dataset's lock held until the run ends."""

    dataset: RegisteredDataset
    version: Version
    lock: HeldLock


@dataclass(frozen=True)
class _Ended:
    exit_code: int
    duration_seconds: float
    reason: str | None = None  # why it failed, where the exit code alone does not say


def raise_for_status(version: Version) -> Version:
    if version.status == FAILED:
        raise DatasetRunFailed(version)
    return version


class DatasetEngine:
    def __init__(self, store: StateStore, docker: Any | None = None) -> None:
        """`docker`: a docker.DockerClient or docker.APIClient; connected on first need
        (DOCKER_HOST or the default socket) when not given."""
        self.store = store
        self._api: ContainerApi | None = None
        if docker is not None:
            self._api = cast(ContainerApi, getattr(docker, "api", docker))

    def run(
        self,
        name: str,
        use_container: bool | None = None,
        *,
        trigger: Trigger | None = None,
        notebook: str | os.PathLike[str] | None = None,
        wait: bool = True,
    ) -> Version:
        """Create one version of `name` and return it, finished (check its status).

        Raises UnknownDataset, DatasetBusy (wait=False and the dataset is running
        elsewhere), TriggerAlreadyClaimed (that schedule window or upstream version
        already ran), or an IotaError when a container is asked for and no engine answers.
        """
        (claimed,) = self.claim([(name, trigger or Trigger.manual())], use_container, wait=wait)
        if isinstance(claimed, IotaError):
            raise claimed
        return self.run_claimed(claimed, notebook)

    def claim(
        self,
        requests: Sequence[tuple[str, Trigger]],
        use_container: bool | None = None,
        *,
        wait: bool = False,
    ) -> list[ClaimedRun | IotaError]:
        """Take each dataset's lock and claim its trigger, all claims in one transaction;
        what could not be claimed (DatasetBusy, TriggerAlreadyClaimed, ...) comes back as
        its error, in order. Every ClaimedRun must go to run_claimed or withdraw."""
        results: dict[int, ClaimedRun | IotaError] = {}
        locked: list[tuple[int, RegisteredDataset, str, HeldLock]] = []
        registered = self.store.registered([name for name, _ in requests])
        for index, (name, _) in enumerate(requests):
            try:
                dataset = registered.get(name) or self.store.dataset(name)  # UnknownDataset
                mode = self._choose_mode(dataset, use_container)
                lock = take_dataset_lock(self.store.home.lock_path(name), name, wait=wait)
            except IotaError as e:
                results[index] = e
                continue
            locked.append((index, dataset, mode, lock))
        try:
            # Holding the locks, any CREATING version of these datasets is an orphan.
            for name in self.store.datasets_creating() & {d.name for _, d, _, _ in locked}:
                self.store.fail_interrupted(name)
            versions = self.store.start_versions(
                [(dataset.name, requests[index][1], mode) for index, dataset, mode, _ in locked]
            )
        except BaseException:
            for *_, lock in locked:
                lock.release()
            raise
        for (index, dataset, _, lock), version in zip(locked, versions):
            if isinstance(version, Version):
                results[index] = ClaimedRun(dataset, version, lock)
            else:
                lock.release()
                results[index] = version
        return [results[index] for index in range(len(requests))]

    def run_claimed(
        self, claimed: ClaimedRun, notebook: str | os.PathLike[str] | None = None
    ) -> Version:
        """Create the content of a claimed version, finish it, apply retention, unlock."""
        dataset, version = claimed.dataset, claimed.version
        try:
            log.info("dataset %s: creating version %s (%s)", dataset.name, version.id, version.mode)
            try:
                finished = self._create_content(dataset, version, notebook)
            except Exception as e:
                reason = f"internal error: {type(e).__name__}: {one_line(str(e))}"
                self.store.finish_version(version, FAILED, reason=reason)
                raise
            except BaseException:  # Ctrl-C or SystemExit: the run did not finish
                self.store.finish_version(version, FAILED, reason=INTERRUPTED)
                raise
            self._apply_retention(dataset.name)
        finally:
            claimed.lock.release()
        log.info("dataset %s: version %s %s", dataset.name, finished.id, finished.status)
        return finished

    def _apply_retention(self, name: str) -> None:
        try:
            self.store.apply_retention(name)
        except StateDiskFull as e:  # the version is finished: pruning waits for the next run
            log.warning("dataset %s: versions not pruned: %s", name, e)

    def withdraw(self, claimed: ClaimedRun) -> None:
        """Give back a claimed run that will not start: its trigger runs another time."""
        try:
            self.store.interrupt(claimed.version)
        finally:
            claimed.lock.release()

    def _choose_mode(self, dataset: RegisteredDataset, use_container: bool | None) -> str:
        if dataset.definition.query_action is not None:
            return MODE_QUERY
        if use_container is False:
            return MODE_PROCESS
        if self._api is None:
            self._api = _connect(required=bool(use_container))
        return MODE_CONTAINER if self._api is not None else MODE_PROCESS

    def _create_content(
        self, dataset: RegisteredDataset, version: Version, notebook: str | os.PathLike[str] | None
    ) -> Version:
        """Run the version and finish it; any IotaError (a full disk too) ends it FAILED
        with that error as its reason."""
        folder = self.store.home.version_dir(dataset.name, version.id)
        log_path = folder / LOG_NAME
        try:
            make_folder(folder)
            if version.mode == MODE_QUERY:
                return self._query(dataset, version, folder, log_path)
            run_params, params_path = self._params(dataset, version, folder)
            self.store.record_start(version, outputs=run_params.outputs, log_path=log_path)
            if version.mode == MODE_CONTAINER:
                ended = self._in_container(dataset, version, run_params, params_path, log_path)
            else:
                ended = _in_process(dataset, notebook, params_path, log_path)
        except IotaError as e:
            return self.store.finish_version(version, FAILED, reason=str(e))
        succeeded = ended.exit_code == 0
        return self.store.finish_version(
            version,
            SUCCEEDED if succeeded else FAILED,
            reason=None if succeeded else ended.reason or _failure_reason(ended, log_path),
            exit_code=ended.exit_code,
            duration_seconds=ended.duration_seconds,
            content_uri=run_params.content_uri,
        )

    def _params(
        self, dataset: RegisteredDataset, version: Version, folder: Path
    ) -> tuple[RunParams, Path]:
        run_params = resolve_run_params(
            dataset.definition,
            version.output_prefix,
            self.store,
            trigger=version.trigger,
            output_root=self.store.home.output_root,
        )
        target = folder / PARAMS_NAME
        try:
            return run_params, write_params(run_params.document, target, overwrite=True)
        except OSError as e:
            # write_params leaves its temporary file behind on a full disk.
            remove_partial_files(folder, keep=folder / LOG_NAME)
            raise home_write_error(target, e) from e

    def _query(
        self, dataset: RegisteredDataset, version: Version, folder: Path, log_path: Path
    ) -> Version:
        self.store.record_start(version, outputs={}, log_path=log_path)
        started = time.monotonic()
        try:
            content = produce_query_content(
                dataset.definition, dataset.source_file, folder, log_path
            )
            target = f"{version.output_prefix}/{content.name}"
            root = self.store.home.output_root
            confine_to_output_root(target, root, f"content of {dataset.name}")
            uri = storage.put(content, target).uri
        except IotaError as e:
            full = disk_full(folder)
            # A command stopped by a full disk leaves part of its content staged here.
            remove_partial_files(folder, keep=log_path)
            reason = f"{e}; the disk of {folder} is full" if full else str(e)
            return self.store.finish_version(version, FAILED, reason=reason)
        return self.store.finish_version(
            version, SUCCEEDED, duration_seconds=time.monotonic() - started, content_uri=uri
        )

    def _in_container(
        self,
        dataset: RegisteredDataset,
        version: Version,
        run_params: RunParams,
        params: Path,
        log_path: Path,
    ) -> _Ended:
        action = dataset.definition.container_action
        assert action is not None and self._api is not None
        limits = limits_for(action.resource_configuration)
        environment = container_environment()
        binds = {str(params): {"bind": DEFAULT_PARAMS_PATH, "mode": "ro"}}
        for file in mounted_files(environment):
            binds[str(file)] = {"bind": str(file), "mode": "ro"}
        for uri in run_params.inputs.values():
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
        return _Ended(outcome.exit_code, outcome.duration_seconds, reason)


def _connect(*, required: bool) -> ContainerApi | None:
    """A Docker engine client, or None when none answers and none was required: the
    standard-library client for a local socket (engine_socket.py), else docker-py."""
    socket_path = local_socket_path()
    connect = _connect_docker_py if socket_path is None else lambda: _connect_local(socket_path)
    try:
        return connect()
    except _no_engine_errors(local=socket_path is not None) as e:
        if not required:
            log.info("no Docker engine answers: running without a container")
            return None
        address = os.environ.get("DOCKER_HOST") or f"unix://{socket_path}"
        raise IotaError(
            f"a container run needs a Docker engine, and none answers at {address} "
            f"({one_line(engine_reason(e), 160)}): start dockerd, or run with --no-container"
        ) from e


def _connect_local(socket_path: str) -> ContainerApi:
    local = UnixSocketEngine(socket_path, timeout=CONNECT_TIMEOUT_SECONDS)
    local.ping()
    local.timeout = 600  # long enough for any call; waiting for the run has none
    return local


def _connect_docker_py() -> ContainerApi:
    from docker.api.client import APIClient
    from docker.utils import kwargs_from_env

    client = APIClient(timeout=CONNECT_TIMEOUT_SECONDS, **kwargs_from_env())
    client.ping()
    client.timeout = 600  # long enough for a pull; waiting for the run has no timeout
    return cast(ContainerApi, client)


def _no_engine_errors(*, local: bool) -> tuple[type[Exception], ...]:
    """What connecting raises when no engine answers; docker-py is imported only when it
    is the client."""
    if local:
        return (OSError, EngineApiError)
    from docker.errors import DockerException

    return (OSError, DockerException)


def _in_process(
    dataset: RegisteredDataset,
    notebook: str | os.PathLike[str] | None,
    params: Path,
    log_path: Path,
) -> _Ended:
    path = _notebook_for(dataset, notebook)
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
    return _Ended(code, time.monotonic() - started)


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


def _failure_reason(ended: _Ended, log_path: Path) -> str:
    """The run's own one-line error (`error: ...`), else its last log line."""
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    last = (errors or [line for line in lines if line.strip()] or [""])[-1]
    detail = f": {one_line(last.removeprefix('error: '), 300)}" if last.strip() else ""
    return f"the analysis exited with code {ended.exit_code}{detail} (log: {log_path})"


def _local_folder(uri: str) -> Path | None:
    """The folder of a file:// URI; None for other schemes."""
    if not uri.startswith("file:"):
        return None
    path = parse_output_uri(uri).path
    return path.parent if path is not None else None
