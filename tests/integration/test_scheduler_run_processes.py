"""SQL datasets' runs in worker processes (scheduler/run_processes.py), against real
processes: the worker runs the dataset's x-iota-source command, which writes its parent's
pid (the worker's) and then waits while a gate file exists, so a test can kill the worker,
or the scheduler, in the middle of a run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from iota_container.engine.home import Home
from iota_container.engine.locks import DatasetBusy, lock_if_free, take_dataset_lock
from iota_container.engine.records import FAILED, INTERRUPTED, SUCCEEDED, Trigger, Version
from iota_container.engine.run import ClaimedRun, DatasetEngine, RunWithdrawn
from iota_container.engine.state_store import StateStore
from iota_container.scheduler.clock import CLOCK_FILE_ENV, FileClock
from iota_container.scheduler.loop import EngineRunner, Scheduler
from tests.dataset_helpers import sql_dataset, write_definition

pytestmark = pytest.mark.integration

# In the definition's folder: the worker's pid (the command's parent), then a wait.
GATED = "sh -c 'echo $PPID > worker-$0.pid; while [ -e gate ]; do sleep 0.05; done; echo a,b' {}"
START = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie whose parent is gone, waiting for init, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class Home_:
    """A home with gated SQL datasets, every minute, on a clock file."""

    def __init__(self, tmp_path: Path, *names: str) -> None:
        self.folder = tmp_path / "defs"
        self.folder.mkdir()
        self.gate = self.folder / "gate"
        self.gate.touch()
        self.clock_file = tmp_path / "now"
        self.set_clock(START)
        self.home = Home.locate(tmp_path / "home")
        paths = []
        for name in names:
            document = sql_dataset(name, command=GATED.format(name))
            document["triggers"] = [{"schedule": {"expression": "cron(* * * * ? *)"}}]
            document["versioningConfiguration"] = {"unlimited": True}
            paths.append(write_definition(self.folder, document))
        with self.store() as store:
            store.register(*paths)
        self.set_clock(START + timedelta(minutes=1))

    def set_clock(self, moment: datetime) -> None:
        temporary = self.clock_file.with_suffix(".tmp")
        temporary.write_text(moment.isoformat())
        temporary.replace(self.clock_file)

    def store(self) -> StateStore:
        return StateStore(self.home, clock=FileClock(self.clock_file))

    def worker_pid(self, name: str) -> int:
        path = self.folder / f"worker-{name}.pid"
        wait_for(lambda: path.exists() and path.read_text().strip() != "", f"{name}'s run")
        return int(path.read_text())


MakeRunner = Callable[..., tuple[Home_, StateStore, EngineRunner]]


@pytest.fixture
def runner_of(tmp_path: Path) -> Iterator[MakeRunner]:
    opened: list[tuple[StateStore, EngineRunner]] = []

    def make(*names: str) -> tuple[Home_, StateStore, EngineRunner]:
        home = Home_(tmp_path, *names)
        store = home.store()
        runner = EngineRunner(DatasetEngine(store), run_processes=True)
        opened.append((store, runner))
        return home, store, runner

    yield make
    for store, runner in opened:
        runner.close()
        store.close()


def run_in_thread(runner: EngineRunner, claimed: ClaimedRun) -> Callable[[], Version]:
    result: list[Version] = []
    thread = threading.Thread(target=lambda: result.append(runner.run(claimed)), daemon=True)
    thread.start()

    def finished() -> Version:
        thread.join(60)
        assert result, "the run did not return"
        return result[0]

    return finished


@dataclass
class GatedRun:
    """A run of `readings` under way in a worker, waiting at the gate."""

    home: Home_
    store: StateStore
    runner: EngineRunner
    finished: Callable[[], Version]
    worker: int  # the worker process's pid


def start_gated_run(runner_of: MakeRunner) -> GatedRun:
    home, store, runner = runner_of("readings")
    window = Trigger.schedule(START + timedelta(minutes=1))
    (claimed,) = runner.claim([("readings", window)])
    assert isinstance(claimed, ClaimedRun), claimed
    finished = run_in_thread(runner, claimed)
    return GatedRun(home, store, runner, finished, home.worker_pid("readings"))


def test_a_sql_run_happens_in_a_worker_process_holding_the_dataset(
    runner_of: MakeRunner,
) -> None:
    run = start_gated_run(runner_of)
    home, store = run.home, run.store
    assert run.worker != os.getpid()  # the command's parent is a worker, not this process
    # Another run of the dataset (by hand, another scheduler) cannot start meanwhile.
    with pytest.raises(DatasetBusy):
        take_dataset_lock(store.home.lock_path("readings"), "readings", wait=False)
    home.gate.unlink()
    version = run.finished()
    assert version.status == SUCCEEDED, version.reason
    assert version.started_at is not None and version.content_uri
    assert Path(version.content_uri.removeprefix("file://")).read_text() == "a,b\n"
    with lock_if_free(store.home.lock_path("readings")) as free:
        assert free  # released once the worker answered


def test_a_killed_worker_fails_its_run_with_a_reason_and_the_next_run_gets_a_new_one(
    runner_of: MakeRunner,
) -> None:
    run = start_gated_run(runner_of)
    home, store, runner = run.home, run.store, run.runner
    os.kill(run.worker, signal.SIGKILL)
    version = run.finished()
    assert version.status == FAILED
    assert version.reason == f"{INTERRUPTED}: its worker process killed by SIGKILL"
    assert store.version("readings", version.id).status == FAILED
    # The lock is free again, and the next window runs in a new worker.
    (home.folder / "worker-readings.pid").unlink()
    home.gate.unlink()
    home.set_clock(START + timedelta(minutes=2))
    (claimed,) = runner.claim([("readings", Trigger.schedule(START + timedelta(minutes=2)))])
    assert isinstance(claimed, ClaimedRun), claimed
    assert runner.run(claimed).status == SUCCEEDED
    assert home.worker_pid("readings") != run.worker


def worker_processes() -> list[int]:
    """This process's run workers (scheduler/run_processes.py), by their command line."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if parent == os.getpid() and b"iota_container.scheduler.run_processes" in command:
            found.append(int(stat.parent.name))
    return found


