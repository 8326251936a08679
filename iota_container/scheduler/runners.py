"""What the scheduler hands due triggers to: the Runner protocol and its two kinds.

- EngineRunner: the dataset engine, claiming at dispatch (a thousand windows due at one
  minute are claimed in one transaction, then run as workers come free);
- FunctionRunner: any function that creates a version for a trigger, claiming it itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from iota_container.engine.records import MODE_QUERY, Trigger, Version
from iota_container.engine.run import ClaimedRun, DatasetEngine
from iota_container.scheduler.run_processes import RunProcesses

if TYPE_CHECKING:
    from iota_container.executors.process_pool import ProcessPool

RunFunction = Callable[[str, Trigger], Version]
"""Creates one version of a dataset for a trigger (claiming it), and returns it finished."""


@runtime_checkable
class Runner(Protocol):
    """Claims due triggers in one go, then runs each claim on a worker."""

    claims_ahead: bool  # claims are taken at dispatch, before a worker is free

    def claim(self, requests: Sequence[tuple[str, Trigger]]) -> Sequence[object]:
        """Per request, in order: a claim for run() or withdraw(), or the IotaError that
        kept it from being claimed (DatasetBusy, TriggerAlreadyClaimed, ...)."""

    def run(self, claimed: Any) -> Version: ...

    def withdraw(self, claimed: Any) -> None:
        """A claim that will not run (the scheduler stops): its trigger runs later."""


class EngineRunner:
    """Runs triggers through the dataset engine, claimed at dispatch: a thousand windows
    due at one minute are claimed in one transaction, then run as workers come free.

    `run_processes`: SQL datasets' runs go to worker processes (run_processes.py says
    why); the store's clock must then be picklable (the system's, or a FileClock). Runs
    whose delivery uses injected clients stay in this process, with their clients."""

    claims_ahead = True

    def __init__(
        self,
        engine: DatasetEngine,
        use_container: bool | None = None,
        *,
        run_processes: bool = False,
    ) -> None:
        self.engine, self.use_container = engine, use_container
        in_processes = run_processes and engine.delivery_clients is None
        self._processes = RunProcesses(engine.store) if in_processes else None

    def start(self, workers: int) -> None:
        """Called as the scheduler starts: the worker processes, when SQL datasets are
        registered (otherwise each is started on its first run)."""
        store = self.engine.store
        if self._processes is not None and any(d.definition.query_action for d in store.datasets()):
            self._processes.start(workers)

    def close(self) -> None:
        if self._processes is not None:
            self._processes.close()

    def claim(self, requests: Sequence[tuple[str, Trigger]]) -> Sequence[object]:
        # wait=False: a run by hand elsewhere holds the lock; retry later.
        return self.engine.claim(requests, self.use_container, wait=False)

    def run(self, claimed: ClaimedRun) -> Version:
        if self._processes is None or claimed.version.mode != MODE_QUERY or claimed.follows:
            return self.engine.run_claimed(claimed)
        try:
            return self._processes.run(claimed)
        finally:
            claimed.lock.release()

    def withdraw(self, claimed: ClaimedRun) -> None:
        self.engine.withdraw(claimed)

    def start_process_pool(self, size: int) -> ProcessPool | None:
        """Pre-started workers for the engine's process runs, when its runs are processes
        of the local executor; the scheduler warms and closes it."""
        from iota_container.executors.process_pool import pool_for

        return pool_for(self.engine.executor, self.use_container, size)

    def claim_orphans(self) -> list[ClaimedRun]:
        """Runs that a process now gone handed to a followable executor (a Ray cluster),
        claimed to be followed to their end by their run ids."""
        return self.engine.claim_orphans()


class FunctionRunner:
    """A RunFunction as a Runner: it claims its trigger itself, when a worker runs it."""

    claims_ahead = False

    def __init__(self, function: RunFunction) -> None:
        self.function = function

    def claim(self, requests: Sequence[tuple[str, Trigger]]) -> Sequence[object]:
        return list(requests)

    def run(self, claimed: tuple[str, Trigger]) -> Version:
        return self.function(*claimed)

    def withdraw(self, claimed: tuple[str, Trigger]) -> None:
        pass
