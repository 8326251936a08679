"""Late data: messages that arrive after their delta window was read, notified in batches
as the service's lateDataRules did.

The service (user guide, "Getting late data notifications through Amazon CloudWatch
Events") sent an event of detail-type "IoT Analytics Dataset Lifecycle Notification"
when data arrived for a window already processed; `timeoutInMinutes` (1..60) is a session
window batching those notifications: one event at a time, listing the versions concerned
in its detail's `version-ids`. Here the events go to EventBridge's default bus (what
CloudWatch Events became) with that detail-type and detail; their source cannot be the
service's `aws.iotanalytics`, which EventBridge reserves for AWS: it is EVENT_SOURCE.

Detection, for a dataset with a late data rule: each data store file its query reads
that this check has not looked at yet is read for its messages' timeExpression; those
inside the window of a version that already SUCCEEDED are late for that version (counted
on it, shown by `dataset contents`). A session is the dataset's pending late messages;
once timeoutInMinutes pass without more, one event names every version in it.

Where it runs, and why there:
- at the start of each run of the dataset, before its query reads the files: a file
  that run reads is then looked at against the windows before it, never against its own;
- at each tick of the scheduler (LateDataWatch, every TICK_SECONDS, and once after
  `scheduler --once`): files land in a store from writers this project never sees
  (Firehose, exports), so the store's files, not `datastore put`, are what is checked;
  and a session ends by time passing, which only a process that stays up sees. Both use
  the scheduler's clock, so a simulated clock moves sessions on as it moves windows.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from iota_container.datastore.delta_window import delta_time
from iota_container.datastore.filesystems import duckdb_connection, s3_filesystem
from iota_container.datastore.layout import list_files
from iota_container.datastore.query import (
    files_relation,
    stores_named,
    timestamptz_literal,
)
from iota_container.datastore.registry import Datastore, DatastoreRegistry
from iota_container.datastore.state import StateConnection
from iota_container.datastore.translations import TranslationCache
from iota_container.engine.records import RegisteredDataset, from_text, to_text
from iota_container.errors import IotaError
from iota_container.text import one_line

if TYPE_CHECKING:
    from iota_container.engine.state_store import Clock, StateStore

log = logging.getLogger("iota_container")

DETAIL_TYPE = "IoT Analytics Dataset Lifecycle Notification"
EVENT_SOURCE = "iota-container.iotanalytics"
EVENT_BUS = "default"
# A session's timeout is whole minutes: a tick every 30 s sends a batch at most that late.
TICK_SECONDS = 30.0
BASELINE = ""  # the path recorded once a dataset's files were first looked at


class LateDataNotificationFailed(IotaError):
    """EventBridge did not take a late data notification."""


@dataclass(frozen=True)
class LateDataRule:
    name: str | None
    timeout: timedelta


def late_data_rule(dataset: RegisteredDataset) -> LateDataRule | None:
    """The dataset's late data rule (the model allows one), with its session timeout."""
    for rule in dataset.definition.late_data_rules or ():
        window = rule.rule_configuration.delta_time_session_window
        if window is not None and delta_time(dataset.definition) is not None:
            return LateDataRule(rule.rule_name, timedelta(minutes=window.timeout_in_minutes))
    return None


