"""Runs on a 3-node Ray cluster on this machine against the same runs through `local`.

Two measurements, each side by side with the `local` executor (`--no-container`: the
runtime runs the notebook in a process, on this machine or on a Ray node):

- Many at once: DATASETS container datasets (a one-cell notebook), each
  `cron(* * * * ? *)`, registered in a fresh home; a real `iota-container scheduler`
  runs one minute's window of all of them, through `--executor local` and then through
  `--executor ray` on a head and three worker nodes (tests/ray_cluster.py, each worker
  declaring WORKER_CPUS logical CPUs, IOTA_RAY_RESOURCE_SCALE=0.25: an ACU_1 run is 1
  CPU). For every version: window → run start (startedAt, when the params are written
  and the run is handed over) and window → run end (finishedAt), p50 and p99; and the
  scheduler process's own CPU per minute (user + system, /proc, from its start line to
  the last run's end, its Ray driver children apart).
- One run: `dataset run NAME --no-container` with `--executor ray` and with `local`,
  alternated, wall time of the whole command; and one run through a running scheduler
  of each side (`--executor ray` / `local`, its clock a file moved on a minute at a
  time): from the window's moment to the version's end, as this process sees it.
  Target: ray / local <= 1.3. Each ray run's driver log (ray-driver.log beside its run
  log) has the wall-clock time of each of its steps, for a breakdown.

This machine has two cores shared by everything on it: the cluster's nodes, their
agents and every notebook process compete with the scheduler, so the figures say what
the Ray path costs here, not what a cluster of real machines would give.

    python bench/ray_vs_local.py [--quick] [--json] [--repetitions N]   # --quick: 20 datasets
    python bench/ray_vs_local.py --one-run-only [--quick] ...  # the one-run table alone
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _common import BenchArgs, format_table, parse_args, progress, report, temp_dir

# The cluster is the tests' (tests/ray_cluster.py): one way to start one on this machine.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iota_container.engine.home import Home
from iota_container.engine.records import SUCCEEDED, Version
from iota_container.engine.state_store import StateStore
from iota_container.scheduler.clock import CLOCK_FILE_ENV
from tests.ray_cluster import RayCluster, start_cluster
from tests.support import run_cli

DATASETS = 200
QUICK_DATASETS = 20
RAY_WORKERS = 3
WORKER_CPUS = 8  # logical: at 0.25, eight ACU_1 runs a node, 24 at once on the cluster
TARGET_RATIO = 1.3
TICK = os.sysconf("SC_CLK_TCK")
ONE_RUN_ONLY = "--one-run-only"
POLL_SECONDS = 0.05  # how often this process looks for a scheduled run's end
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": "greeting = ''",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "print(greeting)",
            "outputs": [],
            "execution_count": None,
        },
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


@dataclass(frozen=True)
class ManySide:
    executor: str
    runs: int
    failed: int
    to_start: list[float]
    to_end: list[float]
    cpu_per_minute: float

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "failed": self.failed,
            "start_p50_s": percentile(self.to_start, 0.5),
            "start_p99_s": percentile(self.to_start, 0.99),
            "end_p50_s": percentile(self.to_end, 0.5),
            "end_p99_s": percentile(self.to_end, 0.99),
            "scheduler_cpu_s_per_minute": self.cpu_per_minute,
        }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else math.nan


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def write_definitions(folder: Path, count: int, schedule: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    paths = []
    for number in range(count):
        name = f"hello_{number:04d}"
        action = {
            "image": "iota-container/base:test",
            "executionRoleArn": "arn:aws:iam::123456789012:role/bench",
            "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 1},
            "variables": [{"name": "greeting", "stringValue": name}],
            "x-iota-notebook": "hello.ipynb",
        }
        document: dict[str, Any] = {
            "datasetName": name,
            "actions": [{"containerAction": action}],
            "versioningConfiguration": {"unlimited": True},
        }
        if schedule:
            document["triggers"] = [{"schedule": {"expression": "cron(* * * * ? *)"}}]
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, timeout=1800)


def base_env(home: Path, cluster: RayCluster | None) -> dict[str, str]:
    """What the CLI gets besides this environment (without its AWS_ and IOTA_ settings)."""
    return {"IOTA_HOME": str(home)} | (cluster.env() if cluster is not None else {})


def versions(home: Path) -> list[Version]:
    with StateStore(Home.locate(home)) as store:
        return [v for d in store.datasets() for v in store.versions(d.name)]


def many_at_once(workdir: Path, executor: str, count: int, cluster: RayCluster | None) -> ManySide:
    home = workdir / f"home-{executor}"
    env = base_env(home, cluster)
    paths = write_definitions(workdir / f"defs-{executor}", count, schedule=True)
    registered = cli(env, "dataset", "register", *map(str, paths))
    assert registered.returncode == 0, registered.stderr
    log = workdir / f"scheduler-{executor}.log"
    workers = str(RAY_WORKERS * WORKER_CPUS)  # both sides: the executor is what differs
    command = ["scheduler", "--no-container", "--executor", executor, "--workers", workers]
    with log.open("w") as stderr:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "iota_container", *command, "--json-log"],
            env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))} | env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        started = time.monotonic()
        while "scheduler:" not in log.read_text():
            assert scheduler.poll() is None, log.read_text()[-2000:]
            time.sleep(0.1)
        cpu_before, clock_before = cpu_seconds(scheduler.pid), time.monotonic()
        progress(f"{executor}: waiting for the next minute's window")
        deadline = started + 60 + 1800
        while len(first_window(versions(home))) < count and time.monotonic() < deadline:
            time.sleep(1)
        minutes = (time.monotonic() - clock_before) / 60
        cpu = cpu_seconds(scheduler.pid) - cpu_before
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(120)
    finished = first_window(versions(home))
    for version in finished:
        if version.status != SUCCEEDED:  # kept: the work folder is removed afterwards
            progress(f"{executor}: {version.dataset} {version.status}: {version.reason}")

    def after_window(moment: datetime | None, scheduled: datetime | None) -> float:
        assert moment is not None and scheduled is not None
        return (moment - scheduled).total_seconds()

    return ManySide(
        executor,
        len(finished),
        sum(1 for v in finished if v.status != SUCCEEDED),
        [after_window(v.started_at, v.trigger.schedule_time) for v in finished],
        [after_window(v.finished_at, v.trigger.schedule_time) for v in finished],
        cpu / minutes if finished else math.nan,
    )


def first_window(every: list[Version]) -> list[Version]:
    """The finished versions of the first window: a slow side's runs of the next minute
    (its windows come on while the first is still running) are not measured."""
    windows = [v.trigger.schedule_time for v in every if v.trigger.schedule_time is not None]
    first = min(windows, default=None)
    return [v for v in every if v.trigger.schedule_time == first and v.finished_at is not None]


def one_run(workdir: Path, cluster: RayCluster, rounds: int) -> dict[str, list[float]]:
    home = workdir / "home-one"
    (path,) = write_definitions(workdir / "defs-one", 1, schedule=False)
    env = base_env(home, cluster)
    assert cli(env, "dataset", "register", str(path)).returncode == 0
    times: dict[str, list[float]] = {"local": [], "ray": []}
    for round_number in range(rounds + 1):  # the first round warms both sides, untimed
        for executor in ("local", "ray"):
            started = time.monotonic()
            ran = cli(env, "dataset", "run", "hello_0000", "--no-container", "--executor", executor)
            assert ran.returncode == 0, ran.stderr[-2000:]
            if round_number:
                times[executor].append(time.monotonic() - started)
    return times


class ScheduledSide:
    """A scheduler of one executor, its clock a file: `window_to_end` moves the clock on
    a minute and times its one dataset's run of that window."""

    def __init__(self, workdir: Path, executor: str, cluster: RayCluster) -> None:
        self.executor = executor
        self.home = workdir / f"home-scheduled-{executor}"
        self.clock = workdir / f"clock-{executor}"
        every_minute = workdir / f"defs-scheduled-{executor}"
        (path,) = write_definitions(every_minute, 1, schedule=True)
        env = base_env(self.home, cluster) | {CLOCK_FILE_ENV: str(self.clock)}
        assert cli(env, "dataset", "register", str(path)).returncode == 0
        (registered,) = registered_times(self.home)
        self.window = registered.replace(second=0, microsecond=0)
        self.clock.write_text(self.window.isoformat())
        self.log = workdir / f"scheduler-one-{executor}.log"
        command = ["scheduler", "--no-container", "--executor", executor, "--poll-seconds", "0.2"]
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        with self.log.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "iota_container", *command, "--json-log"],
                env=keep | env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        while "scheduler:" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            time.sleep(0.1)

    def window_to_end(self) -> float:
        self.window += timedelta(minutes=1)
        started = time.monotonic()
        self.clock.write_text((self.window + timedelta(seconds=1)).isoformat())
        deadline = started + 600
        while time.monotonic() < deadline:
            ended = [v for v in versions(self.home) if v.trigger.schedule_time == self.window]
            if ended and ended[0].finished_at is not None:
                assert ended[0].status == SUCCEEDED, ended[0].reason
                return time.monotonic() - started
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"{self.executor}: no end of the {self.window} run in 600 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(120)