def test_a_worker_that_died_idle_costs_no_run(runner_of: MakeRunner) -> None:
    home, _, runner = runner_of("readings")
    runner.start(1)
    (idle,) = worker_processes()
    os.kill(idle, signal.SIGKILL)
    wait_for(lambda: not running(idle), "the idle worker to die")
    home.gate.unlink()
    window = Trigger.schedule(START + timedelta(minutes=1))
    (claimed,) = runner.claim([("readings", window)])
    assert isinstance(claimed, ClaimedRun), claimed
    version = runner.run(claimed)
    assert version.status == SUCCEEDED, version.reason
    assert home.worker_pid("readings") not in (idle, os.getpid())


def claim_readings(runner: EngineRunner, home: Home_, minutes: int = 1) -> ClaimedRun:
    """The claim of `readings`' window `minutes` after START, at that window."""
    home.set_clock(START + timedelta(minutes=minutes))
    (claimed,) = runner.claim([("readings", Trigger.schedule(START + timedelta(minutes=minutes)))])
    assert isinstance(claimed, ClaimedRun), claimed
    return claimed


@pytest.mark.parametrize("given_up", ["withdrawn", "abandoned"])
def test_a_claim_given_up_before_its_run_began_does_not_run(
    runner_of: MakeRunner, given_up: str
) -> None:
    """The worker is sent the version as claimed and reads nothing back: the write of
    the run's start is what finds it no longer CREATING (a stop withdrew it, or the
    second signal's abandon ended it), and then nothing of the run happens."""
    home, store, runner = runner_of("readings")
    home.gate.unlink()
    claimed = claim_readings(runner, home)
    if given_up == "withdrawn":
        assert store.interrupt(claimed.version) is None  # never started: its row goes
    else:
        store.finish_version(claimed.version, FAILED, reason=INTERRUPTED)
    with pytest.raises(RunWithdrawn, match=f"version {claimed.version.id} was withdrawn"):
        runner.run(claimed)
    assert not (home.folder / "worker-readings.pid").exists()  # the command never ran
    assert not store.home.version_dir("readings", claimed.version.id).exists()
    if given_up == "withdrawn":
        assert store.versions("readings") == []
    else:
        (version,) = store.versions("readings")
        assert (version.status, version.reason, version.started_at) == (FAILED, INTERRUPTED, None)
    with lock_if_free(store.home.lock_path("readings")) as free:
        assert free
    # The worker is not lost with it: the next window runs in the same one.
    assert runner.run(claim_readings(runner, home, 2)).status == SUCCEEDED


