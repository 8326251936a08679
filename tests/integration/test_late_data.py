"""Late data, end to end: `scheduler --once` processes on a simulated clock, messages put
between runs, EventBridge and SQS in the moto server (out of process). Messages put after
their window was read are counted on that window's version; the late messages of several
checks make one session, sent as one event once timeoutInMinutes pass without more."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from iota_container.datastore.late_data import DETAIL_TYPE
from iota_container.engine.home import Home
from iota_container.engine.state_store import StateStore
from tests.datastores import (
    Clocked,
    EventsQueue,
    late_data_rules,
    sql_dataset,
    write_json_lines,
)
from tests.servers import MotoServer

pytestmark = pytest.mark.integration

OFFSET = 30
TIMEOUT_MINUTES = 2


def test_late_messages_are_counted_on_their_versions_and_notified_in_one_batch(
    tmp_path: Path, moto: MotoServer
) -> None:
    queue = EventsQueue(moto, DETAIL_TYPE)
    world = Clocked(tmp_path, moto.client_env())
    document = sql_dataset(
        "recent",
        "SELECT id FROM events ORDER BY ts",
        delta=("from_unixtime(ts)", OFFSET),
        schedule="cron(* * * * ? *)",
        lateDataRules=late_data_rules("late_rule", TIMEOUT_MINUTES),
    )
    world.register(document)
    with StateStore(Home.locate(tmp_path / "home")) as store:
        registered = store.dataset("recent").created_at
    t = [registered.replace(second=0, microsecond=0) + timedelta(minutes=n) for n in range(1, 8)]
    s = timedelta(seconds=1)

    world.put(t[0] - 50 * s)
    world.scheduler_at(t[0] + 5 * s)  # version 1: [t0 - 90 s, t0 - 30 s)
    world.put(t[0] - 40 * s, t[0] - 35 * s, t[0] - 10 * s)  # two late for 1; one in window 2
    world.scheduler_at(t[1] + 5 * s)  # version 2 checks first: 2 late for version 1
    world.put(t[0] - 45 * s, t[1] - 50 * s)  # late for 1 and for 2
    world.scheduler_at(t[2] + 5 * s)  # version 3 checks: the session goes on
    assert queue.received() == []  # under timeoutInMinutes since the last late message

    first, second, third = world.versions()
    assert (first.late_messages, second.late_messages, third.late_messages) == (3, 1, 0)
    assert first.late_notified_at is None
    listed = json.loads(world.cli("dataset", "contents", "recent", "--json").stdout)
    assert [v["lateData"] and v["lateData"]["messages"] for v in listed] == [None, 1, 3]

    # No more late data: the tick after the timeout sends the session, once.
    world.scheduler_at(t[2] + TIMEOUT_MINUTES * 60 * s + 10 * s, "--latest-only")
    (event,) = queue.received()
    assert event["detail-type"] == DETAIL_TYPE
    assert event["resources"] == ["arn:aws:iotanalytics:us-east-1:123456789012:dataset/recent"]
    assert event["detail"] == {
        "event-detail-version": "1.0",
        "dataset-name": "recent",
        "late-data-rule-name": "late_rule",
        "version-ids": sorted([first.id, second.id]),
        "message": None,
    }
    world.scheduler_at(t[6] + 5 * s)
    assert queue.received() == []
    notified = world.versions()[0]
    assert notified.late_notified_at == t[2] + TIMEOUT_MINUTES * 60 * s + 10 * s


def test_a_file_another_writer_drops_into_the_store_is_checked_at_the_scheduler_tick(
    tmp_path: Path, moto: MotoServer
) -> None:
    """Firehose or an export writes objects into the store without `datastore put`: the
    scheduler's tick finds the new file, with no run of the dataset in between."""
    queue = EventsQueue(moto, DETAIL_TYPE)
    world = Clocked(tmp_path, moto.client_env())
    world.register(
        sql_dataset(
            "recent",
            "SELECT id FROM events",
            delta=("from_unixtime(ts)", OFFSET),
            schedule="cron(* * * * ? *)",
            lateDataRules=late_data_rules("dropped", 1),
        )
    )
    with StateStore(Home.locate(tmp_path / "home")) as store:
        registered = store.dataset("recent").created_at
    t0 = registered.replace(second=0, microsecond=0) + timedelta(minutes=1)
    s = timedelta(seconds=1)
    world.put(t0 - 50 * s)
    world.scheduler_at(t0 + 5 * s)  # version 1: [t0 - 90 s, t0 - 30 s)

    root = tmp_path / "home" / "datastores" / "events" / "datastore" / "events"
    dropped = root / f"__dt={t0:%Y-%m-%d} 00:00:00" / "9999999999999_export_events.json"
    dropped.parent.mkdir(parents=True, exist_ok=True)
    write_json_lines(dropped, [{"id": "late", "ts": int((t0 - 40 * s).timestamp())}])
    world.scheduler_at(t0 + 20 * s)  # nothing due: the tick alone looks at the store
    (first,) = world.versions()
    assert first.late_messages == 1
    assert queue.received() == []

    world.scheduler_at(t0 + 85 * s)  # a minute without more: sent (by the run at t0 + 60 s)
    (event,) = queue.received()
    assert event["detail"]["version-ids"] == [first.id]
    assert event["detail"]["late-data-rule-name"] == "dropped"