def registered_times(home: Path) -> list[datetime]:
    """When each dataset of the home was registered."""
    with StateStore(Home.locate(home)) as store:
        return [d.created_at for d in store.datasets()]


def one_scheduled_run(workdir: Path, cluster: RayCluster, rounds: int) -> dict[str, list[float]]:
    sides = [ScheduledSide(workdir, executor, cluster) for executor in ("local", "ray")]
    times: dict[str, list[float]] = {"local": [], "ray": []}
    try:
        for round_number in range(rounds + 1):  # the first round warms both sides, untimed
            for side in sides if round_number % 2 else reversed(sides):
                seconds = side.window_to_end()
                if round_number:
                    times[side.executor].append(seconds)
    finally:
        for side in sides:
            side.stop()
    return times


DRIVER_STEP = re.compile(r"^ray-driver \d+: (?P<step>.+) at (?P<moment>\d+\.\d+)$")
# (label, the steps it runs from (the later), the step it runs to), as ray_driver.py
# logs them; a driver connects before its run is handed over ("given") when it can.
DRIVER_INTERVALS = (
    ("driver: import ray", ("started",), "imported ray"),
    ("ray.init", ("imported ray",), "connected"),
    ("given the run -> submitted", ("given", "connected"), "submitted"),
    ("reserved, given to its node's agent", ("submitted",), "placed on"),
    ("the run on the node", ("placed on",), "ended"),
    ("collect it (group removed)", ("ended",), "collected"),
)


