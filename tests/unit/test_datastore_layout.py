"""Where `datastore put` writes messages (the service's layout), and how each run's
delta window is computed from the schedule and the previous window."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from iota_container.datastore.definition import (
    AttributePartition,
    DatastoreDefinition,
    DatastorePartition,
    DatastorePartitions,
    TimestampPartition,
)
from iota_container.datastore.delta_window import DeltaWindow, window_for
from iota_container.datastore.put import put_messages
from iota_container.datastore.registry import Datastore
from iota_container.definitions.model import DeltaTime
from iota_container.engine.records import Trigger, Version
from iota_container.schedule.expressions import parse_schedule

ARRIVAL = datetime(2025, 3, 1, 12, 30, 15, tzinfo=timezone.utc)
T = datetime(2025, 3, 1, 13, 0, tzinfo=timezone.utc)


def partitioned_store(root: Path) -> Datastore:
    partitions = DatastorePartitions(
        (
            DatastorePartition(attribute_partition=AttributePartition("site")),
            DatastorePartition(
                timestamp_partition=TimestampPartition("at", "yyyy-MM-dd'T'HH:mm:ss")
            ),
            DatastorePartition(timestamp_partition=TimestampPartition("ts")),  # seconds
        )
    )
    definition = DatastoreDefinition("plant", datastore_partitions=partitions)
    return Datastore("plant", str(root), "json", json.dumps(definition.to_json()), ARRIVAL)


def test_put_writes_one_object_per_partition_folder_of_the_arrival_day(tmp_path: Path) -> None:
    messages: list[dict[str, Any]] = [
        {"site": "a/b", "at": "2025-03-01T23:59:59", "ts": 1740830400, "v": 1},
        {"site": "a/b", "at": "2025-03-01T00:00:00", "ts": 1740830400000, "v": 2},  # in ms
        {"site": "c", "at": "2025-04-02T08:00:00", "ts": 1743580800, "v": 3},
        {"at": "not a time", "v": 4},
    ]
    written = put_messages(partitioned_store(tmp_path), messages, arrival=ARRIVAL)
    folders = sorted(str(Path(w).parent.relative_to(tmp_path)) for w in written)
    day, missing = "__dt=2025-03-01 00:00:00", "__HIVE_DEFAULT_PARTITION__"
    assert folders == [
        f"{day}/site={missing}/__at=not a time/__ts={missing}",
        f"{day}/site=a%2Fb/__at=2025-03-01/__ts=2025-03-01",
        f"{day}/site=c/__at=2025-04-02/__ts=2025-04-02",
    ]
    names = [Path(w).name for w in written]
    assert all(n.startswith(f"{int(ARRIVAL.timestamp() * 1000)}_") for n in names)
    assert all(n.endswith("_plant.json.gz") for n in names)
    (both,) = [w for w in written if "a%2Fb" in w]
    lines = gzip.decompress(Path(both).read_bytes()).decode().splitlines()
    assert [json.loads(line)["v"] for line in lines] == [1, 2]


def version(trigger: Trigger, created: datetime = T) -> Version:
    return Version("v", "d", "CREATING", trigger, "query", created, "file:///x")


def test_a_first_scheduled_window_is_one_interval_back_shifted_by_the_offset() -> None:
    every_five = [parse_schedule("rate(5 minutes)", anchor=T - timedelta(hours=1))]
    window = window_for(DeltaTime(60, "t"), version(Trigger.schedule(T)), None, every_five)
    assert window == DeltaWindow(T - timedelta(minutes=6), T - timedelta(minutes=1))


def test_later_windows_start_where_the_last_ended() -> None:
    previous = T - timedelta(minutes=7)
    window = window_for(DeltaTime(0, "t"), version(Trigger.schedule(T)), previous, [])
    assert window == DeltaWindow(previous, T)


def test_a_manual_first_run_without_a_schedule_reads_from_the_first_message() -> None:
    window = window_for(DeltaTime(10, "t"), version(Trigger.manual()), None, [])
    assert window == DeltaWindow(None, T - timedelta(seconds=10))


def test_a_window_never_ends_before_it_starts() -> None:
    later = T + timedelta(minutes=3)  # a manual run moved the start past this schedule time
    window = window_for(DeltaTime(0, "t"), version(Trigger.schedule(T)), later, [])
    assert window == DeltaWindow(later, later)
