"""What the state store's per-run questions cost as a dataset keeps more versions.

A minute schedule that keeps every version (versioningConfiguration unlimited, the
default 90-day retentionPeriod) has 1,440 versions after a day and 129,600 at its steady
state. After each of its runs the engine asks whether retention prunes anything, and
once a day's versions age out, one goes at every run; the scheduler asks, for every
dataset it triggers, which of its versions have not triggered it yet. Each question is
timed on one home of N versions, side by side with the obvious way to answer it, which
this engine used before: read every version and decide in Python (retention.py's
versions_to_prune, one is_claimed query per upstream version).

- check: apply_retention after a run, nothing to prune, vs every version read;
- prune: apply_retention with one version past the age (deleted, its claims pruned), vs
  every version read to find it (the deletion not included: the baseline only decides);
- pending: pending_upstream_versions of the triggered dataset, vs every version read
  and its claim looked up.

    python bench/versions_kept.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import (
    Measured,
    Samples,
    alternate,
    format_table,
    parse_args,
    progress,
    report,
    temp_dir,
)

from iota_container.engine.home import Home
from iota_container.engine.records import MODE_QUERY, SUCCEEDED, Trigger, Version
from iota_container.engine.retention import versions_to_prune
from iota_container.engine.state_store import StateStore
from iota_container.scheduler.due import pending_upstream_versions

SIZES = (1_440, 43_200, 129_600)
QUICK_SIZES = (1_440, 14_400)
PER_DAY = 1_440
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def fill(store: StateStore, clock: Clock, count: int) -> None:
    """`count` SUCCEEDED versions of readings, one a minute's window, a day's worth at
    a time, each one claimed by report (it ran for them all): nothing pending, nothing
    past the age yet."""
    for first in range(0, count, PER_DAY):
        clock.now = START + timedelta(minutes=first)
        windows = [START + timedelta(minutes=m) for m in range(first, min(first + PER_DAY, count))]
        batch = [("readings", Trigger.schedule(w), MODE_QUERY) for w in windows]
        claims = [v for v in store.start_versions(batch, queued=False) if isinstance(v, Version)]
        store.skip_triggers("report", [Trigger.dataset("readings", v.id) for v in claims], "b")
    # Finished in one statement: a finish_version each would make set-up the bench.
    with sqlite3.connect(store.home.database) as database:
        database.execute(
            "UPDATE versions SET status = ?, started_at = created_at, finished_at = created_at"
            " WHERE dataset = 'readings'",
            (SUCCEEDED,),
        )
    clock.now = START + timedelta(minutes=count)  # the last window: none past the age yet


def write_definitions(folder: Path) -> list[Path]:
    """readings: SQL, every version kept for the default 90 days; report: triggered by it."""
    readings = {
        "datasetName": "readings",
        "actions": [
            {"queryAction": {"sqlQuery": "SELECT 1", "x-iota-source": {"command": "true"}}}
        ],
        "versioningConfiguration": {"unlimited": True},
    }
    report = {
        "datasetName": "report",
        "actions": [
            {
                "containerAction": {
                    "image": "iota-container/base:bench",
                    "executionRoleArn": "arn:aws:iam::123456789012:role/bench",
                    "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 1},
                    "variables": [],
                }
            }
        ],
        "triggers": [{"dataset": {"name": "readings"}}],
    }
    folder.mkdir(parents=True)
    paths = []
    for document in (readings, report):
        path = folder / f"{document['datasetName']}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def every_version_read(store: StateStore) -> list[Version]:
    dataset = store.dataset("readings")
    return versions_to_prune(
        store.versions("readings"),
        dataset.definition.versioning_configuration,
        dataset.definition.retention_period,
        store.clock(),
    )


def every_version_checked(store: StateStore) -> list[Version]:
    report_dataset = store.dataset("report")
    return [
        v
        for v in reversed(store.versions("readings"))
        if v.succeeded
        and v.finished_at is not None
        and v.finished_at > report_dataset.created_at
        and not store.is_claimed("report", Trigger.dataset("readings", v.id))
    ]


def pruning(store: StateStore, clock: Clock) -> Callable[[], Measured]:
    """apply_retention with one version 91 days old, made untimed before each call."""

    def side() -> Measured:
        now = clock.now
        clock.now = now - timedelta(days=91)
        (old,) = store.start_versions([("readings", Trigger.manual(), MODE_QUERY)], queued=False)
        assert isinstance(old, Version)
        store.finish_version(old, SUCCEEDED)
        clock.now = now
        started = time.perf_counter()
        pruned = store.apply_retention("readings")
        seconds = time.perf_counter() - started
        assert [v.id for v in pruned] == [old.id], pruned
        return Measured(seconds)

    return side


def measure(size: int, repetitions: int, workdir: Path) -> dict[str, dict[str, Samples]]:
    clock = Clock()
    store = StateStore(Home.locate(workdir / f"home-{size}"), clock=clock)
    store.register(*write_definitions(workdir / f"defs-{size}"))
    progress(f"{size} versions: filling the home")
    fill(store, clock, size)
    questions: dict[str, dict[str, Callable[[], Any]]] = {
        "check": {
            "engine": lambda: store.apply_retention("readings"),
            "every version read": lambda: every_version_read(store),
        },
        "prune": {
            "engine": pruning(store, clock),
            "every version read": lambda: every_version_read(store),
        },
        "pending": {
            "engine": lambda: pending_upstream_versions(store, store.dataset("report")),
            "every version read": lambda: every_version_checked(store),
        },
    }
    results = {}
    for question, sides in questions.items():
        progress(f"{size} versions: {question}")
        results[question] = alternate(sides, repetitions)
    store.close()
    return results


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=5, quick_repetitions=3)
    sizes = QUICK_SIZES if args.quick else SIZES
    rows: list[list[object]] = []
    document: dict[str, Any] = {"sizes": {}}
    with temp_dir("versions-kept") as workdir:
        for size in sizes:
            measured = measure(size, args.repetitions, workdir)
            document["sizes"][str(size)] = {
                q: {name: s.to_json() for name, s in sides.items()} for q, sides in measured.items()
            }
            for question, sides in measured.items():
                engine, baseline = sides["engine"], sides["every version read"]
                rows.append(
                    [
                        f"{size:,} versions: {question}",
                        f"{engine.median * 1000:.2f}",
                        f"{baseline.median * 1000:.2f}",
                        f"{engine.median / baseline.median:.4f}",
                    ]
                )
    headers = ["question (median of each side)", "engine ms", "every version read ms", "ratio"]
    report(
        "per-run state store questions vs versions kept",
        format_table(headers, rows),
        document,
        args,
    )


if __name__ == "__main__":
    main()
