"""Create one content version of a dataset now, as the service's CreateDatasetContent did.

    engine = DatasetEngine(StateStore.open())
    version = engine.run("sensor_report")          # container if an engine answers
    raise_for_status(version)                       # DatasetRunFailed: its reason

Runs of one dataset are serialized by its lock file (locks.py); the version is created in
a transaction once the lock is held, and finished SUCCEEDED or FAILED with a reason.
Then versioningConfiguration and retentionPeriod are applied (retention.py).

- A SQL dataset's content is its sqlQuery's result on the data stores it names
  (datastore/query.py, in its delta window), or comes from its x-iota-source
  (query_source.py); it is stored under the output root; its URI is the version's
  content URI.
- A container dataset's variables are resolved (resolve.py) into a params file in the
  version's folder (mode 0644: the image's user reads it), and an executor runs the
  analysis (executors/: `local` runs the image through the Docker engine when one
  answers, `python -m iota_container run` as a child process otherwise).

The engine does not trigger dependent datasets: a scheduler does, with `Trigger.dataset`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iota_container import storage
from iota_container.engine.executor_runs import (
    execute_recorded,
    follow_recorded,
    followed_params,
    orphans,
)
from iota_container.engine.full_disk import (
    disk_full,
    home_write_error,
    make_folder,
    remove_partial_files,
)
from iota_container.engine.home import LOG_NAME, PARAMS_NAME
from iota_container.engine.locks import HeldLock, take_dataset_lock
from iota_container.engine.query_source import produce_query_content, reads_datastores
from iota_container.engine.records import (
    CREATING,
    FAILED,
    INTERRUPTED,
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
from iota_container.executors import LOCAL, AnalysisRun, Executor, RunEnded, executor_for
from iota_container.storage.uri import parse_output_uri
from iota_container.text import one_line

if TYPE_CHECKING:
    from iota_container.datastore.delivery import DeliveryClients

log = logging.getLogger("iota_container")


class RunWithdrawn(IotaError):
    """A claimed version ended before its run began: nothing ran, nothing is recorded."""

    def __init__(self, version: Version) -> None:
        super().__init__(
            f"dataset {version.dataset} version {version.id} was withdrawn or abandoned before "
            "its run began (a stopping scheduler gave it up): it did not run"
        )


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

    @property
    def follows(self) -> bool:
        """A run submitted by an earlier process, to be followed, not started."""
        return self.version.followable


def raise_for_status(version: Version) -> Version:
    if version.status == FAILED:
        raise DatasetRunFailed(version)
    return version


class DatasetEngine:
    def __init__(
        self,
        store: StateStore,
        docker: Any | None = None,
        *,
        executor: Executor | None = None,
        delivery_clients: DeliveryClients | None = None,
    ) -> None:
        """`executor`: where analyses run, by default the `local` one (executors/), with
        `docker` as its engine client (a docker.DockerClient or docker.APIClient) when
        given, else connected on first need (DOCKER_HOST or the default socket).
        `delivery_clients`: the contentDeliveryRules' clients (datastore/delivery.py), by
        default made from the environment when a rule needs one."""
        self.store = store
        self.delivery_clients = delivery_clients
        self._executor = executor
        self._docker = docker

    @property
    def executor(self) -> Executor:
        # Made on first use: a SQL dataset's run needs none, and the local executor's
        # modules (the container run, the Engine API client) cost its start ~50 ms.
        if self._executor is None:
            from iota_container.executors.local import LocalExecutor

            docker = self._docker
            self._executor = LocalExecutor(docker) if docker is not None else executor_for(LOCAL)
        return self._executor

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
        while True:
            request = (name, trigger or Trigger.manual())
            (claimed,) = self.claim([request], use_container, wait=wait)
            if isinstance(claimed, IotaError):
                raise claimed
            if not claimed.follows:
                return self.run_claimed(claimed, notebook)
            self.run_claimed(claimed)  # an earlier process's run, to its end first

    def claim_orphans(self, names: set[str] | None = None) -> list[ClaimedRun]:
        """Claims of the runs that processes now gone handed to followable executors (of
        the datasets `names`, or of all), to follow each to its end (run_claimed); those
        another process follows are left."""
        claimed = []
        for version in orphans(self.store, names):
            try:
                lock = take_dataset_lock(
                    self.store.home.lock_path(version.dataset), version.dataset, wait=False
                )
            except IotaError:  # DatasetBusy: followed elsewhere
                continue
            current = self.store.version(version.dataset, version.id)
            if current.status != CREATING:  # ended meanwhile, followed by another process
                lock.release()
                continue
            claimed.append(ClaimedRun(self.store.dataset(version.dataset), current, lock))
        return claimed

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
            # Holding the locks, any CREATING version of these datasets is an orphan. One a
            # followable executor may still run is claimed to be followed to its end (the
            # trigger asked for waits for that); the others are failed (fail_interrupted).
            names = {d.name for _, d, _, _ in locked}
            followed = {v.dataset: v for v in reversed(orphans(self.store, names))}
            for name in self.store.datasets_creating() & names:
                self.store.fail_interrupted(name)
            for index, dataset, _, lock in locked:
                if dataset.name in followed:
                    results[index] = ClaimedRun(dataset, followed[dataset.name], lock)
            locked = [item for item in locked if item[1].name not in followed]
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
            except RunWithdrawn:  # its ending is someone else's: nothing to record
                raise
            except Exception as e:
                reason = f"internal error: {type(e).__name__}: {one_line(str(e))}"
                self.store.finish_version(version, FAILED, reason=reason)
                raise
            except BaseException:  # Ctrl-C or SystemExit: the run did not finish
                self.store.finish_version(version, FAILED, reason=INTERRUPTED)
                raise
            if finished.succeeded and dataset.definition.content_delivery_rules:
                finished = self._deliver(dataset, finished)
            self._apply_retention(dataset)
        finally:
            claimed.lock.release()
        log.info("dataset %s: version %s %s", dataset.name, finished.id, finished.status)
        return finished

    def _deliver(self, dataset: RegisteredDataset, version: Version) -> Version:
        """contentDeliveryRules (datastore/delivery.py): each outcome is recorded on the
        version, which stays SUCCEEDED whatever they are."""
        from iota_container.datastore.delivery import deliver_version

        try:
            return deliver_version(self.store, dataset, version, clients=self.delivery_clients)
        except Exception as e:  # the state database, say: the content stays, unrecorded
            log.warning("dataset %s version %s: not delivered: %s", dataset.name, version.id, e)
            return version

    def _apply_retention(self, dataset: RegisteredDataset) -> None:
        try:
            self.store.apply_retention(dataset.name, dataset.definition)
        except StateDiskFull as e:  # the version is finished: pruning waits for the next run
            log.warning("dataset %s: versions not pruned: %s", dataset.name, e)

    def withdraw(self, claimed: ClaimedRun) -> None:
        """Give back a claimed run that will not start: its trigger runs another time. A
        followed run goes on where it runs: the next process follows it."""
        try:
            if not claimed.follows:
                self.store.interrupt(claimed.version)
        finally:
            claimed.lock.release()

    def _choose_mode(self, dataset: RegisteredDataset, use_container: bool | None) -> str:
        if dataset.definition.query_action is not None:
            return MODE_QUERY
        return self.executor.choose_mode(use_container)

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
            if version.followable:  # submitted by a process that is gone: its end
                ended, run_params = self._follow(dataset, version, folder, notebook)
            else:
                run_params, params_path = self._params(dataset, version, folder)
                self._record_start(version, folder, outputs=run_params.outputs)
                run = AnalysisRun(dataset, version, run_params, params_path, log_path, notebook)
                ended = execute_recorded(self.store, self.executor, run)
        except RunWithdrawn:
            raise
        except IotaError as e:
            return self.store.finish_version(version, FAILED, reason=str(e))
        if ended is None:
            reason = f"{INTERRUPTED}; {version.executor} has no run {version.run_id} any more"
            return self.store.finish_version(version, FAILED, reason=reason)
        succeeded = ended.exit_code == 0
        return self.store.finish_version(
            version,
            SUCCEEDED if succeeded else FAILED,
            reason=None if succeeded else ended.reason or _failure_reason(ended, log_path),
            exit_code=ended.exit_code,
            duration_seconds=ended.duration_seconds,
            content_uri=run_params.content_uri,
        )

    def _follow(
        self,
        dataset: RegisteredDataset,
        version: Version,
        folder: Path,
        notebook: str | os.PathLike[str] | None,
    ) -> tuple[RunEnded | None, RunParams]:
        """Follow a run an earlier process handed to a followable executor (by run id)."""
        name = version.executor or LOCAL
        executor = self.executor if name == self.executor.name else executor_for(name)
        params_path = folder / PARAMS_NAME
        run_params = followed_params(version, params_path)
        log_path = Path(version.log_path) if version.log_path else folder / LOG_NAME
        run = AnalysisRun(dataset, version, run_params, params_path, log_path, notebook)
        return follow_recorded(self.store, executor, run), run_params

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
        from iota_container.params_file import write_params  # here: SQL runs write none

        try:
            return run_params, write_params(run_params.document, target, overwrite=True)
        except OSError as e:
            # write_params leaves its temporary file behind on a full disk.
            remove_partial_files(folder, keep=folder / LOG_NAME)
            raise home_write_error(target, e) from e

    def _record_start(self, version: Version, folder: Path, *, outputs: dict[str, str]) -> None:
        """The run's start, in the same write that checks the version is still CREATING:
        one withdrawn or abandoned since its claim does not begin (RunWithdrawn), and its
        folder, which holds nothing of a run yet, goes."""
        if not self.store.record_start(version, outputs=outputs, log_path=folder / LOG_NAME):
            shutil.rmtree(folder, ignore_errors=True)
            raise RunWithdrawn(version)

    def _query(
        self, dataset: RegisteredDataset, version: Version, folder: Path, log_path: Path
    ) -> Version:
        self._record_start(version, folder, outputs={})
        started = time.monotonic()
        try:
            if reads_datastores(dataset.definition):
                from iota_container.datastore.late_data import late_data_before_run
                from iota_container.datastore.query import produce_datastore_content

                late_data_before_run(self.store, dataset)
                content = produce_datastore_content(self.store, dataset, version, folder)
            else:
                content = produce_query_content(
                    dataset.definition, dataset.source_file, folder, log_path
                )
            what = f"content of {dataset.name}"
            target = parse_output_uri(f"{version.output_prefix}/{content.name}", what=what)
            confine_to_output_root(target, self.store.home.output_root, what)
            uri = storage.put(content, target).uri
        except IotaError as e:
            full = disk_full(folder)
            # A command stopped by a full disk leaves part of its content staged here.
            remove_partial_files(folder, keep=log_path)
            reason = f"{e}; the disk of {folder} is full" if full else str(e)
            return self.store.finish_version(version, FAILED, reason=reason)
        finished = self.store.finish_version(
            version, SUCCEEDED, duration_seconds=time.monotonic() - started, content_uri=uri
        )
        if finished.window_end is not None:  # the next delta window starts at its end
            from iota_container.datastore.delta_window import WindowLedger

            with WindowLedger(self.store.home) as ledger:
                ledger.advance(finished)
        return finished


def _failure_reason(ended: RunEnded, log_path: Path) -> str:
    """The run's own one-line error (`error: ...`), else its last log line."""
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    last = (errors or [line for line in lines if line.strip()] or [""])[-1]
    detail = f": {one_line(last.removeprefix('error: '), 300)}" if last.strip() else ""
    return f"the analysis exited with code {ended.exit_code}{detail} (log: {log_path})"
