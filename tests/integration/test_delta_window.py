"""The deltaTime window, end to end: `iota-container scheduler --once` processes on a
simulated clock (IOTA_SCHEDULER_CLOCK_FILE), messages put between runs, each version's
content exactly the messages of its window with offsetSeconds honoured; after downtime,
catch-up windows are consecutive, or one with --latest-only. A SQL dataset's content
then feeds a container dataset run as a process."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from iota_container.engine.home import Home
from iota_container.engine.records import SUCCEEDED, Trigger
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from tests.dataset_helpers import container_dataset, content_var
from tests.datastores import (
    Clocked,
    clock,
    create_datastore,
    sql_dataset,
    write_json,
    write_json_lines,
)
from tests.notebooks import write_notebook
from tests.support import run_cli

pytestmark = pytest.mark.integration

OFFSET = 30
EVERY_MINUTE = "cron(* * * * ? *)"


def test_three_runs_then_catch_up_then_latest_only(tmp_path: Path) -> None:
    world = Clocked(tmp_path)
    world.cli(
        "datastore",
        "register",
        str(write_json(tmp_path / "events.json", create_datastore("events"))),
    )
    document = sql_dataset(
        "recent",
        "SELECT id FROM events ORDER BY ts",
        delta=("from_unixtime(ts)", OFFSET),
        schedule=EVERY_MINUTE,
    )
    world.cli("dataset", "register", str(write_json(tmp_path / "recent.json", document)))
    with StateStore(Home.locate(tmp_path / "home")) as store:
        registered = store.dataset("recent").created_at
    t1 = registered.replace(second=0, microsecond=0) + timedelta(minutes=1)  # the first
    t = [t1 + timedelta(minutes=n) for n in range(9)]  # t[0] is T1
    s = timedelta(seconds=1)

    # The first window is estimated from the schedule: [T1 - 60 s - offset, T1 - offset).
    world.put(t[0] - 100 * s, t[0] - 90 * s, t[0] - 31 * s, t[0] - 30 * s)
    world.scheduler_at(t[0] + 5 * s)
    world.put(t[0] - 10 * s, t[1] - 31 * s)  # late for window 1: window 2 reads the first
    world.scheduler_at(t[1] + 5 * s)
    world.put(t[1] - 30 * s, t[2] - 31 * s, t[2] - 30 * s)
    world.scheduler_at(t[2] + 5 * s)

    first, second, third = world.versions()
    assert [v.status for v in (first, second, third)] == [SUCCEEDED] * 3
    assert world.ids(first) == [clock(t[0] - 90 * s), clock(t[0] - 31 * s)]
    assert world.ids(second) == [clock(t[0] - 30 * s), clock(t[0] - 10 * s), clock(t[1] - 31 * s)]
    assert world.ids(third) == [clock(t[1] - 30 * s), clock(t[2] - 31 * s)]
    assert (first.window_start, first.window_end) == (t[0] - 90 * s, t[0] - 30 * s)
    assert (second.window_start, second.window_end) == (t[0] - 30 * s, t[1] - 30 * s)

    shown = json.loads(world.cli("dataset", "content", "recent", "--json").stdout)
    assert shown["deltaWindow"]["end"].startswith((t[2] - 30 * s).strftime("%Y-%m-%dT%H:%M:%S"))
    listed = json.loads(world.cli("dataset", "contents", "recent", "--json").stdout)
    assert all(v["deltaWindow"] for v in listed)

    # Down for three windows: each catch-up run reads its own consecutive window.
    world.put(t[3] - 40 * s, t[4] - 40 * s, t[5] - 40 * s)
    world.scheduler_at(t[5] + 5 * s)
    caught_up = world.versions()[3:]
    assert [v.trigger.schedule_time for v in caught_up] == t[3:6]
    assert [(v.window_start, v.window_end) for v in caught_up] == [
        (t[n - 1] - 30 * s, t[n] - 30 * s) for n in (3, 4, 5)
    ]
    assert [world.ids(v) for v in caught_up] == [
        [clock(t[2] - 30 * s), clock(t[3] - 40 * s)],  # put before run 3, after its window
        [clock(t[4] - 40 * s)],
        [clock(t[5] - 40 * s)],
    ]

    # --latest-only: the missed windows are skipped, and the one run reads all of them.
    world.put(t[6] - 40 * s, t[8] - 40 * s)
    world.scheduler_at(t[8] + 5 * s, "--latest-only")
    (latest,) = world.versions()[6:]
    assert (latest.window_start, latest.window_end) == (t[5] - 30 * s, t[8] - 30 * s)
    assert world.ids(latest) == [clock(t[6] - 40 * s), clock(t[8] - 40 * s)]


REPORT = """\
from iota_container.content import dataset_content
import csv, pathlib
rows = list(csv.DictReader(open(dataset_content("averages"))))
pathlib.Path(out).write_text(",".join(r["device"] + "=" + r["n"] for r in rows))"""


def test_a_sql_dataset_triggers_a_container_dataset_that_reads_its_csv(tmp_path: Path) -> None:
    env = {"IOTA_HOME": str(tmp_path / "home")}
    store_file = write_json(tmp_path / "readings.json", create_datastore("readings"))
    assert run_cli("datastore", "register", str(store_file), env=env).returncode == 0
    messages = [{"device": d} for d in ("d1", "d2", "d1")]
    put = run_cli(
        "datastore",
        "put",
        "readings",
        str(write_json_lines(tmp_path / "m.jsonl", messages)),
        env=env,
    )
    assert put.returncode == 0, put.stderr
    sql = "SELECT device, count(*) AS n FROM readings GROUP BY device ORDER BY device"
    out = tmp_path / "report.txt"
    report = container_dataset(
        "report",
        content_var("averages", "averages"),
        {"name": "out", "stringValue": str(out)},
        triggers=[{"dataset": {"name": "averages"}}],
    )
    folder = tmp_path / "defs"
    files = [
        write_json(folder / "averages.json", sql_dataset("averages", sql)),
        write_json(folder / "report.json", report),
    ]
    notebook = write_notebook(
        tmp_path / "report.ipynb", REPORT, parameters="averages = ''\nout = ''"
    )
    with StateStore(Home.locate(tmp_path / "home")) as store:
        store.register(*files)
        engine = DatasetEngine(store)
        upstream = engine.run("averages")
        assert upstream.status == SUCCEEDED, upstream.reason
        trigger = Trigger.dataset("averages", upstream.id)
        downstream = engine.run("report", use_container=False, trigger=trigger, notebook=notebook)
    assert downstream.status == SUCCEEDED, downstream.reason
    assert out.read_text() == "d1=2,d2=1"