def driver_breakdown(home: Path) -> dict[str, float]:
    """The median seconds of each step of the ray runs' drivers in `home` (their logs)."""
    spans: dict[str, list[float]] = {label: [] for label, _, _ in DRIVER_INTERVALS}
    for driver_log in home.glob("datasets/*/*/ray-driver.log"):
        moments: dict[str, float] = {}
        for line in driver_log.read_text(errors="replace").splitlines():
            found = DRIVER_STEP.match(line)
            if found:  # "given submit RUN", "placed on NODE": by their first words
                step = found["step"]
                key = next((k for k in ("given", "placed on") if step.startswith(k)), step)
                moments[key] = float(found["moment"])
        for label, starts, end in DRIVER_INTERVALS:
            if all(start in moments for start in starts) and end in moments:
                spans[label].append(moments[end] - max(moments[start] for start in starts))
    return {label: median(values) for label, values in spans.items() if values}


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def one_run_text(
    single: dict[str, list[float]],
    scheduled: dict[str, list[float]],
    steps: dict[str, dict[str, float]],
) -> str:
    rows = []
    for name, times in (("dataset run (CLI)", single), ("through a scheduler", scheduled)):
        local, ray = median(times["local"]), median(times["ray"])
        rows.append([name, f"{local:.2f}", f"{ray:.2f}", f"{ray / local:.2f}"])
    text = format_table(["one run, median", "local s", "ray s", "ray / local"], rows)
    text += f"\n(target ray / local <= {TARGET_RATIO}; load {os.getloadavg()[0]:.1f})"
    text += "\n\n" + format_table(
        ["a ray run's steps, median", "CLI s", "scheduler s"],
        [
            [label, *(f"{steps[side].get(label, math.nan):.2f}" for side in ("cli", "scheduler"))]
            for label, _, _ in DRIVER_INTERVALS
        ],
    )
    text += (
        "\n(a driver's import and ray.init are in the log of the first run it serves; a "
        "scheduler's driver starts with it, before its first window)"
    )
    for name, times in (("dataset run (CLI)", single), ("through a scheduler", scheduled)):
        ratio = median(times["ray"]) / median(times["local"])
        verdict = "met" if ratio <= TARGET_RATIO else "not met"
        text += f"\n{name}: ray / local {ratio:.2f}, target <= {TARGET_RATIO}: {verdict}"
    return text


