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
  alternated, wall time of the whole command. Target: ray / local <= 1.3.

This machine has two cores shared by everything on it: the cluster's nodes, their
actors and every notebook process compete with the scheduler, so the figures say what
the Ray path costs here, not what a cluster of real machines would give.

    python bench/ray_vs_local.py [--quick] [--json] [--repetitions N]   # --quick: 20 datasets
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
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import BenchArgs, format_table, parse_args, progress, report, temp_dir

# The cluster is the tests' (tests/ray_cluster.py): one way to start one on this machine.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iota_container.engine.home import Home
from iota_container.engine.records import SUCCEEDED, Version
from iota_container.engine.state_store import StateStore
from tests.ray_cluster import RayCluster, start_cluster
from tests.support import run_cli

DATASETS = 200
QUICK_DATASETS = 20
RAY_WORKERS = 3
WORKER_CPUS = 8  # logical: at 0.25, eight ACU_1 runs a node, 24 at once on the cluster
TARGET_RATIO = 1.3
TICK = os.sysconf("SC_CLK_TCK")
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


def main() -> None:
    args: BenchArgs = parse_args(__doc__ or "", repetitions=5, quick_repetitions=2)
    count = QUICK_DATASETS if args.quick else DATASETS
    with temp_dir("ray-vs-local") as workdir:
        local = many_at_once(workdir, "local", count, None)
        progress(f"starting a head and {RAY_WORKERS} worker nodes")
        cluster = start_cluster(workers=RAY_WORKERS, worker_cpus=WORKER_CPUS)
        try:
            ray = many_at_once(workdir, "ray", count, cluster)
            single = one_run(workdir, cluster, args.repetitions)
        finally:
            cluster.stop()
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
    medians = {name: sorted(values)[len(values) // 2] for name, values in single.items()}
    ratio = medians["ray"] / medians["local"]
    text = format_table(
        ["executor", "runs", "failed", "start p50 s", "p99", "end p50 s", "p99", "CPU s/min"],
        rows,
    )
    text += (
        f"\n\none run, median of {args.repetitions}: local {medians['local']:.2f} s, ray "
        f"{medians['ray']:.2f} s, ratio {ratio:.2f} (target <= {TARGET_RATIO})"
    )
    document = {"datasets": count, "many": sides, "one_run_s": single, "one_run_ratio": ratio}
    report("ray vs local", text, document, args)


if __name__ == "__main__":
    main()
