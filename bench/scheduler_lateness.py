"""Trigger lateness and CPU use of `iota-container scheduler` with 1,000 minute schedules.

1,000 SQL datasets, each `cron(* * * * ? *)` with `x-iota-source: {command: "true"}`, are
registered in a fresh home; then a scheduler process runs them in real time, two sides
one after the other, after a third that runs the same work without any scheduler:

- engine: `iota-container scheduler --no-container --json-log` itself, every run a real
  engine run (dataset lock, version rows, the `true` process, its empty content copied to
  the file:// output root, retention);
- no-op: bench/_noop_scheduler.py, the same Scheduler with a runner that only claims and
  finishes each version in the store: the scheduler's own overhead;
- floor: bench/_floor_runs.py, each run's unavoidable system work alone (its state rows,
  its folders and log, the `true` command, the content's fsynced copy under the output
  root) as plain Python, in WORKERS forked processes released at once, with no scheduler
  and no minute to wait for: its start lateness counts from the release. No engine doing
  this work from Python on this machine starts the thousandth run sooner, so engine p99
  start / floor p99 start is what is left to cut, and a floor over the target says that
  the target cannot be met here (by this engine or any other in Python) with that many
  cores.

Lateness of a trigger = when its version was created (the claim, the scheduler's clock)
minus its window, for every run of the measured minutes (the first whole minutes after the
scheduler is up). The engine side claims every due window in one transaction and then
runs the claims on its workers, so its run-start lateness (the version's startedAt, when
the `true` command is about to start, minus the window) is printed beside it: the time
a thousand runs take to get through the workers. CPU = the scheduler process's user +
system time over those minutes, read from /proc before the first window and just before
the window after the last; its worker processes' (SQL runs go to them) apart, and the
waited-for children of both (the `true` commands) apart again. The floor has no
scheduler process (its CPU/min is n/a); its workers report their own CPU and their
`true` commands' (os.times), for one batch of DATASETS runs: one minute's worth.
Target: p99 lateness under 1 s, for the claim and for the run's start. Each side's row
shows the 1-minute load average when it began: other work on the machine delays runs.

    python bench/scheduler_lateness.py [--quick] [--json] [--repetitions MINUTES]
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, BenchArgs, format_table, parse_args, progress, report, temp_dir

from iota_container.engine.home import Home
from iota_container.engine.records import SUCCEEDED, Version
from iota_container.engine.state_store import StateStore

DATASETS = 1000
WORKERS = 4  # the scheduler's default
TARGET_P99_SECONDS = 1.0
STARTUP_MARGIN = timedelta(seconds=3)  # between the scheduler's start line and a window
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuTimes:
    own: float  # user + system of the scheduler process, all its threads
    children: float  # of the children it, or its worker processes, waited for
    workers: float  # of its worker processes (scheduler/run_processes.py), while they run

    @classmethod
    def of(cls, pid: int) -> CpuTimes:
        own, children = _stat_times(pid)
        workers = [_stat_times(child) for child in _children(pid)]
        return cls(own, children + sum(c for _, c in workers), sum(o for o, _ in workers))


def _stat_times(pid: int) -> tuple[float, float]:
    """A process's own CPU time and its waited-for children's, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # ended meanwhile: counted in its parent's children
        return 0.0, 0.0
    utime, stime, cutime, cstime = (int(v) / TICK for v in fields[11:15])
    return utime + stime, cutime + cstime


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (its `true` commands come and go in ms: the
    long-lived ones are its worker processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass(frozen=True)
class SideResult:
    name: str
    minutes: int
    lateness: list[float]
    runs_expected: int
    runs_distinct: int  # (dataset, window) pairs: equal to the runs when none ran twice
    runs_failed: int
    cpu_own: float
    cpu_children: float
    cpu_workers: float
    fire_lateness: list[float]  # when a worker took the trigger, from the log
    start_lateness: list[float]  # when its run started (startedAt), where one is recorded
    load_average: float  # the 1-minute load average when the side began

    @property
    def runs(self) -> int:
        # The floor claims nothing: its runs are those that started.
        return len(self.lateness) if self.lateness else len(self.start_lateness)

    def percentile(self, values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "minutes": self.minutes,
            "load_average_1min": self.load_average,
            "runs": self.runs,
            "runs_expected": self.runs_expected,
            "runs_distinct": self.runs_distinct,
            "runs_failed": self.runs_failed,
            "lateness_p50_s": self.percentile(self.lateness, 0.5),
            "lateness_p99_s": self.percentile(self.lateness, 0.99),
            "lateness_max_s": max(self.lateness, default=math.nan),
            "fire_lateness_p99_s": self.percentile(self.fire_lateness, 0.99),
            "start_lateness_p50_s": self.percentile(self.start_lateness, 0.5),
            "start_lateness_p99_s": self.percentile(self.start_lateness, 0.99),
            "cpu_s_per_minute": self.cpu_own / self.minutes,
            "children_cpu_s_per_minute": self.cpu_children / self.minutes,
            "workers_cpu_s_per_minute": self.cpu_workers / self.minutes,
        }


def write_definitions(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for number in range(DATASETS):
        name = f"minutely_{number:04d}"
        document = {
            "datasetName": name,
            "actions": [
                {
                    "queryAction": {
                        "sqlQuery": "SELECT * FROM readings",
                        "x-iota-source": {"command": "true"},
                    }
                }
            ],
            "triggers": [{"schedule": {"expression": "cron(* * * * ? *)"}}],
            # Every version kept, so that each run's lateness can be read back.
            "versioningConfiguration": {"unlimited": True},
        }
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def scheduler_command(side: str, home: Path) -> list[str]:
    if side == "no-op":
        return [sys.executable, str(BENCH_DIR / "_noop_scheduler.py"), str(home), str(WORKERS)]
    command = [sys.executable, "-m", "iota_container", "scheduler", "--no-container"]
    return [*command, "--json-log", "--workers", str(WORKERS), "--home", str(home)]


def wait_until(moment: datetime) -> None:
    while (left := (moment - datetime.now(timezone.utc)).total_seconds()) > 0:
        time.sleep(min(left, 1.0))


def wait_for_start(process: subprocess.Popen[bytes], log: Path) -> datetime:
    deadline = time.monotonic() + 60
    while "scheduler:" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench: the scheduler did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    return datetime.now(timezone.utc)


def measure_floor(workdir: Path, batches: int) -> SideResult:
    """`batches` times, DATASETS runs of the floor released at once (one minute's worth)."""
    load = os.getloadavg()[0]
    lateness: list[float] = []
    workers_cpu = children_cpu = 0.0
    for batch in range(batches):
        progress(f"floor: {DATASETS} runs on {WORKERS} processes, batch {batch + 1}/{batches}")
        folder = workdir / "floor" / str(batch)
        folder.mkdir(parents=True)
        command = [sys.executable, str(BENCH_DIR / "_floor_runs.py"), str(folder)]
        done = subprocess.run(
            [*command, str(DATASETS), str(WORKERS)], capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise SystemExit(f"bench: the floor runs failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout)
        lateness += figures["start_lateness"]
        workers_cpu += figures["workers_cpu_s"]
        children_cpu += figures["children_cpu_s"]
    return SideResult(
        name="floor",
        minutes=batches,
        lateness=[],
        runs_expected=DATASETS * batches,
        runs_distinct=0,
        runs_failed=0,  # a failing run stops the floor (check=True)
        cpu_own=math.nan,
        cpu_children=children_cpu,
        cpu_workers=workers_cpu,
        fire_lateness=[],
        start_lateness=lateness,
        load_average=load,
    )


def measure_side(side: str, workdir: Path, minutes: int) -> SideResult:
    load = os.getloadavg()[0]
    home = workdir / side / "home"
    with StateStore(Home.locate(home)) as store:
        progress(f"{side}: registering {DATASETS} definitions")
        store.register(*write_definitions(workdir / side / "definitions"))
    log = workdir / side / "scheduler.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTA_")}
    with log.open("wb") as stderr:
        process = subprocess.Popen(scheduler_command(side, home), env=env, stderr=stderr)
    try:
        started = wait_for_start(process, log)
        first = (started + STARTUP_MARGIN).replace(second=0, microsecond=0)
        first += timedelta(minutes=1)
        end = first + timedelta(minutes=minutes)
        progress(f"{side}: measuring the windows {first:%H:%M} to {end:%H:%M} (excluded) UTC")
        wait_until(first - timedelta(seconds=1))
        before = CpuTimes.of(process.pid)
        wait_until(end - timedelta(seconds=1))
        after = CpuTimes.of(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
    windows = {first + timedelta(minutes=n) for n in range(minutes)}
    with StateStore(Home.locate(home)) as store:
        runs = [
            v
            for d in store.datasets()
            for v in store.versions(d.name)
            if v.trigger.schedule_time in windows
        ]
    return SideResult(
        name=side,
        minutes=minutes,
        lateness=[_lateness(v, v.created_at) for v in runs],
        runs_expected=DATASETS * minutes,
        runs_distinct=len({(v.dataset, v.trigger.schedule_time) for v in runs}),
        runs_failed=sum(v.status != SUCCEEDED for v in runs),
        cpu_own=after.own - before.own,
        cpu_children=after.children - before.children,
        cpu_workers=after.workers - before.workers,
        fire_lateness=_fire_lateness(log, windows),
        start_lateness=[_lateness(v, v.started_at) for v in runs if v.started_at],
        load_average=load,
    )


def _lateness(version: Version, moment: datetime) -> float:
    assert version.trigger.schedule_time is not None
    return (moment - version.trigger.schedule_time).total_seconds()


def _milliseconds(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def _cpu_seconds(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds:.2f} s"


def _fire_lateness(log: Path, windows: set[datetime]) -> list[float]:
    texts = {w.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for w in windows}
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [
        e["latenessSeconds"] for e in events if e.get("event") == "fire" and e.get("dueAt") in texts
    ]


def build_report(results: list[SideResult], args: BenchArgs) -> None:
    rows = []
    for result in results:
        figures = result.to_json()
        rows.append(
            [
                result.name,
                f"{figures['runs']}/{figures['runs_expected']}",
                f"{result.load_average:.2f}",
                _milliseconds(figures["lateness_p50_s"]),
                _milliseconds(figures["lateness_p99_s"]),
                _milliseconds(figures["lateness_max_s"]),
                _milliseconds(figures["start_lateness_p50_s"]),
                _milliseconds(figures["start_lateness_p99_s"]),
                _cpu_seconds(figures["cpu_s_per_minute"]),
                _cpu_seconds(figures["workers_cpu_s_per_minute"]),
                _cpu_seconds(figures["children_cpu_s_per_minute"]),
            ]
        )
    headers = ["runner", "runs", "load", "p50 late", "p99 late", "max late", "p50 start"]
    headers += ["p99 start"]
    headers += ["CPU/min", "workers/min", "children/min"]
    verdicts = [
        f"{r.name}: p99 {r.to_json()['lateness_p99_s'] * 1000:.0f} ms, target < "
        f"{TARGET_P99_SECONDS * 1000:.0f} ms: "
        + ("met" if r.to_json()["lateness_p99_s"] < TARGET_P99_SECONDS else "not met")
        for r in results
        if r.lateness
    ]
    verdicts += [
        f"{r.name}: run start p99 {r.to_json()['start_lateness_p99_s'] * 1000:.0f} ms, target "
        f"< {TARGET_P99_SECONDS * 1000:.0f} ms: "
        + ("met" if r.to_json()["start_lateness_p99_s"] < TARGET_P99_SECONDS else "not met")
        for r in results
        if r.start_lateness
    ]
    verdicts += _floor_verdicts({r.name: r for r in results})
    failed = [f"{r.name}: {r.runs_failed} runs FAILED" for r in results if r.runs_failed]
    failed += [
        f"{r.name}: {len(r.lateness) - r.runs_distinct} windows ran more than once"
        for r in results
        if r.lateness and r.runs_distinct != len(r.lateness)
    ]
    text = "\n".join([format_table(headers, rows), "", *verdicts, *failed])
    document = {
        "datasets": DATASETS,
        "workers": WORKERS,
        "target_p99_s": TARGET_P99_SECONDS,
        "sides": {r.name: r.to_json() for r in results},
        "engine_over_floor_p99_start": _engine_over_floor(results),
    }
    title = f"scheduler: {DATASETS} datasets on cron(* * * * ? *), {WORKERS} workers"
    report(title, text, document, args)


def _engine_over_floor(results: list[SideResult]) -> float:
    sides = {r.name: r.to_json() for r in results}
    return float(sides["engine"]["start_lateness_p99_s"] / sides["floor"]["start_lateness_p99_s"])


def _floor_verdicts(sides: dict[str, SideResult]) -> list[str]:
    floor = sides["floor"].to_json()["start_lateness_p99_s"]
    engine = sides["engine"].to_json()["start_lateness_p99_s"]
    lines = [
        f"engine run start p99 / floor run start p99: {engine * 1000:.0f} ms / "
        f"{floor * 1000:.0f} ms = {_engine_over_floor(list(sides.values())):.2f}"
    ]
    if floor < TARGET_P99_SECONDS:
        lines.append(
            f"the floor starts its runs within the target ({floor * 1000:.0f} ms < "
            f"{TARGET_P99_SECONDS * 1000:.0f} ms): an engine doing only this work can meet it"
        )
    else:
        lines.append(
            f"the floor itself is over the target ({floor * 1000:.0f} ms >= "
            f"{TARGET_P99_SECONDS * 1000:.0f} ms): on this machine ({os.cpu_count()} CPUs) no "
            f"engine doing this work for {DATASETS} runs due at once can meet it (the floor is "
            "that work alone, as plain Python does it)"
        )
    return lines


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=3, quick_repetitions=1)
    with temp_dir("scheduler") as workdir:
        results = [measure_floor(workdir, args.repetitions)]
        results += [measure_side(side, workdir, args.repetitions) for side in ("no-op", "engine")]
    build_report(results, args)


if __name__ == "__main__":
    main()
