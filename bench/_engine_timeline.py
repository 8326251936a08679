"""Where the time of engine_overhead.py's runs goes: the steps of each side from the
engine's container events, the timestamps of the version and the lines on stderr; the
five phases both sides share; and a probe that times the engine's start-up piece by
piece in a fresh interpreter.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from _common import run_command

DATASET = "bench_engine"


def moment(text: str | None) -> float | None:
    from datetime import datetime, timezone

    if not text:
        return None
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def stderr_time(run: Mapping[str, Any], fragment: str) -> float | None:
    return next((t for t, line in run["stderr"] if fragment in line), None)


def spans(marks: Sequence[tuple[str, float | None]]) -> dict[str, float]:
    """Durations between consecutive known marks, named by the step that ends at each."""
    known = [(name, at) for name, at in marks if at is not None]
    return {name: at - before for (_, before), (name, at) in zip(known, known[1:])}


def engine_steps(run: Mapping[str, Any]) -> dict[str, float]:
    result, events = run["result"], run["events"]
    steps = spans(
        [
            ("launch", run["launched"]),
            (
                "CLI start-up, store open, engine connect, lock (-> createdAt)",
                moment(result["createdAt"]),
            ),
            (
                "resolve variables, write params (createdAt -> startedAt)",
                moment(result["startedAt"]),
            ),
            ("container create request (startedAt -> create)", events.get("create")),
            ("oom watch, start request (create -> start)", events.get("start")),
            ("container runs (start -> die)", events.get("die")),
            ("wait returns, logs, remove (die -> destroy)", events.get("destroy")),
            ("version recorded (destroy -> finishedAt)", moment(result["finishedAt"])),
            (
                "retention (prunes the previous version), JSON, exit (finishedAt -> exit)",
                run["exited"],
            ),
        ]
    )
    created = stderr_time(run, "creating version")
    finished = stderr_time(run, f"version {result['versionId']} {result['status']}")
    if created is not None:
        steps["stderr: launch -> 'creating version' line"] = created - run["launched"]
    if finished is not None:
        steps["stderr: 'version ... SUCCEEDED' line -> exit"] = run["exited"] - finished
    steps["its --json durationSeconds (start request -> wait returned)"] = result["durationSeconds"]
    return steps


def docker_steps(run: Mapping[str, Any]) -> dict[str, float]:
    events = run["events"]
    return spans(
        [
            ("launch", run["launched"]),
            ("docker CLI start-up, create request (-> create)", events.get("create")),
            ("attach, start request (create -> start)", events.get("start")),
            ("container runs (start -> die)", events.get("die")),
            ("auto-remove (die -> destroy)", events.get("destroy")),
            ("CLI exit (destroy -> exit)", run["exited"]),
        ]
    )


PHASES = (
    ("launch -> container created", None, "create"),
    ("created -> started", "create", "start"),
    ("container runs (start -> die)", "start", "die"),
    ("die -> container removed", "die", "destroy"),
    ("removed -> process exit", "destroy", None),
)


def phases(run: Mapping[str, Any]) -> dict[str, float]:
    """The same five phases for both sides, from the engine's events."""
    events = run["events"]
    found = {}
    for name, start, end in PHASES:
        begin = run["launched"] if start is None else events.get(start)
        finish = run["exited"] if end is None else events.get(end)
        if begin is not None and finish is not None:
            found[name] = finish - begin
    return found


# The split of the engine's start-up: the same steps, timed inside a fresh interpreter.
PROBE = f"""
import json, time
t = [time.perf_counter()]
from iota_container.cli import main
from iota_container.cli.dataset_commands import dataset
t.append(time.perf_counter())
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
t.append(time.perf_counter())
store = StateStore.open()
store.dataset({DATASET!r})
t.append(time.perf_counter())
from iota_container.docker_host import connect_run_client
connect_run_client(call_timeout=5)
t.append(time.perf_counter())
store.close()
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
PROBE_STEPS = (
    "CLI modules imported (click, iota_container.cli, its dataset commands)",
    "engine and store modules imported (the engine's socket client with them)",
    "store opened (SQLite, migrations check, recovery), dataset read",
    "Docker engine client made, ping (docker_host: engine_socket on the local socket)",
)
INTERPRETER = "interpreter start-up and exit (`python -c pass`)"


def probe_once(engine_env: Mapping[str, str]) -> dict[str, float]:
    """What the engine's start-up is made of: the same steps, timed inside a fresh
    interpreter, after each timed engine run (untimed), so they see the same load."""
    started = time.perf_counter()
    run_command([sys.executable, "-c", "pass"])
    durations = {INTERPRETER: time.perf_counter() - started}
    timed = json.loads(run_command([sys.executable, "-c", PROBE], dict(engine_env)).stdout)
    return durations | dict(zip(PROBE_STEPS, timed))
