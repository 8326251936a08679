"""`iota-container scheduler`: runs the schedule and dataset triggers of registered datasets.

    scheduler = Scheduler(store, EngineRunner(DatasetEngine(store), use_container=None))
    scheduler.run()             # until stop(); run(once=True): what is due now, then return

Decisions (README "Scheduling" says the same to users):

- Exactly once. Each trigger is claimed in the store as its run starts
  (StateStore.start_version) and a claim is never taken back, so neither two schedulers on one
  home nor a restarted one can run a window or an upstream version twice. A run cut short
  by a crash or SIGKILL stays FAILED "interrupted: ..." (marked when the store is next
  opened) and is not run again: it may already have had effects (uploads, messages) that
  a second run would repeat. `dataset run NAME` re-runs by hand. A run handed to a
  followable executor (a Ray cluster) goes on without the scheduler: at the next start it
  is found again by its run id and followed to its end in a worker (engine.claim_orphans).
- Catch-up. Windows missed while the scheduler was down, or the dataset paused, run when
  it comes back, oldest first, one at a time per dataset: the service ran every window
  as it came, and a down scheduler is treated like a pause. `scheduler --latest-only` and
  `dataset resume --latest-only` run only the newest missed trigger of each kind and
  record the others as skipped (due.py). Windows before a registration never run.
- Order. One run of a dataset at a time (the engine's lock; this loop never submits a
  dataset that is running), at most `workers` runs at once, the most overdue first. A
  dataset's next window waits while a dataset it triggers is running or still has one
  of its versions to run for: a new upstream version may prune the one being read (the
  default versioning keeps only the latest), so each is read before it can go.
- Waiting. The loop sleeps until the earliest due time, at most `poll_seconds` at a time,
  woken early by a finished run or a stop. A wake costs one query (the store's change
  counter); registrations and upstream versions are read again only after another
  process wrote (register, pause, resume, a run by hand).
- Process runs. With the local executor running notebooks as processes, the runs go to
  a pool of pre-started workers (executors/process_pool.py), kept ready for the runs
  claimed or due within WARM_AHEAD, so a run due at 12:00 starts its cells at 12:00;
  each worker runs one run in a fresh kernel and exits. Its waiting workers and their
  kernels stop when the loop returns.
- SQL runs. The `scheduler` command's SQL datasets run in long-lived worker processes
  (run_processes.py), one run at a time each, at most `workers` at once as any run: a
  thousand due at one minute then use every core. A worker killed during a run leaves
  its version FAILED "interrupted: its worker process killed by SIGKILL".
- Stopping. `stop()` (the first SIGTERM or SIGINT) stops claiming; runs under way
  finish, so their versions are complete. `stop(abandon=True)` (a second signal) marks
  the running versions FAILED "interrupted" and returns at once; their analysis
  processes or containers are not killed, and what they do afterwards is not recorded.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from iota_container.engine.locks import DatasetBusy
from iota_container.engine.records import (
    CREATING,
    RegisteredDataset,
    Version,
    to_text,
)
from iota_container.engine.run import RunWithdrawn
from iota_container.engine.state_store import Clock, StateStore, TriggerAlreadyClaimed
from iota_container.errors import IotaError
from iota_container.schedule.expressions import Schedule, ScheduleError
from iota_container.scheduler.due import Due, next_due
from iota_container.scheduler.runners import EngineRunner, FunctionRunner, RunFunction, Runner

__all__ = ["EngineRunner", "FunctionRunner", "RunFunction", "Runner", "Scheduler"]

if TYPE_CHECKING:
    from iota_container.executors.process_pool import ProcessPool

log = logging.getLogger("iota_container")

# Outcomes counted in Scheduler.counts besides the versions' statuses.
ALREADY_CLAIMED = "already claimed"
BUSY = "busy"
ERROR = "error"
WITHDRAWN = "withdrawn"
MAX_RETRY_SECONDS = 300.0
# Claims a claiming runner may hold at once; each holds its dataset's lock file open.
CLAIM_AHEAD = 2048
# How far ahead of a window the process pool gets its workers ready: longer than a
# worker's start (imports and a kernel's boot: seconds on a loaded machine).
WARM_AHEAD = timedelta(seconds=60)


@dataclass
class _Entry:
    """A registered dataset, its parsed schedules, and its next trigger once computed."""

    dataset: RegisteredDataset
    schedules: list[Schedule]
    due: Due | None = None  # None while it runs, is paused, or has no trigger left
    waits_for_upstream: bool = False
    retry_at: float = 0.0  # monotonic: not before, after a busy dataset or an error
    errors: int = 0  # in a row, before a claim: the wait doubles with each, up to 5 min
    claimed_through: datetime | None = None  # the last window this scheduler claimed


# (due time, tie-breaker, due): a heap entry, current while its dataset's entry.due is it.
_Queued = tuple[datetime, int, Due]


@dataclass
class _State:
    entries: dict[str, _Entry] = field(default_factory=dict)
    dependents: dict[str, list[str]] = field(default_factory=dict)
    running: dict[str, Due] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)  # whose next trigger must be read again


class Scheduler:
    def __init__(
        self,
        store: StateStore,
        runner: Runner | RunFunction,
        *,
        clock: Clock | None = None,
        workers: int = 4,
        poll_seconds: float = 1.0,
        claim_ahead: int | None = None,
    ) -> None:
        """`claim_ahead`: how many triggers may be claimed and waiting for a worker, or
        running; by default CLAIM_AHEAD for a claiming runner, else `workers`."""
        if workers < 1:
            raise ValueError(f"workers is {workers}; a scheduler needs at least 1")
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds is {poll_seconds}; give a positive number")
        self.store = store
        self.runner: Runner = runner if isinstance(runner, Runner) else FunctionRunner(runner)
        default_ahead = CLAIM_AHEAD if self.runner.claims_ahead else workers
        self.claim_ahead = max(workers, claim_ahead or default_ahead)
        self.clock = clock or store.clock
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.counts: Counter[str] = Counter()  # run outcomes: SUCCEEDED, FAILED, BUSY, ...
        self._state = _State()
        self._lock = threading.Lock()  # guards _state and counts across worker threads
        self._wake = threading.Event()
        self._stopping = False
        self._abandoning = False
        self._seen_changes: int | None = None
        self._seen_registrations: tuple[object, ...] | None = None
        self._next_look = 0.0  # monotonic: when other processes' writes are looked at next
        # The main thread's own: what is due by time, and what is due but held back. A
        # heap, so that a pass costs what it starts, not the number of datasets.
        self._heap: list[_Queued] = []
        self._held: list[_Queued] = []
        self._tie = itertools.count()
        self._queue: queue.SimpleQueue[tuple[Due, object] | None] = queue.SimpleQueue()
        self._pool: ProcessPool | None = None
        self._pooled: tuple[object, frozenset[str]] = (None, frozenset())

    # -- the loop -----------------------------------------------------------------------

    def run(self, *, once: bool = False) -> list[Version]:
        """Run triggers until stop(); with `once`, until nothing is due or running.
        Returns the versions abandoned by stop(abandon=True), if any."""
        start_pool = getattr(self.runner, "start_process_pool", None)
        self._pool = start_pool(self.workers) if start_pool is not None else None
        start_runner = getattr(self.runner, "start", None)  # EngineRunner's worker processes
        if start_runner is not None:
            start_runner(self.workers)
        for number in range(self.workers):
            threading.Thread(target=self._work, name=f"worker {number}", daemon=True).start()
        self._follow_orphans()
        try:
            while True:
                self._wake.clear()
                if self._abandoning:
                    return self._abandon_running()
                dispatched, sleep = 0, self.poll_seconds
                try:
                    if not self._stopping:
                        self._refresh()
                        dispatched = self._dispatch(self.clock())
                        self._warm_pool(self.clock())
                    sleep = self._sleep_seconds()
                except (IotaError, sqlite3.Error) as e:  # a locked database, a bad clock file
                    if once:
                        raise
                    log.error("scheduler: %s; trying again in %.1f s", e, self.poll_seconds)
                with self._lock:
                    running = len(self._state.running)
                if not running and (self._stopping or (once and not dispatched)):
                    return []
                self._wake.wait(sleep)
        finally:
            for _ in range(self.workers):  # idle workers end; abandoned ones are daemons
                self._queue.put(None)
            if self._pool is not None:  # its waiting workers and their kernels; no new ones
                self._pool.close()
            close_runner = getattr(self.runner, "close", None)
            if close_runner is not None:  # idle worker processes end; busy ones after their run
                close_runner()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self, *, abandon: bool = False) -> None:
        """Stop claiming triggers; safe to call from a signal handler."""
        self._stopping = True
        self._abandoning = self._abandoning or abandon
        # Event.set takes a lock the interrupted main thread may hold: set it elsewhere.
        threading.Thread(target=self._wake.set, daemon=True).start()

    def _follow_orphans(self) -> None:
        """Before anything new: runs an earlier scheduler handed to a followable executor
        and died with go to workers like runs, to be followed to their end, not failed."""
        claim_orphans = getattr(self.runner, "claim_orphans", None)
        for claimed in claim_orphans() if claim_orphans is not None else ():
            due = Due(claimed.dataset.name, claimed.version.trigger, self.clock())
            with self._lock:
                self._state.running[due.dataset] = due
            self._queue.put((due, claimed))

    # -- what is due --------------------------------------------------------------------

    def _refresh(self) -> None:
        # The clock first: the counter is a query, and this runs at every run's end.
        if time.monotonic() >= self._next_look and (
            (changes := self.store.change_counter()) != self._seen_changes
        ):
            self._seen_changes = changes
            # Another connection wrote: most often this scheduler's own worker processes
            # finishing runs (run_processes.py), hundreds a second. So other processes'
            # writes are looked at once every poll_seconds at most (the option's promise),
            # and the registrations and their next triggers are read again only when
            # they changed: after every run, that would cost more than the runs.
            self._next_look = time.monotonic() + self.poll_seconds
            registrations = self.store.registrations_signature()
            if registrations != self._seen_registrations:
                self._seen_registrations = registrations
                self._reload()
            else:
                self._read_upstreams_again()
        state = self._state
        with self._lock:
            stale = {name for name in state.stale if name not in state.running}
            state.stale -= stale  # a run ending meanwhile marks its dataset again
            entries = [state.entries[name] for name in stale if name in state.entries]
        for entry in entries:
            entry.due, entry.waits_for_upstream = next_due(
                self.store, entry.dataset, entry.schedules, entry.claimed_through
            )
            if entry.due is not None:
                heapq.heappush(self._heap, (entry.due.due_at, next(self._tie), entry.due))

    def _reload(self) -> None:
        """Read the registrations again; schedules are parsed again only where changed."""
        previous = self._state.entries
        entries: dict[str, _Entry] = {}
        dependents: defaultdict[str, list[str]] = defaultdict(list)
        for dataset in self.store.datasets():
            known = previous.get(dataset.name)
            unchanged = known is not None and known.dataset.updated_at == dataset.updated_at
            try:
                schedules = known.schedules if known and unchanged else dataset.schedules()
            except ScheduleError as e:  # registration checks them: a hand-edited database
                log.error("dataset %s is not scheduled: %s", dataset.name, e)
                continue
            entries[dataset.name] = _Entry(dataset, schedules)
            for upstream in dataset.definition.triggering_datasets:
                dependents[upstream].append(dataset.name)
        with self._lock:
            self._state.entries, self._state.dependents = entries, dict(dependents)
            self._state.stale = set(entries)
        self._heap, self._held = [], []

    def _read_upstreams_again(self) -> None:
        """A run elsewhere (by hand) may have made an upstream version: the datasets
        triggered by a dataset look for their next trigger again."""
        with self._lock:
            self._state.stale.update(itertools.chain.from_iterable(self._state.dependents.values()))

    def _current(self, item: _Queued) -> bool:
        entry = self._state.entries.get(item[2].dataset)
        return entry is not None and entry.due is item[2]

    def _dispatch(self, now: datetime) -> int:
        """Start what is due, held-back triggers first, then the most overdue."""
        state, moment = self._state, time.monotonic()
        started: list[Due] = []
        with self._lock:
            free = self.claim_ahead - len(state.running)
            held, self._held = self._held, []
            for item in held:
                if self._current(item):
                    self._start_or_hold(item, started, free, moment)
            while self._heap and self._heap[0][0] <= now and len(started) < free:
                item = heapq.heappop(self._heap)
                if self._current(item):
                    self._start_or_hold(item, started, free, moment)
            for due in started:
                state.running[due.dataset] = due
                state.entries[due.dataset].due = None  # read again after the run
        if started:
            self._claim(started)
        return len(started)

    def _claim(self, dues: list[Due]) -> None:
        try:
            claims = self.runner.claim([(due.dataset, due.trigger) for due in dues])
        except Exception:  # a locked database: every one of them is tried again later
            log.exception("scheduler: claiming %d triggers failed", len(dues))
            for due in dues:
                self._finished(due, ERROR)
            return
        for due, claimed in zip(dues, claims):
            if isinstance(claimed, Exception):
                self._finished(due, self._outcome_of(due, claimed))
            else:
                self._queue.put((due, claimed))

    def _start_or_hold(self, item: _Queued, started: list[Due], free: int, moment: float) -> None:
        name = item[2].dataset
        entry = self._state.entries[name]
        if len(started) < free and entry.retry_at <= moment and not self._waits(name):
            started.append(item[2])
        else:
            self._held.append(item)

    def _waits(self, name: str) -> bool:
        """Whether `name` waits for a dataset it triggers (see the module docstring)."""
        for dependent in self._state.dependents.get(name, ()):
            entry = self._state.entries.get(dependent)
            if entry is None or entry.dataset.paused:
                continue
            if dependent in self._state.running or entry.waits_for_upstream:
                return True
        return False

    def _warm_pool(self, now: datetime) -> None:
        """Workers ready for the process runs claimed or due within WARM_AHEAD, so that a
        run due at 12:00 finds its interpreter, imports and kernel started at 12:00."""
        if self._pool is None:
            return
        state = self._state
        if self._pooled[0] is not state.entries:  # SQL datasets never need a worker
            pooled = {n for n, e in state.entries.items() if e.dataset.definition.container_action}
            self._pooled = (state.entries, frozenset(pooled))
        names = self._pooled[1]
        if not names:  # this runs at every run's end: a thousand SQL runs a minute
            self._pool.warm(0)
            return
        with self._lock:
            runs_soon = sum(1 for name in state.running if name in names)
        horizon = now + WARM_AHEAD
        runs_soon += sum(
            1
            for item in (*self._heap, *self._held)
            if item[0] <= horizon and item[2].dataset in names and self._current(item)
        )
        self._pool.warm(runs_soon)

    def _sleep_seconds(self) -> float:
        """Until the next due time, at most poll_seconds. Triggers due but waiting (for a
        worker, a dependent, a busy dataset) are looked at again when a run ends."""
        while self._heap and not self._current(self._heap[0]):
            heapq.heappop(self._heap)
        if not self._heap:
            return self.poll_seconds
        ahead = (self._heap[0][0] - self.clock()).total_seconds()
        return self.poll_seconds if ahead <= 0 else min(self.poll_seconds, ahead)

    # -- one run ------------------------------------------------------------------------

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            due, claimed = item
            if self._stopping:  # stop() claims nothing more, and starts nothing claimed
                self._withdraw(due, claimed)
            else:
                self._fire(due, claimed)

    def _withdraw(self, due: Due, claimed: object) -> None:
        try:
            self.runner.withdraw(claimed)
        except Exception:
            log.exception("dataset %s (%s): withdrawing", due.dataset, due.trigger.describe())
        self._finished(due, WITHDRAWN)

    def _fire(self, due: Due, claimed: object) -> None:
        outcome = ERROR
        try:
            fired_at = self.clock()
            lateness = (fired_at - due.due_at).total_seconds()
            _event(
                f"fire {due.dataset} {due.trigger.describe()} late {lateness:.3f} s",
                event="fire",
                dataset=due.dataset,
                trigger=due.trigger.to_json(),
                dueAt=to_text(due.due_at),
                firedAt=to_text(fired_at),
                latenessSeconds=round(lateness, 6),
            )
            version = self.runner.run(claimed)
            outcome = version.status
            _event(
                f"{due.dataset} version {version.id} {version.status} "
                f"({due.trigger.describe()}){': ' + version.reason if version.reason else ''}",
                event="finish",
                dataset=due.dataset,
                versionId=version.id,
                status=version.status,
                reason=version.reason,
            )
        except Exception as e:  # a bug in one run must not stop the others
            outcome = self._outcome_of(due, e)
        finally:
            self._finished(due, outcome)

    def _outcome_of(self, due: Due, error: object) -> str:
        """Log why a trigger did not run, and say what to count it as."""
        if isinstance(error, TriggerAlreadyClaimed):  # another scheduler on this home ran it
            log.info("%s", error)
            return ALREADY_CLAIMED
        if isinstance(error, DatasetBusy):
            log.info("%s: retrying in %.1f s", error, self.poll_seconds)
            return BUSY
        if isinstance(error, RunWithdrawn):  # given up by a stop: it runs after a restart
            log.info("%s", error)
            return WITHDRAWN
        if isinstance(error, IotaError):
            log.error("dataset %s (%s) did not run: %s", due.dataset, due.trigger.describe(), error)
        elif isinstance(error, Exception):
            log.error(
                "dataset %s (%s): internal error",
                due.dataset,
                due.trigger.describe(),
                exc_info=error,
            )
        return ERROR

    def _finished(self, due: Due, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1
            state = self._state
            state.running.pop(due.dataset, None)
            state.stale.update((due.dataset, *state.dependents.get(due.dataset, ())))
            entry = state.entries.get(due.dataset)
            if entry is not None:
                # An error before the claim (no Docker engine, say) would otherwise be
                # retried at once, again and again: back off.
                entry.errors = entry.errors + 1 if outcome == ERROR else 0
                delay = self.poll_seconds if outcome == BUSY else 0.0
                if entry.errors:
                    delay = min(MAX_RETRY_SECONDS, self.poll_seconds * 2**entry.errors)
                entry.retry_at = time.monotonic() + delay
                # The window it ran is the cursor, without a query. Claimed elsewhere, or
                # not claimed: the store says where the cursor is (another process may have
                # skipped a month of windows).
                ran = outcome not in (ALREADY_CLAIMED, BUSY, ERROR, WITHDRAWN)
                entry.claimed_through = due.trigger.schedule_time if ran else None
        self._wake.set()

    def _abandon_running(self) -> list[Version]:
        with self._lock:
            running = list(self._state.running.values())
        abandoned = []
        for due in running:
            for version in self.store.versions(due.dataset):
                # A followable executor's run goes on: the next scheduler follows it.
                followed = version.followable
                if version.status == CREATING and version.trigger == due.trigger and not followed:
                    # One still waiting for a worker is withdrawn: it runs after a restart.
                    failed = self.store.interrupt(version)
                    if failed is not None:
                        abandoned.append(failed)
                        log.warning("abandoned %s version %s", due.dataset, version.id)
        return abandoned


def _event(message: str, **fields: Any) -> None:
    """One log line; `--json-log` prints `fields` as a JSON object instead."""
    log.info("%s", message, extra={"fields": fields})
