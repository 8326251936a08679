"""A real `iota-container scheduler` process, with real runs (SQL commands, notebooks in
child processes), on a simulated clock: IOTA_SCHEDULER_CLOCK_FILE names a file this test
rewrites to move time on by a minute, so no test waits a real minute.

Killed with SIGKILL in the middle of a notebook run and restarted, the scheduler runs
every window exactly once and every upstream version triggers exactly one run; the run
the kill cut short stays FAILED "interrupted" and is not run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iota_container.engine.home import Home
from iota_container.engine.records import CREATING, FAILED, INTERRUPTED, SUCCEEDED, Version
from iota_container.engine.state_store import StateStore
from iota_container.scheduler.clock import CLOCK_FILE_ENV
from tests.dataset_helpers import container_dataset, content_var, sql_dataset, write_definition
from tests.notebooks import write_notebook
from tests.support import run_cli

pytestmark = pytest.mark.integration

EVERY_MINUTE = {"schedule": {"expression": "cron(* * * * ? *)"}}
KEEP_ALL = {"unlimited": True}
# Marks that it started, then sleeps while the gate folder holds a file named `slow`.
REPORT_CELL = """\
import os, pathlib, time
from iota_container.content import dataset_content
gate = pathlib.Path(gate_dir)
(gate / f"started-{os.getpid()}").touch()
while (gate / "slow").exists():
    time.sleep(0.2)
print(open(dataset_content("readings")).read())"""


class World:
    """A home, two definitions (readings every minute, report after each readings
    version), the clock file, and the scheduler processes started on them."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.gate = tmp_path / "gate"
        self.gate.mkdir()
        self.clock_file = tmp_path / "now"
        self.logs: list[Path] = []
        self.env = {"IOTA_HOME": str(self.home), CLOCK_FILE_ENV: str(self.clock_file)}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.folder = tmp_path / "defs"

    def store(self) -> StateStore:
        return StateStore(Home.locate(self.home))

    def set_clock(self, moment: datetime) -> None:
        temporary = self.clock_file.with_suffix(".tmp")  # a reader never sees half a time
        temporary.write_text(moment.isoformat())
        temporary.replace(self.clock_file)

    def start_scheduler(self, *options: str) -> subprocess.Popen[bytes]:
        log = self.home.parent / f"scheduler-{len(self.logs)}.log"
        self.logs.append(log)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        command = [sys.executable, "-m", "iota_container", "scheduler", "--no-container"]
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, "--poll-seconds", "0.1", "--json-log", *options],
                env=env | self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group: killed whole, as on a crash
            )
        self.processes.append(process)
        return process

    def events(self) -> list[dict[str, Any]]:
        lines = [line for log in self.logs for line in log.read_text().splitlines()]
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline or self.failed_unexpectedly():
                tail = "".join(log.read_text()[-3000:] for log in self.logs)
                pytest.fail(f"timed out waiting for {what}; scheduler logs:\n{tail}")
            time.sleep(0.1)

    def failed_unexpectedly(self) -> bool:
        with self.store() as store:
            every = [v for d in store.datasets() for v in store.versions(d.name)]
        return any(v.reason not in (None, INTERRUPTED) for v in every)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.stop_all()


def versions(world: World, name: str) -> list[Version]:
    """Oldest first."""
    with world.store() as store:
        return list(reversed(store.versions(name)))


def started(ran: list[Version]) -> bool:
    return [(v.status, v.started_at is not None) for v in ran] == [(CREATING, True)]


def registered_at(world: World) -> datetime:
    with world.store() as store:
        return max(d.created_at for d in store.datasets())


