"""The scheduler's decisions: which windows are due, catch-up and --latest-only, dataset
triggers, one claim per trigger, the worker bound, stopping, and its clock file.

A real store (SQLite in a temp folder) and an injected clock. The runner is a fake that
claims and finishes versions through the store as the engine does, because the engine is
not the subject here; tests/integration/test_scheduler_process.py runs the real one in a
real scheduler process.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from iota_container.cli import main
from iota_container.engine.home import Home
from iota_container.engine.records import (
    CREATING,
    FAILED,
    INTERRUPTED,
    MODE_PROCESS,
    SCHEDULE,
    SUCCEEDED,
    Trigger,
    Version,
    utc_now,
)
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from iota_container.errors import IotaError
from iota_container.schedule.expressions import parse_schedule
from iota_container.scheduler.clock import CLOCK_FILE_ENV, FileClock, scheduler_clock
from iota_container.scheduler.due import (
    next_window,
    pending_upstream_versions,
    skip_missed,
    windows_between,
)
from iota_container.scheduler.loop import ALREADY_CLAIMED, WITHDRAWN, EngineRunner, Scheduler
from tests.dataset_helpers import container_dataset, sql_dataset, write_definition

START = datetime(2025, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
EVERY_MINUTE = "cron(* * * * ? *)"


def minute(n: int) -> datetime:
    """The window n minutes after 12:00."""
    return datetime(2025, 3, 1, 12, n, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeRunner:
    """Claims the trigger (StateStore.start_version, as the engine does) and finishes the
    version at once; `fail` names datasets whose versions fail."""

    def __init__(self, store: StateStore, *, fail: tuple[str, ...] = (), hold: float = 0) -> None:
        self.store, self.fail, self.hold = store, fail, hold
        self.calls: list[tuple[str, Trigger]] = []
        self.lock = threading.Lock()
        self.active: set[str] = set()
        self.most_at_once = 0

    def __call__(self, name: str, trigger: Trigger) -> Version:
        version = self.store.start_version(name, trigger, MODE_PROCESS)
        with self.lock:
            assert name not in self.active, f"{name} ran twice at once"
            self.active.add(name)
            self.most_at_once = max(self.most_at_once, len(self.active))
            self.calls.append((name, trigger))
        time.sleep(self.hold)
        with self.lock:
            self.active.discard(name)
        status = FAILED if name in self.fail else SUCCEEDED
        reason = "test" if status == FAILED else None
        return self.store.finish_version(version, status, reason=reason)

    def windows(self, name: str) -> list[datetime | None]:
        return [t.schedule_time for n, t in self.calls if n == name and t.kind == SCHEDULE]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> StateStore:
    return StateStore(Home.locate(tmp_path / "home"), clock=clock)


def register(store: StateStore, folder: Path, *documents: dict[str, Any]) -> None:
    store.register(*(write_definition(folder, document) for document in documents))


def scheduled(name: str, *expressions: str) -> dict[str, Any]:
    document = sql_dataset(name, command="true")
    document["triggers"] = [{"schedule": {"expression": e}} for e in expressions]
    return document


def triggered(name: str, upstream: str) -> dict[str, Any]:
    return container_dataset(name, triggers=[{"dataset": {"name": upstream}}])


def run_once(store: StateStore, runner: Any, **options: Any) -> Scheduler:
    scheduler = Scheduler(store, runner, **options)
    scheduler.run(once=True)
    return scheduler


# -- windows ------------------------------------------------------------------------------


def test_windows_of_several_schedules_merge_and_never_repeat() -> None:
    schedules = [parse_schedule("cron(0/2 * * * ? *)"), parse_schedule("cron(0/3 * * * ? *)")]
    assert list(windows_between(schedules, minute(0), minute(9))) == [
        minute(n) for n in (2, 3, 4, 6, 8, 9)
    ]
    assert next_window(schedules, minute(9)) == minute(10)
    assert next_window([], minute(0)) is None


def test_windows_before_registration_never_run(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    clock.now = minute(7) + timedelta(seconds=20)
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE))
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.calls == []
    clock.advance(minutes=1)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(8)]


def test_a_rate_is_anchored_at_registration(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    clock.now = minute(7) + timedelta(seconds=30)
    register(store, tmp_path, scheduled("readings", "rate(15 minutes)"))
    clock.now = minute(40)
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(22), minute(37)]


# -- catch-up, pause and --latest-only ----------------------------------------------------


def test_missed_windows_run_once_each_in_order(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE))
    clock.advance(minutes=5)  # 12:05:30: the scheduler was down since 12:00:30
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(n) for n in range(1, 6)]
    run_once(store, runner)  # a restart at the same time runs nothing again
    assert len(runner.calls) == 5
    assert store.last_schedule_window("readings") == minute(5)


def test_a_paused_dataset_claims_nothing_and_catches_up_on_resume(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE), scheduled("other", EVERY_MINUTE))
    store.set_paused("readings", True)
    clock.advance(minutes=3)
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.windows("readings") == []
    assert runner.windows("other") == [minute(1), minute(2), minute(3)]
    store.set_paused("readings", False)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(1), minute(2), minute(3)]


def test_latest_only_runs_the_newest_missed_window_and_never_the_others(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE))
    store.set_paused("readings", True)
    clock.advance(minutes=5)
    skipped = skip_missed(store, store.dataset("readings"), clock(), "dataset resume")
    assert (skipped.windows, skipped.first_window, skipped.last_window) == (4, minute(1), minute(4))
    assert skipped.describe() == (
        "readings: skipped 4 schedule window(s) "
        "(2025-03-01T12:01:00.000000Z through 2025-03-01T12:04:00.000000Z)"
    )
    store.set_paused("readings", False)
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(5)]
    assert store.is_claimed("readings", Trigger.schedule(minute(4)))
    clock.advance(minutes=1)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(5), minute(6)]
    # Nothing missed: nothing to skip, and a second resume changes nothing.
    assert skip_missed(store, store.dataset("readings"), clock(), "again").windows == 0


def test_resume_latest_only_on_the_command_line_uses_the_scheduler_clock(
    store: StateStore, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE))
    store.set_paused("readings", True)
    clock_file = tmp_path / "now"
    clock_file.write_text("2025-03-01T12:03:10Z\n")
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock_file))
    home = str(store.home.root)
    result = CliRunner().invoke(
        main, ["dataset", "resume", "readings", "--latest-only", "--home", home]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "readings: skipped 2 schedule window(s) "
        "(2025-03-01T12:01:00.000000Z through 2025-03-01T12:02:00.000000Z)",
        "readings resumed",
    ]
    assert not store.dataset("readings").paused
    clock.now = minute(3) + timedelta(seconds=10)
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.windows("readings") == [minute(3)]


# -- dataset triggers ---------------------------------------------------------------------


def test_each_succeeded_upstream_version_triggers_one_run_before_the_next_window(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE), triggered("report", "readings"))
    clock.advance(minutes=3)
    runner = FakeRunner(store)
    run_once(store, runner)
    kinds = [(name, t.schedule_time or t.upstream_version) for name, t in runner.calls]
    assert [name for name, _ in kinds] == ["readings", "report"] * 3
    # Each upstream version is read before the next window's version can prune it.
    readings_ids = [key for name, key in kinds if name == "readings"]
    assert readings_ids == [minute(1), minute(2), minute(3)]
    report_triggers = [t for name, t in runner.calls if name == "report"]
    assert all(t.upstream_dataset == "readings" for t in report_triggers)
    assert len({t.upstream_version for t in report_triggers}) == 3
    run_once(store, runner)
    assert len(runner.calls) == 6


def test_only_new_succeeded_upstream_versions_trigger(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, sql_dataset("readings", command="true"))
    readings = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
    store.finish_version(readings, SUCCEEDED)  # before report existed: triggers nothing
    clock.advance(seconds=5)
    register(store, tmp_path, triggered("report", "readings"))
    clock.advance(seconds=5)
    failed = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
    store.finish_version(failed, FAILED, reason="no rows")
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.calls == []
    clock.advance(seconds=5)
    by_hand = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
    store.finish_version(by_hand, SUCCEEDED)
    run_once(store, runner)
    assert runner.calls == [("report", Trigger.dataset("readings", by_hand.id))]


def test_the_pending_upstream_versions_are_one_query_however_many_the_upstream_keeps(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    """Asked after every upstream run: an upstream keeping every version of a minute
    schedule has 1,440 a day, which checked one query each cost the loop 73 ms a look."""
    readings = sql_dataset("readings", command="true")
    readings["versioningConfiguration"] = {"unlimited": True}
    register(store, tmp_path, readings, triggered("report", "readings"))
    report = store.dataset("report")

    def add_claimed_versions(count: int) -> None:
        for _ in range(count):
            clock.advance(seconds=1)
            version = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
            store.finish_version(version, SUCCEEDED)
            store.skip_triggers("report", [Trigger.dataset("readings", version.id)], "test")

    def statements_of_a_look() -> tuple[int, list[str]]:
        statements: list[str] = []
        store._connection.set_trace_callback(statements.append)
        try:
            pending = pending_upstream_versions(store, report)
        finally:
            store._connection.set_trace_callback(None)
        return len(statements), [v.id for v in pending]

    add_claimed_versions(3)
    few = statements_of_a_look()
    add_claimed_versions(60)
    clock.advance(seconds=1)
    failed = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
    store.finish_version(failed, FAILED, reason="no rows")
    clock.advance(seconds=1)
    new = store.finish_version(
        store.start_version("readings", Trigger.manual(), MODE_PROCESS), SUCCEEDED
    )
    assert few == (few[0], [])
    assert statements_of_a_look() == (few[0], [new.id])  # the one succeeded and unclaimed


def test_latest_only_skips_all_but_the_newest_upstream_version(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    readings = sql_dataset("readings", command="true")
    readings["versioningConfiguration"] = {"unlimited": True}
    register(store, tmp_path, readings, triggered("report", "readings"))
    store.set_paused("report", True)
    ids = []
    for _ in range(3):
        clock.advance(seconds=10)
        version = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
        ids.append(store.finish_version(version, SUCCEEDED).id)
    skipped = skip_missed(store, store.dataset("report"), clock(), "dataset resume")
    assert skipped.upstream_versions == tuple(ids[:2])
    store.set_paused("report", False)
    runner = FakeRunner(store)
    run_once(store, runner)
    assert runner.calls == [("report", Trigger.dataset("readings", ids[2]))]


# -- exactly once -------------------------------------------------------------------------


def test_two_schedulers_on_one_home_claim_each_window_once(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, *(scheduled(f"d{i}", EVERY_MINUTE) for i in range(4)))
    clock.advance(minutes=3)
    other_store = StateStore(store.home, clock=clock)  # its own connection, as another process
    runners = [FakeRunner(store, hold=0.01), FakeRunner(other_store, hold=0.01)]
    schedulers = [Scheduler(s, r, workers=2) for s, r in zip((store, other_store), runners)]
    threads = [threading.Thread(target=s.run, kwargs={"once": True}) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    calls = runners[0].calls + runners[1].calls
    assert sorted(calls, key=repr) == sorted(
        [(f"d{i}", Trigger.schedule(minute(n))) for i in range(4) for n in (1, 2, 3)], key=repr
    )
    assert sum(s.counts[SUCCEEDED] for s in schedulers) == 12
    # A race lost ends in TriggerAlreadyClaimed before anything runs, and is counted.
    assert (
        sum(s.counts[ALREADY_CLAIMED] for s in schedulers)
        == sum(s.counts.total() for s in schedulers) - 12
    )


def test_an_interrupted_run_fails_and_is_not_run_again(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE))
    clock.advance(minutes=2)
    # A scheduler killed in the middle of the 12:01 run left its version CREATING.
    store.start_version("readings", Trigger.schedule(minute(1)), MODE_PROCESS)
    restarted = StateStore(store.home, clock=clock)  # opening marks it (the lock is free)
    runner = FakeRunner(restarted)
    run_once(restarted, runner)
    assert runner.windows("readings") == [minute(2)]
    statuses = {v.trigger.schedule_time: (v.status, v.reason) for v in store.versions("readings")}
    assert statuses[minute(1)] == (FAILED, INTERRUPTED)


def test_runs_are_bounded_by_the_workers_and_one_per_dataset(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, *(scheduled(f"d{i}", EVERY_MINUTE) for i in range(5)))
    clock.advance(minutes=2)
    runner = FakeRunner(store, hold=0.02)
    scheduler = run_once(store, runner, workers=2)
    assert runner.most_at_once == 2
    assert scheduler.counts[SUCCEEDED] == 10


def test_the_engine_runner_claims_every_due_window_at_once_and_runs_them_on_the_workers(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, *(scheduled(f"d{i}", EVERY_MINUTE) for i in range(3)))
    clock.advance(minutes=1)
    claimed_at: list[list[datetime]] = []
    runner = EngineRunner(DatasetEngine(store), use_container=False)
    original_run = runner.run

    def run_and_look(claimed: Any) -> Version:
        # When the first run starts, the other two are claimed already (CREATING).
        claimed_at.append([v.created_at for n in ("d0", "d1", "d2") for v in store.versions(n)])
        return original_run(claimed)

    runner.run = run_and_look  # type: ignore[method-assign]
    scheduler = Scheduler(store, runner, workers=1)
    scheduler.run(once=True)
    assert len(claimed_at[0]) == 3
    assert scheduler.counts[SUCCEEDED] == 3
    assert all(v.status == SUCCEEDED for n in ("d0", "d1", "d2") for v in store.versions(n))


def test_stop_withdraws_claims_not_started_and_a_restart_runs_them_once(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    names = ("a", "b", "c")
    for name in names:
        slow = sql_dataset(name, command="sleep 1")
        slow["triggers"] = [{"schedule": {"expression": EVERY_MINUTE}}]
        register(store, tmp_path, slow)
    clock.advance(minutes=1)
    scheduler = Scheduler(store, EngineRunner(DatasetEngine(store), False), workers=1)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    deadline = time.monotonic() + 20
    while not any(v.started_at for name in names for v in store.versions(name)):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    scheduler.stop()
    thread.join(20)
    assert scheduler.counts == {SUCCEEDED: 1, WITHDRAWN: 2}
    assert sorted(len(store.versions(name)) for name in names) == [0, 0, 1]
    again = run_once(store, EngineRunner(DatasetEngine(store), False))
    assert again.counts == {SUCCEEDED: 2}
    for name in names:
        (version,) = store.versions(name)
        assert (version.status, version.trigger.schedule_time) == (SUCCEEDED, minute(1))


# -- waiting and stopping -----------------------------------------------------------------


def test_the_loop_sleeps_until_something_is_due(store: StateStore, tmp_path: Path) -> None:
    register(store, tmp_path, scheduled("readings", "cron(0 0 * * ? *)"))
    looks = 0

    def counting_clock() -> datetime:
        nonlocal looks
        looks += 1
        return START

    scheduler = Scheduler(store, FakeRunner(store), clock=counting_clock, poll_seconds=0.05)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    time.sleep(0.5)
    scheduler.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert looks < 40, f"{looks} looks at the clock in 0.5 s: a busy loop"


def test_a_run_that_cannot_start_is_retried_later_not_at_once(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    register(store, tmp_path, scheduled("readings", EVERY_MINUTE))
    clock.advance(minutes=1)
    attempts: list[float] = []

    def no_engine(name: str, trigger: Trigger) -> Version:
        attempts.append(time.monotonic())
        raise IotaError("a container run needs a Docker engine, and none answers")

    scheduler = Scheduler(store, no_engine, poll_seconds=0.05)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    time.sleep(0.6)
    scheduler.stop()
    thread.join(5)
    # Waits of 0.1, 0.2, 0.4 s between attempts, instead of one attempt after another.
    assert 2 <= len(attempts) <= 4, attempts
    assert scheduler.counts == {"error": len(attempts)}


@pytest.mark.parametrize("abandon", [False, True], ids=["stop", "abandon"])
def test_stop_waits_for_runs_and_abandon_fails_them(
    store: StateStore, clock: Clock, tmp_path: Path, abandon: bool
) -> None:
    register(store, tmp_path, scheduled("slow", EVERY_MINUTE))
    clock.advance(minutes=1)
    release = threading.Event()

    def blocked(name: str, trigger: Trigger) -> Version:
        version = store.start_version(name, trigger, MODE_PROCESS)
        release.wait(10)
        return store.finish_version(version, SUCCEEDED)

    scheduler = Scheduler(store, blocked, poll_seconds=0.05)
    abandoned: list[list[Version]] = []
    thread = threading.Thread(target=lambda: abandoned.append(scheduler.run()))
    thread.start()
    deadline = time.monotonic() + 10
    while not any(v.status == CREATING for v in store.versions("slow")):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    scheduler.stop(abandon=abandon)
    if not abandon:
        time.sleep(0.2)
        assert thread.is_alive()  # still waiting for the run under way
        release.set()
    thread.join(5)
    assert not thread.is_alive()
    (version,) = store.versions("slow")
    if abandon:
        assert abandoned == [[version]]
        assert (version.status, version.reason) == (FAILED, INTERRUPTED)
    else:
        assert (abandoned, version.status) == ([[]], SUCCEEDED)
    release.set()


# -- the clock file -----------------------------------------------------------------------


def test_the_clock_file_is_read_at_every_look(tmp_path: Path) -> None:
    path = tmp_path / "now"
    clock = scheduler_clock({CLOCK_FILE_ENV: str(path)})
    assert isinstance(clock, FileClock)
    path.write_text("2025-03-01T12:00:05Z")
    assert clock() == datetime(2025, 3, 1, 12, 0, 5, tzinfo=timezone.utc)
    path.write_text("2025-03-01T14:00:00+02:00\n")
    assert clock() == datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    path.write_text("2025-03-01T12:00:00")
    with pytest.raises(IotaError, match="a time without a zone: add one"):
        clock()
    path.write_text("noon")
    with pytest.raises(IotaError, match="holds 'noon', which is not an ISO 8601 time"):
        clock()
    with pytest.raises(IotaError, match="cannot be read"):
        FileClock(tmp_path / "missing")()
    assert scheduler_clock({}) is utc_now