class LateDataLedger(StateConnection):
    """Files looked at, late messages counted on versions, sessions not yet notified."""

    def seen_files(self, dataset: str) -> set[str]:
        rows = self._connection.execute(
            "SELECT path FROM late_data_files WHERE dataset = ?", (dataset,)
        )
        return {row[0] for row in rows.fetchall()}

    def processed_windows(self, dataset: str) -> list[tuple[str, str | None, str]]:
        """(version id, window start, window end) of the dataset's succeeded versions."""
        rows = self._connection.execute(
            "SELECT id, window_start, window_end FROM versions"
            " WHERE dataset = ? AND status = 'SUCCEEDED' AND window_end IS NOT NULL",
            (dataset,),
        )
        return [(row[0], row[1], row[2]) for row in rows.fetchall()]

    def record_check(
        self, dataset: str, files: Iterable[str], late: dict[str, int], now: datetime
    ) -> None:
        """The files looked at, and the late messages they held, in one transaction."""
        seen = to_text(now)
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO late_data_files (dataset, path) VALUES (?, ?)",
                [(dataset, path) for path in files],
            )
            for version_id, count in late.items():
                db.execute(
                    "UPDATE versions SET late_messages = late_messages + ? WHERE id = ?",
                    (count, version_id),
                )
                db.execute(
                    "INSERT INTO late_data_pending (dataset, version_id, messages, last_seen)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (dataset, version_id) DO UPDATE SET"
                    " messages = messages + excluded.messages, last_seen = excluded.last_seen",
                    (dataset, version_id, count, seen),
                )

    def pending(self, dataset: str) -> tuple[list[str], datetime | None]:
        """The versions of the open session, and when its last late message was seen."""
        rows = self._connection.execute(
            "SELECT version_id, last_seen FROM late_data_pending WHERE dataset = ?"
            " ORDER BY version_id",
            (dataset,),
        ).fetchall()
        last = max((from_text(row[1]) for row in rows), default=None)
        return [row[0] for row in rows], last

    def mark_notified(self, dataset: str, version_ids: list[str], now: datetime) -> None:
        with self._write() as db:
            db.executemany(
                "DELETE FROM late_data_pending WHERE dataset = ? AND version_id = ?",
                [(dataset, v) for v in version_ids],
            )
            db.executemany(
                "UPDATE versions SET late_notified_at = ? WHERE id = ?",
                [(to_text(now), v) for v in version_ids],
            )


def check_late_data(store: StateStore, dataset: RegisteredDataset, now: datetime) -> int:
    """Look at the files of the dataset's stores not looked at yet; the late messages
    they hold are counted on their versions and join the open session. Returns how many."""
    delta = delta_time(dataset.definition)
    action = dataset.definition.query_action
    if delta is None or action is None or late_data_rule(dataset) is None:
        return 0
    where = f"timeExpression {delta.time_expression!r} of dataset {dataset.name!r}"
    with TranslationCache(store.home) as translations:
        time_sql, _ = translations.expression(delta.time_expression, where)
        query_where = f"sqlQuery of dataset {dataset.name!r}"
        tables = translations.query(action.sql_query, query_where).tables
    with DatastoreRegistry(store.home) as registry:
        stores = stores_named(registry, tables, dataset.name)
    with LateDataLedger(store.home) as ledger:
        seen = ledger.seen_files(dataset.name)
        windows = ledger.processed_windows(dataset.name)
        new = {s.name: [f for f in _files(s) if f not in seen] for s in stores}
        late: dict[str, int] = {}
        # The first check only takes note of the files already there: versions that ran
        # before the rule was checked read them, and their messages are not late.
        first = BASELINE not in seen
        if windows and not first:
            for datastore in stores:
                for version_id, count in _late_counts(
                    datastore, new[datastore.name], time_sql, windows
                ):
                    late[version_id] = late.get(version_id, 0) + count
        looked_at = [f for files in new.values() for f in files] + ([BASELINE] if first else [])
        ledger.record_check(dataset.name, looked_at, late, now)
    total = sum(late.values())
    if total:
        log.info("dataset %s: %d late message(s) for %s", dataset.name, total, sorted(late))
    return total


def _files(datastore: Datastore) -> list[str]:
    s3 = s3_filesystem() if datastore.on_s3 else None
    return list_files(datastore.root, datastore.format, s3)


def _late_counts(
    datastore: Datastore,
    files: list[str],
    time_sql: str,
    windows: list[tuple[str, str | None, str]],
) -> list[tuple[str, int]]:
    """(version id, messages) for the messages of `files` inside a processed window."""
    if not files:
        return []
    import duckdb

    def literal(text: str | None) -> str:
        moment = timestamptz_literal(from_text(text)) if text else None
        return f"TIMESTAMPTZ '{moment}'" if moment else "CAST(NULL AS TIMESTAMPTZ)"

    values = ", ".join(f"('{v}', {literal(start)}, {literal(end)})" for v, start, end in windows)
    sql = (
        f"SELECT w.version_id, count(*) FROM (SELECT CAST(({time_sql}) AS TIMESTAMPTZ) AS t"
        f" FROM ({files_relation(files, datastore.format)})) AS m"
        f" JOIN (VALUES {values}) AS w(version_id, window_start, window_end)"
        " ON (w.window_start IS NULL OR m.t >= w.window_start) AND m.t < w.window_end"
        " GROUP BY w.version_id"
    )
    connection = duckdb_connection(s3=datastore.on_s3)
    try:
        return [(row[0], int(row[1])) for row in connection.execute(sql).fetchall()]
    except duckdb.Error as e:
        raise IotaError(
            f"late data of data store {datastore.name!r} cannot be read: {one_line(str(e), 300)}"
        ) from e
    finally:
        connection.close()


