"""The state database: migrations, registration, trigger claims, crash recovery (a real
SIGKILLed process) and retention."""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from iota_container.engine import version_rows
from iota_container.engine.home import Home
from iota_container.engine.locks import DatasetBusy, dataset_lock
from iota_container.engine.records import (
    CREATING,
    FAILED,
    INTERRUPTED,
    LATEST,
    LATEST_SUCCEEDED,
    MODE_PROCESS,
    SUCCEEDED,
    Delivery,
    Trigger,
    Version,
)
from iota_container.engine.state_store import (
    StateStore,
    TriggerAlreadyClaimed,
    UnknownDataset,
    UnknownVersion,
)
from iota_container.engine.store_schema import MIGRATIONS, Migration, StateError, schema_version
from tests.dataset_helpers import container_dataset, content_var, sql_dataset, write_definition

START = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
NEXT = MIGRATIONS[-1].number + 1
T = TypeVar("T")  # a migration this code does not have yet


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.locate(tmp_path / "home")


@pytest.fixture
def store(home: Home, clock: Clock) -> StateStore:
    return StateStore(home, clock=clock)


def register(store: StateStore, folder: Path, *documents: dict[str, object]) -> None:
    store.register(*(write_definition(folder, document) for document in documents))


def add_version(
    store: StateStore, name: str, status: str, trigger: Trigger | None = None
) -> Version:
    version = store.start_version(name, trigger or Trigger.manual(), MODE_PROCESS)
    if status == CREATING:
        return version
    return store.finish_version(version, status, reason="test" if status == FAILED else None)


# -- migrations ---------------------------------------------------------------------------