def next_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_a_killed_scheduler_neither_loses_nor_repeats_a_run(world: World) -> None:
    notebook = write_notebook(
        world.folder / "report.ipynb", REPORT_CELL, parameters="readings = ''\ngate_dir = ''"
    )
    readings = sql_dataset("readings", command="echo device,temp")
    readings |= {"triggers": [EVERY_MINUTE], "versioningConfiguration": KEEP_ALL}
    report = container_dataset(
        "report",
        content_var("readings", "readings"),
        {"name": "gate_dir", "stringValue": str(world.gate)},
        triggers=[{"dataset": {"name": "readings"}}],
        versioningConfiguration=KEEP_ALL,
    )
    report["actions"][0]["containerAction"]["x-iota-notebook"] = notebook.name
    files = [str(write_definition(world.folder, d)) for d in (readings, report)]
    assert run_cli("dataset", "register", *files, env=world.env).returncode == 0
    first = next_minute(registered_at(world))
    window = [first + timedelta(minutes=n) for n in range(4)]

    def report_statuses() -> list[str]:
        return [v.status for v in versions(world, "report")]

    def started_runs() -> int:
        return len(list(world.gate.glob("started-*")))

    world.set_clock(window[0] + timedelta(seconds=5))
    killed = world.start_scheduler()
    world.wait_for("the first report", lambda: report_statuses() == [SUCCEEDED])
    (world.gate / "slow").touch()
    world.set_clock(window[1] + timedelta(seconds=5))
    world.wait_for(
        "the second report to be running",
        lambda: report_statuses() == [SUCCEEDED, CREATING] and started_runs() == 2,
    )
    os.killpg(killed.pid, signal.SIGKILL)  # the scheduler and its runs, as a crash would
    killed.wait()

    (world.gate / "slow").unlink()
    world.set_clock(window[3] + timedelta(seconds=5))  # windows 3 and 4 pass while down
    restarted = world.start_scheduler()
    world.wait_for("the caught-up reports", lambda: len(report_statuses()) == 4)
    world.wait_for("the last report to finish", lambda: CREATING not in report_statuses())
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(30) == 0

    readings_versions = versions(world, "readings")
    assert [v.trigger.schedule_time for v in readings_versions] == window
    assert {v.status for v in readings_versions} == {SUCCEEDED}
    reports = versions(world, "report")
    assert [v.trigger.upstream_version for v in reports] == [v.id for v in readings_versions]
    assert [(v.status, v.reason) for v in reports] == [
        (SUCCEEDED, None),
        (FAILED, INTERRUPTED),
        (SUCCEEDED, None),
        (SUCCEEDED, None),
    ]
    assert started_runs() == 4  # the interrupted notebook did not start again

    fired = [e for e in world.events() if e.get("event") == "fire"]
    assert Counter(e["dataset"] for e in fired) == {"readings": 4, "report": 4}
    assert all(e["latenessSeconds"] >= 0 for e in fired)
    finished = [e for e in world.events() if e.get("event") == "finish"]
    assert len(finished) == 7  # the killed run never finished


def test_resume_latest_only_then_a_scheduler_pass(world: World) -> None:
    readings = sql_dataset("readings", command="echo device,temp")
    readings |= {"triggers": [EVERY_MINUTE], "versioningConfiguration": KEEP_ALL}
    path = str(write_definition(world.folder, readings))
    assert run_cli("dataset", "register", path, env=world.env).returncode == 0
    assert run_cli("dataset", "pause", "readings", env=world.env).returncode == 0
    first = next_minute(registered_at(world))
    world.set_clock(first + timedelta(minutes=3, seconds=1))

    once = ("scheduler", "--once", "--no-container", "--json-log")
    assert run_cli(*once, env=world.env).returncode == 0
    assert versions(world, "readings") == []  # paused: nothing claimed

    resumed = run_cli("dataset", "resume", "readings", "--latest-only", env=world.env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0].startswith("readings: skipped 3 schedule window(s)")
    result = run_cli(*once, env=world.env)
    assert result.returncode == 0, result.stderr
    ran = versions(world, "readings")
    assert [(v.trigger.schedule_time, v.status) for v in ran] == [
        (first + timedelta(minutes=3), SUCCEEDED)
    ]
    world.set_clock(first + timedelta(minutes=4, seconds=1))
    assert run_cli(*once, env=world.env).returncode == 0
    assert len(versions(world, "readings")) == 2


GATED = "sh -c 'while [ -e {gate}/slow ]; do sleep 0.1; done; echo device,temp'"


@pytest.mark.parametrize("signals", [1, 2], ids=["stop", "abandon"])
def test_sigterm_lets_the_run_finish_and_a_second_one_abandons_it(
    world: World, signals: int
) -> None:
    readings = sql_dataset("readings", command=GATED.format(gate=world.gate))
    readings |= {"triggers": [EVERY_MINUTE], "versioningConfiguration": KEEP_ALL}
    path = str(write_definition(world.folder, readings))
    assert run_cli("dataset", "register", path, env=world.env).returncode == 0
    (world.gate / "slow").touch()
    world.set_clock(next_minute(registered_at(world)) + timedelta(seconds=5))
    process = world.start_scheduler()
    # Started, not only claimed: a claimed version no worker has begun yet is withdrawn
    # by the second signal (its window runs after a restart), which is not this test.
    world.wait_for("the run's start", lambda: started(versions(world, "readings")))
    for _ in range(signals):
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    try:
        if signals == 1:
            assert process.poll() is None  # waiting for the run under way
            (world.gate / "slow").unlink()
        assert process.wait(30) == 0
    finally:
        (world.gate / "slow").unlink(missing_ok=True)  # ends an abandoned command too
    (version,) = versions(world, "readings")
    if signals == 1:
        assert (version.status, version.reason) == (SUCCEEDED, None)
    else:
        assert (version.status, version.reason) == (FAILED, INTERRUPTED)