def notify_ended_sessions(
    store: StateStore, dataset: RegisteredDataset, now: datetime, events: Any | None = None
) -> dict[str, Any] | None:
    """The event sent for the dataset's session when timeoutInMinutes passed since its
    last late message, else None; `events` is an EventBridge client (made when needed)."""
    rule = late_data_rule(dataset)
    if rule is None:
        return None
    with LateDataLedger(store.home) as ledger:
        version_ids, last_seen = ledger.pending(dataset.name)
        if not version_ids or last_seen is None or now < last_seen + rule.timeout:
            return None
        event = _put_event(events, dataset.name, rule, version_ids, now)
        ledger.mark_notified(dataset.name, version_ids, now)
    log.info("dataset %s: late data notified for %s", dataset.name, version_ids)
    return event


def _put_event(
    events: Any | None, dataset: str, rule: LateDataRule, version_ids: list[str], now: datetime
) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    from iota_container.storage.s3 import client_config, default_session

    session = default_session()
    client = events or session.client("events", config=client_config())
    detail = {
        "event-detail-version": "1.0",
        "dataset-name": dataset,
        "late-data-rule-name": rule.name,
        "version-ids": version_ids,
        "message": None,
    }
    try:
        account = session.client("sts", config=client_config()).get_caller_identity()["Account"]
        region = client.meta.region_name
        entry = {
            "Time": now,
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPE,
            "Resources": [f"arn:aws:iotanalytics:{region}:{account}:dataset/{dataset}"],
            "Detail": json.dumps(detail),
            "EventBusName": EVENT_BUS,
        }
        answer = client.put_events(Entries=[entry])
    except (BotoCoreError, ClientError) as e:
        raise LateDataNotificationFailed(
            f"the late data notification of dataset {dataset!r} was not sent to EventBridge "
            f"({one_line(str(e), 300)}): it is sent at the next tick"
        ) from e
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise LateDataNotificationFailed(
            f"EventBridge refused the late data notification of dataset {dataset!r} "
            f"({failed.get('ErrorCode')}: {failed.get('ErrorMessage')}): it is sent again "
            "at the next tick"
        )
    return entry


def late_data_before_run(store: StateStore, dataset: RegisteredDataset) -> None:
    """Before a run reads its stores: the files it is about to read are looked at against
    the windows before its own, and an ended session is sent (a dataset run by hand,
    with no scheduler up, notifies too). A failure here is logged: the run goes on."""
    if late_data_rule(dataset) is not None:
        _check_and_notify(store, dataset, store.clock(), None)


def late_data_tick(store: StateStore, now: datetime, events: Any | None = None) -> None:
    """One tick: check every dataset with a late data rule, send the ended sessions. A
    dataset that fails is logged and left for the next tick; the others go on."""
    for dataset in store.datasets():
        if late_data_rule(dataset) is not None:
            _check_and_notify(store, dataset, now, events)


def _check_and_notify(
    store: StateStore, dataset: RegisteredDataset, now: datetime, events: Any | None
) -> None:
    try:
        check_late_data(store, dataset, now)
        notify_ended_sessions(store, dataset, now, events)
    except IotaError as e:
        log.warning("dataset %s: late data: %s", dataset.name, e)


class LateDataWatch:
    """late_data_tick every TICK_SECONDS on a thread of its own, beside the scheduler's
    loop, so that a slow store listing never delays a run."""

    def __init__(self, store_factory: Callable[[], StateStore], clock: Clock) -> None:
        self._store_factory = store_factory
        self._clock = clock
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="late data", daemon=True)

    def start(self) -> LateDataWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=TICK_SECONDS)

    def _run(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            self.tick()

    def tick(self) -> None:
        try:
            with self._store_factory() as store:
                late_data_tick(store, self._clock())
        except Exception as e:  # the thread must outlive a locked database or a bad clock
            log.warning("late data tick: %s: %s", type(e).__name__, e)