def test_a_new_database_gets_every_migration_once(home: Home) -> None:
    StateStore(home).close()
    StateStore(home).close()  # reopening applies nothing again
    with sqlite3.connect(home.database) as db:
        rows = db.execute("SELECT number FROM schema_migrations").fetchall()
        assert rows == [(m.number,) for m in MIGRATIONS]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_older_database_is_upgraded_in_place(home: Home, tmp_path: Path) -> None:
    with StateStore(home) as old:
        register(old, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    extra = Migration(NEXT, "a note per dataset", "ALTER TABLE datasets ADD COLUMN note TEXT;")
    with StateStore(home, migrations=(*MIGRATIONS, extra)) as upgraded:
        assert upgraded.dataset("readings").name == "readings"
        with sqlite3.connect(home.database) as db:
            assert schema_version(db) == NEXT
            assert db.execute("SELECT note FROM datasets").fetchall() == [(None,)]


def test_claims_kept_after_their_versions_were_pruned_lose_their_version_on_upgrade(
    home: Home, clock: Clock, tmp_path: Path
) -> None:
    """Before migration 8 such a claim kept the id of its deleted version; prune now
    looks only at claims with none (trigger_claims.prune)."""
    before = tuple(m for m in MIGRATIONS if m.number < 8)
    with StateStore(home, clock=clock, migrations=before) as old:
        register(old, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
        gone = add_version(old, "readings", SUCCEEDED, Trigger.schedule(START))
        kept = add_version(old, "readings", SUCCEEDED, Trigger.schedule(START + timedelta(hours=1)))
        old._connection.execute("DELETE FROM versions WHERE id = ?", (gone.id,))
    with StateStore(home, clock=clock), sqlite3.connect(home.database) as db:
        rows = db.execute("SELECT claim_key, version_id FROM trigger_claims ORDER BY 1")
        assert rows.fetchall() == [
            (Trigger.schedule(START).claim_key, ""),
            (Trigger.schedule(START + timedelta(hours=1)).claim_key, kept.id),
        ]


def test_a_failed_migration_leaves_the_database_as_it_was(home: Home) -> None:
    StateStore(home).close()
    broken = Migration(NEXT, "broken", "CREATE TABLE notes (id INTEGER);\nNOT SQL AT ALL;")
    with pytest.raises(StateError, match="cannot open the state database"):
        StateStore(home, migrations=(*MIGRATIONS, broken))
    with sqlite3.connect(home.database) as db:
        assert schema_version(db) == NEXT - 1
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "notes" not in tables


def test_a_database_from_a_newer_version_is_refused(home: Home) -> None:
    newer = Migration(99, "from the future", "CREATE TABLE future (id INTEGER);")
    StateStore(home, migrations=(*MIGRATIONS, newer)).close()
    message = f"has schema 99, newer than this iota-container's {NEXT - 1}"
    with pytest.raises(StateError, match=message):
        StateStore(home)


# -- registration -------------------------------------------------------------------------


def test_registration_keeps_the_creation_time_as_the_rate_anchor(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    document = container_dataset("report", triggers=[{"schedule": {"expression": "rate(7 days)"}}])
    clock.now = START + timedelta(seconds=42)
    register(store, tmp_path / "defs", document)
    clock.now = START + timedelta(days=3)
    register(store, tmp_path / "defs", document)  # an update, not a new dataset
    dataset = store.dataset("report")
    assert dataset.created_at == START + timedelta(seconds=42)
    assert dataset.updated_at == START + timedelta(days=3)
    (schedule,) = dataset.schedules()
    assert schedule.next_after(START + timedelta(days=1)) == START + timedelta(days=7)
    assert dataset.source_file == tmp_path / "defs" / "report.json"


def test_a_dataset_not_registered_yet_is_a_warning_at_registration(
    store: StateStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The account may hold it, or it is registered later: only a run needs it."""
    report = container_dataset("report", content_var("readings", "readings"))
    register(store, tmp_path / "defs", report)
    assert "dataset 'readings' is not defined" in caplog.text
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"), report)
    assert [d.name for d in store.datasets()] == ["readings", "report"]
    with pytest.raises(Exception, match="'readings' is used by report: unregister those first"):
        store.unregister("readings")


def test_unregistering_forgets_the_versions_and_their_files(
    store: StateStore, tmp_path: Path
) -> None:
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    version = add_version(store, "readings", SUCCEEDED)
    store.home.version_dir("readings", version.id).mkdir(parents=True)
    with dataset_lock(store.home.lock_path("readings"), "readings"), pytest.raises(DatasetBusy):
        store.unregister("readings")
    store.unregister("readings")
    assert store.datasets() == []
    assert not store.home.dataset_dir("readings").exists()
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    assert store.versions("readings") == []


def test_unknown_names_say_what_is_registered(store: StateStore, tmp_path: Path) -> None:
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    with pytest.raises(
        UnknownDataset, match=r"no dataset 'nope' is registered \(registered: readings\)"
    ):
        store.dataset("nope")
    with pytest.raises(UnknownVersion, match="dataset 'readings' has no version: list them"):
        store.version("readings", LATEST)


# -- versions and claims --------------------------------------------------------------------


def test_latest_and_latest_succeeded(store: StateStore, tmp_path: Path) -> None:
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    good = add_version(store, "readings", SUCCEEDED)
    bad = add_version(store, "readings", FAILED)
    assert store.version("readings", LATEST).id == bad.id
    assert store.version("readings", LATEST_SUCCEEDED).id == good.id
    assert store.version("readings", good.id) == good
    assert [v.id for v in store.versions("readings")] == [bad.id, good.id]


def test_a_schedule_window_and_an_upstream_version_trigger_one_version(
    store: StateStore, tmp_path: Path
) -> None:
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    window = Trigger.schedule(START + timedelta(hours=1, seconds=30))  # floored to the minute
    add_version(store, "readings", SUCCEEDED, window)
    with pytest.raises(TriggerAlreadyClaimed, match="already ran for schedule 2025-03-01T13:00"):
        store.start_version("readings", Trigger.schedule(START + timedelta(hours=1)), MODE_PROCESS)
    assert store.last_schedule_window("readings") == START + timedelta(hours=1)
    upstream = Trigger.dataset("other", "v-1")
    add_version(store, "readings", SUCCEEDED, upstream)
    assert store.is_claimed("readings", upstream)
    assert not store.is_claimed("readings", Trigger.dataset("other", "v-2"))
    add_version(store, "readings", SUCCEEDED)  # manual runs claim nothing
    add_version(store, "readings", SUCCEEDED)


# -- crash recovery ---------------------------------------------------------------------------

HOLD_A_RUN = """
import sys
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
DatasetEngine(StateStore.open(sys.argv[1])).run("slow")
"""


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_version_whose_process_was_killed_becomes_failed(home: Home, tmp_path: Path) -> None:
    with StateStore(home) as store:
        register(store, tmp_path / "defs", sql_dataset("slow", command="sleep 120"))
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, str(home.root)], start_new_session=True
    )
    try:
        with StateStore(home) as watcher:
            wait_for(lambda: any(v.status == CREATING for v in watcher.versions("slow")))
        with StateStore(home) as alive:  # the process still holds the lock: not recovered
            (running,) = alive.versions("slow")
            assert (running.status, running.owner_pid) == (CREATING, process.pid)
        process.send_signal(signal.SIGKILL)  # the engine only; its `sleep` lives on
        process.wait(30)
        with StateStore(home) as reopened:
            (version,) = reopened.versions("slow")
            assert (version.status, version.reason) == (FAILED, INTERRUPTED)
            assert version.finished_at is not None
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def sqlite_instructions(store: StateStore, action: Callable[[], T]) -> tuple[int, T]:
    """The SQLite virtual machine instructions `action` takes on the store's connection,
    and its result: a cost that does not depend on the machine's speed."""
    count = 0

    def step() -> int:
        nonlocal count
        count += 1
        return 0  # go on

    store._connection.set_progress_handler(step, 1)
    try:
        result = action()
    finally:
        store._connection.set_progress_handler(None, 1)
    return count, result


# -- retention --------------------------------------------------------------------------------


def statuses(store: StateStore, name: str) -> list[str]:
    return [v.status for v in store.versions(name)]


@pytest.mark.parametrize(
    ("versioning", "kept"),
    [
        (None, [FAILED, SUCCEEDED]),  # the service's default: latest + latest succeeded
        ({"maxVersions": 2}, [FAILED, FAILED, SUCCEEDED]),  # + latest succeeded: our choice
        ({"unlimited": True}, [FAILED, FAILED, SUCCEEDED, SUCCEEDED]),
    ],
)
def test_versioning_keeps_the_newest_and_the_latest_succeeded(
    store: StateStore, tmp_path: Path, versioning: dict[str, object] | None, kept: list[str]
) -> None:
    document = sql_dataset("readings", file="r.csv")
    if versioning:
        document["versioningConfiguration"] = versioning
    register(store, tmp_path / "defs", document)
    for status in (SUCCEEDED, SUCCEEDED, FAILED, FAILED):
        add_version(store, "readings", status)
    store.apply_retention("readings")
    assert statuses(store, "readings") == kept


def test_retention_period_removes_old_versions_and_their_files(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    document = sql_dataset("readings", file="r.csv")
    document["versioningConfiguration"] = {"unlimited": True}
    document["retentionPeriod"] = {"numberOfDays": 2}
    register(store, tmp_path / "defs", document)
    old = add_version(store, "readings", SUCCEEDED, Trigger.schedule(clock.now))
    folders = [store.home.version_dir("readings", old.id), Path(old.output_prefix[7:])]
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / "content.csv").write_text("a,b\n")
    clock.now += timedelta(days=2, minutes=1)
    running = add_version(store, "readings", CREATING)
    recent = add_version(store, "readings", SUCCEEDED)
    assert [v.id for v in store.apply_retention("readings")] == [old.id]
    assert [v.id for v in store.versions("readings")] == [recent.id, running.id]
    assert not any(folder.exists() for folder in folders)
    # The pruned version's window is still claimed: a scheduler never runs it again.
    assert store.last_schedule_window("readings") == START


def test_no_retention_period_means_ninety_days(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    document = sql_dataset("readings", file="r.csv")
    document["versioningConfiguration"] = {"unlimited": True}
    register(store, tmp_path / "defs", document)
    add_version(store, "readings", SUCCEEDED)
    clock.now += timedelta(days=89)
    add_version(store, "readings", SUCCEEDED)
    clock.now += timedelta(days=2)
    assert len(store.apply_retention("readings")) == 1
    assert len(store.versions("readings")) == 1


@pytest.mark.parametrize(
    "retention", [None, {"numberOfDays": 30}], ids=["ninety-days", "thirty-days"]
)
def test_the_check_after_each_run_costs_the_same_for_ten_versions_or_two_thousand(
    store: StateStore, tmp_path: Path, retention: dict[str, object] | None
) -> None:
    """Retention is asked after every run, and a minute schedule keeping every version
    makes 1,440 a day: the SQLite instructions the check takes must not grow with them.
    (With maxVersions, at most 1,000, it visits no more versions than that.)"""
    document = sql_dataset("readings", file="r.csv")
    document["versioningConfiguration"] = {"unlimited": True}
    if retention:
        document["retentionPeriod"] = retention
    register(store, tmp_path / "defs", document)

    store.start_versions([("readings", Trigger.manual(), MODE_PROCESS)] * 10)
    few, pruned = sqlite_instructions(store, lambda: store.apply_retention("readings"))
    store.start_versions([("readings", Trigger.manual(), MODE_PROCESS)] * 1990)
    assert len(store.versions("readings")) == 2000
    assert sqlite_instructions(store, lambda: store.apply_retention("readings")) == (few, [])
    assert few > 0 and pruned == []


def test_pruning_by_age_alone_reads_the_versions_past_it_not_every_one_kept(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    """Every version kept by count, for 2 days: at a minute schedule's steady state one
    version ages out at every run, among the 2,880 kept. Two datasets alike but for how
    many recent versions they keep: pruning the one old version costs each the same."""
    recent = {"readings_a": 10, "readings_b": 300}
    for name in recent:
        document = sql_dataset(name, file="r.csv")
        document["versioningConfiguration"] = {"unlimited": True}
        document["retentionPeriod"] = {"numberOfDays": 2}
        register(store, tmp_path / "defs", document)
    old = {name: add_version(store, name, SUCCEEDED) for name in recent}
    clock.now += timedelta(days=2, minutes=1)
    for name, count in recent.items():
        # Each its schedule window's: a claim each, which pruning must not visit either.
        windows = [Trigger.schedule(clock.now + timedelta(minutes=m)) for m in range(count)]
        for claimed in store.start_versions([(name, w, MODE_PROCESS) for w in windows]):
            assert isinstance(claimed, Version)
            store.finish_version(claimed, SUCCEEDED)
    costs = []
    for name in recent:
        cost, pruned = sqlite_instructions(store, partial(store.apply_retention, name))
        assert [v.id for v in pruned] == [old[name].id]
        assert len(store.versions(name)) == recent[name]
        costs.append(cost)
    assert costs[0] == costs[1]


def claim_keys(store: StateStore, name: str) -> list[str]:
    rows = store._connection.execute(
        "SELECT claim_key FROM trigger_claims WHERE dataset = ? ORDER BY claim_key", (name,)
    )
    return [row[0] for row in rows]


def test_the_claims_of_pruned_versions_go_once_they_no_longer_matter(
    store: StateStore, clock: Clock, tmp_path: Path
) -> None:
    """A pruned version's claim stays while it is its dataset's latest schedule window (a
    scheduler resumes after it) or its upstream version still exists (it would trigger
    again); then it goes, at a later prune."""
    minutely = sql_dataset("minutely", file="r.csv")  # keeps the latest (and succeeded)
    hourly = sql_dataset("hourly", file="r.csv")
    hourly["versioningConfiguration"] = {"unlimited": True}
    hourly["retentionPeriod"] = {"numberOfDays": 2}
    source = sql_dataset("source", file="r.csv")
    source["versioningConfiguration"] = {"unlimited": True}
    source["retentionPeriod"] = {"numberOfDays": 2}
    report = container_dataset("report", triggers=[{"dataset": {"name": "source"}}])
    register(store, tmp_path / "defs", minutely, hourly, source, report)
    later = timedelta(days=2, minutes=1)

    windows = [Trigger.schedule(START + timedelta(minutes=m)) for m in (1, 2, 3)]
    for window in windows:
        add_version(store, "minutely", SUCCEEDED, window)
    assert len(store.apply_retention("minutely")) == 2
    assert claim_keys(store, "minutely") == [windows[2].claim_key]

    first = Trigger.schedule(START)
    add_version(store, "hourly", SUCCEEDED, first)
    clock.now += later
    assert len(store.apply_retention("hourly")) == 1  # the latest window's version, by age
    assert claim_keys(store, "hourly") == [first.claim_key]
    assert store.last_schedule_window("hourly") == START
    second = Trigger.schedule(clock.now)
    add_version(store, "hourly", SUCCEEDED, second)
    clock.now += later
    assert len(store.apply_retention("hourly")) == 1
    assert claim_keys(store, "hourly") == [second.claim_key]

    old = add_version(store, "source", SUCCEEDED)
    clock.now += later
    kept = [add_version(store, "source", SUCCEEDED) for _ in range(2)]
    for upstream in (old, *kept):
        add_version(store, "report", SUCCEEDED, Trigger.dataset("source", upstream.id))
    assert [v.id for v in store.apply_retention("source")] == [old.id]
    assert len(store.apply_retention("report")) == 2  # the runs of `old` and kept[0]
    assert claim_keys(store, "report") == sorted(v.id for v in kept)
    clock.now += later
    assert len(store.apply_retention("source")) == 2
    add_version(store, "report", SUCCEEDED)  # by hand: claims nothing
    assert len(store.apply_retention("report")) == 1
    assert claim_keys(store, "report") == []


# -- claims taken ahead of their runs ------------------------------------------------------


def test_many_claims_in_one_transaction_report_each_one_already_claimed(
    home: Home, clock: Clock, tmp_path: Path
) -> None:
    store = StateStore(home, clock=clock)
    register(
        store, tmp_path / "defs", sql_dataset("a", command="true"), sql_dataset("b", command="true")
    )
    window = Trigger.schedule(START)
    store.start_version("a", window, MODE_PROCESS)
    results = store.start_versions(
        [("a", window, MODE_PROCESS), ("b", window, MODE_PROCESS), ("a", Trigger.manual(), "q")]
    )
    assert isinstance(results[0], TriggerAlreadyClaimed)
    assert "already ran for schedule" in str(results[0])
    claimed_b, manual_a = results[1], results[2]
    assert isinstance(claimed_b, Version) and isinstance(manual_a, Version)
    assert (claimed_b.dataset, claimed_b.status, claimed_b.trigger) == ("b", CREATING, window)
    assert (manual_a.dataset, manual_a.mode) == ("a", "q")
    assert [v.id for v in store.versions("b")] == [claimed_b.id]


def test_a_version_id_drawn_twice_in_one_claim_is_drawn_again(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids are the second's stamp and 32 random bits: a thousand claims in one second
    repeat one about once a week at one claim a minute, which failed them all."""
    register(
        store, tmp_path / "defs", sql_dataset("a", command="true"), sql_dataset("b", command="true")
    )
    draws = iter([b"\x00\x00\x00\x01", b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"])
    monkeypatch.setattr(os, "urandom", lambda size: next(draws))
    claims = store.start_versions([("a", Trigger.manual(), "q"), ("b", Trigger.manual(), "q")])
    assert [v.id[-8:] for v in claims if isinstance(v, Version)] == ["00000001", "00000002"]


def test_claimed_versions_are_the_rows_stored_and_are_not_read_back(
    store: StateStore, tmp_path: Path
) -> None:
    """A scheduler claims a thousand windows at one minute in one transaction: each
    claim's Version is built from what was written, and is what the store reads."""
    register(
        store, tmp_path / "defs", sql_dataset("a", command="true"), sql_dataset("b", command="true")
    )
    statements: list[str] = []
    store._connection.set_trace_callback(statements.append)
    claims = store.start_versions(
        [("a", Trigger.schedule(START), MODE_PROCESS), ("b", Trigger.manual(), "q")]
    )
    store._connection.set_trace_callback(None)
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")], statements
    for claimed in claims:
        assert isinstance(claimed, Version)
        assert claimed == store.version(claimed.dataset, claimed.id)


def test_a_version_with_every_field_set_comes_through_pickle_whole() -> None:
    """Versions cross to the scheduler's worker processes and back pickled, as their
    fields' values in order (records.py): a field out of place would land in another."""
    moment = START + timedelta(microseconds=7)
    delivery = Delivery(0, "s3://b/k", FAILED, moment, reason="denied", role_arn="arn:r")
    values: dict[str, object] = {
        "id": "20250301T120000Z-0a1b2c3d",
        "dataset": "readings",
        "status": FAILED,
        "trigger": Trigger.dataset("upstream", "v1"),
        "mode": MODE_PROCESS,
        "created_at": moment,
        "output_prefix": "file:///out/readings/v",
        "reason": "why",
        "started_at": moment + timedelta(seconds=1),
        "finished_at": moment + timedelta(seconds=2),
        "exit_code": 3,
        "duration_seconds": 1.5,
        "outputs": {"ipynb": "file:///out/a.ipynb"},
        "content_uri": "file:///out/c",
        "log_path": "/home/run.log",
        "owner_pid": 42,
        "executor": "ray",
        "run_id": "run-1",
        "node": "node-2",
        "followable": True,
        "window_start": moment - timedelta(minutes=5),
        "window_end": moment,
        "late_messages": 4,
        "late_notified_at": moment + timedelta(seconds=3),
        "deliveries": (delivery,),
    }
    assert set(values) == {f.name for f in dataclasses.fields(Version)}  # every one of them
    version = Version(**values)  # type: ignore[arg-type]
    message = pickle.dumps(version)
    assert b"output_prefix" not in message  # values only: pickle's default names each field
    again = pickle.loads(message)
    assert {name: getattr(again, name) for name in values} == values
    assert pickle.loads(pickle.dumps(Trigger.schedule(START))) == Trigger.schedule(START)


CLAIM_AHEAD_AND_HOLD = """
import sys, time
from pathlib import Path
from datetime import datetime, timezone
from iota_container.engine.run import DatasetEngine
from iota_container.engine.records import Trigger
from iota_container.engine.state_store import StateStore
window = Trigger.schedule(datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc))
engine = DatasetEngine(StateStore.open(sys.argv[1]))
queued, started = engine.claim([("queued", window), ("started", window)])
engine.store.record_start(started.version, outputs={}, log_path=Path("/dev/null"))
print("claimed", flush=True)
time.sleep(120)
"""


def test_a_killed_claim_that_never_started_is_withdrawn_and_its_window_runs_again(
    home: Home, tmp_path: Path
) -> None:
    with StateStore(home) as store:
        register(
            store,
            tmp_path / "defs",
            sql_dataset("queued", command="true"),
            sql_dataset("started", command="true"),
        )
    process = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AHEAD_AND_HOLD, str(home.root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "claimed\n"
        with StateStore(home) as alive:  # its locks are held: nothing recovered yet
            assert [v.status for v in alive.versions("queued")] == [CREATING]
    finally:
        process.kill()
        process.wait(30)
    with StateStore(home) as reopened:
        assert reopened.versions("queued") == []  # withdrawn, with its claim
        (started,) = reopened.versions("started")
        assert (started.status, started.reason) == (FAILED, INTERRUPTED)
        window = Trigger.schedule(START)
        again = reopened.start_version("queued", window, MODE_PROCESS)
        assert again.trigger == window
        with pytest.raises(TriggerAlreadyClaimed):
            reopened.start_version("started", window, MODE_PROCESS)


# -- a run's own writes --------------------------------------------------------------------


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "select-after"])
def test_a_finish_returns_the_row_it_wrote_and_a_second_one_keeps_the_first(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    """`select-after`: SQLite before 3.35 has no UPDATE ... RETURNING."""
    monkeypatch.setattr(version_rows, "_RETURNING", returning)
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    version = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
    assert store.record_start(version, outputs={"out": "x"}, log_path=tmp_path / "run.log")
    finished = store.finish_version(version, SUCCEEDED, duration_seconds=1.23456, content_uri="u")
    assert finished == store.version("readings", version.id)
    assert (finished.status, finished.content_uri, finished.duration_seconds) == (
        SUCCEEDED,
        "u",
        1.235,
    )
    assert finished.started_at == finished.finished_at == START and finished.outputs == {"out": "x"}
    again = store.finish_version(version, FAILED, reason="late")
    assert again == finished  # its first ending stands
    # Nor does an ended version start again.
    assert not store.record_start(version, outputs={}, log_path=tmp_path / "run.log")
    assert store.version("readings", version.id) == finished


def test_a_runs_start_and_finish_are_one_statement_each(store: StateStore, tmp_path: Path) -> None:
    """A scheduler's workers make these two writes for every run, a thousand a minute:
    each is one autocommit statement (no BEGIN and COMMIT around it), and the finish
    reads its row back by RETURNING, not by a SELECT after it."""
    register(store, tmp_path / "defs", sql_dataset("readings", file="r.csv"))
    version = store.start_version("readings", Trigger.manual(), MODE_PROCESS)
    statements: list[str] = []
    store._connection.set_trace_callback(statements.append)
    store.record_start(version, outputs={}, log_path=tmp_path / "run.log")
    store.finish_version(version, SUCCEEDED)
    store._connection.set_trace_callback(None)
    assert [s.split()[0] for s in statements] == ["UPDATE", "UPDATE"], statements
    assert statements[1].rstrip().endswith("RETURNING *")