def main() -> None:
    one_run_only = ONE_RUN_ONLY in sys.argv
    if one_run_only:
        sys.argv.remove(ONE_RUN_ONLY)
    args: BenchArgs = parse_args(__doc__ or "", repetitions=5, quick_repetitions=2)
    count = QUICK_DATASETS if args.quick else DATASETS
    with temp_dir("ray-vs-local") as workdir:
        if not one_run_only:
            local = many_at_once(workdir, "local", count, None)
        progress(f"starting a head and {RAY_WORKERS} worker nodes")
        cluster = start_cluster(workers=RAY_WORKERS, worker_cpus=WORKER_CPUS)
        try:
            if not one_run_only:
                ray = many_at_once(workdir, "ray", count, cluster)
            single = one_run(workdir, cluster, args.repetitions)
            scheduled = one_scheduled_run(workdir, cluster, args.repetitions)
            steps = {
                "cli": driver_breakdown(workdir / "home-one"),
                "scheduler": driver_breakdown(workdir / "home-scheduled-ray"),
            }
        finally:
            cluster.stop()
    one_run_document = {
        "one_run_s": single,
        "one_run_ratio": median(single["ray"]) / median(single["local"]),
        "one_scheduled_run_s": scheduled,
        "one_scheduled_run_ratio": median(scheduled["ray"]) / median(scheduled["local"]),
        "ray_driver_steps_s": steps,
    }
    if one_run_only:
        report(
            "ray vs local, one run", one_run_text(single, scheduled, steps), one_run_document, args
        )
        return
    sides = {"local": local.to_json(), "ray": ray.to_json()}
    rows = [
        [
            name,
            side["runs"],
            side["failed"],
            f"{side['start_p50_s']:.1f}",
            f"{side['start_p99_s']:.1f}",
            f"{side['end_p50_s']:.1f}",
            f"{side['end_p99_s']:.1f}",
            f"{side['scheduler_cpu_s_per_minute']:.1f}",
        ]
        for name, side in sides.items()
    ]
    text = format_table(
        ["executor", "runs", "failed", "start p50 s", "p99", "end p50 s", "p99", "CPU s/min"],
        rows,
    )
    text += "\n\n" + one_run_text(single, scheduled, steps)
    document = {"datasets": count, "many": sides} | one_run_document
    report("ray vs local", text, document, args)


if __name__ == "__main__":
    main()