def test_the_finished_version_comes_back_from_the_worker_unread(runner_of: MakeRunner) -> None:
    """The scheduler's side of a worker run makes no query: a thousand runs a minute
    share its one interpreter lock. What it returns is the row the worker wrote."""
    home, store, runner = runner_of("readings")
    home.gate.unlink()
    claimed = claim_readings(runner, home)
    statements: list[str] = []
    store._connection.set_trace_callback(statements.append)
    try:
        version = runner.run(claimed)
    finally:
        store._connection.set_trace_callback(None)
    assert statements == []
    assert version == store.version("readings", claimed.version.id)
    assert version.status == SUCCEEDED and version.started_at and version.finished_at
    assert Path(str(version.content_uri).removeprefix("file://")).read_text() == "a,b\n"


def test_a_finished_version_too_large_for_one_message_is_read_back(tmp_path: Path) -> None:
    """A worker's answer is one datagram of at most 64 KiB. A failed command's reason
    quotes the command, here of 80,000 characters: the scheduler reads that version
    from the store instead of getting it cut short."""
    # In the definition's folder: the worker's pid (the command's parent), then exit 3.
    command = "sh -c 'echo $PPID > worker.pid; exit 3' " + "x" * 80_000
    path = write_definition(tmp_path / "defs", sql_dataset("long", command=command))
    with StateStore(Home.locate(tmp_path / "home")) as store:
        store.register(path)
        runner = EngineRunner(DatasetEngine(store), run_processes=True)
        try:
            (claimed,) = runner.claim([("long", Trigger.manual())])
            assert isinstance(claimed, ClaimedRun), claimed
            version = runner.run(claimed)
            # Run in this process, the version would come back whole anyway.
            assert int((tmp_path / "defs" / "worker.pid").read_text()) in worker_processes()
        finally:
            runner.close()
        assert version.status == FAILED and "exited with code 3" in str(version.reason)
        assert len(str(version.reason)) > 80_000
        assert version == store.version("long", claimed.version.id)


def test_a_stop_withdraws_the_claims_no_worker_started(runner_of: MakeRunner) -> None:
    home, store, runner = runner_of("first", "second")
    scheduler = Scheduler(store, runner, clock=store.clock, workers=1, poll_seconds=0.05)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    pids = [home.folder / f"worker-{name}.pid" for name in ("first", "second")]
    wait_for(lambda: any(p.exists() for p in pids), "the first run")
    scheduler.stop()
    home.gate.unlink()
    thread.join(60)
    assert not thread.is_alive()
    versions = {name: store.versions(name) for name in ("first", "second")}
    ran = [name for name, found in versions.items() if found]
    assert len(ran) == 1 and versions[ran[0]][0].status == SUCCEEDED
    assert scheduler.counts == {SUCCEEDED: 1, "withdrawn": 1}
    (waiting,) = [name for name in versions if name not in ran]
    # Withdrawn with its claim: that window runs when a scheduler runs again.
    assert not store.is_claimed(waiting, Trigger.schedule(START + timedelta(minutes=1)))


def test_a_worker_outlives_a_killed_scheduler_holding_the_dataset_until_its_run_ends(
    tmp_path: Path,
) -> None:
    home = Home_(tmp_path, "readings")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
    env |= {"IOTA_HOME": str(home.home.root), CLOCK_FILE_ENV: str(home.clock_file)}
    command = [sys.executable, "-m", "iota_container", "scheduler", "--no-container"]
    scheduler = subprocess.Popen(
        [*command, "--poll-seconds", "0.1"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        worker = home.worker_pid("readings")
        assert worker != scheduler.pid
    finally:
        scheduler.kill()
        scheduler.wait(30)
    lock = home.home.lock_path("readings")
    with lock_if_free(lock) as free:
        assert not free  # the worker's copy of the lock: no second run can start
    with home.store() as store:  # opening a store recovers nothing still held
        assert store.versions("readings")[0].status == "CREATING"
    home.gate.unlink()
    wait_for(lambda: not running(worker), "the worker to exit")
    with home.store() as store:
        (version,) = store.versions("readings")
    assert version.status == SUCCEEDED, version.reason  # recorded by the worker itself
    with lock_if_free(lock) as free:
        assert free
