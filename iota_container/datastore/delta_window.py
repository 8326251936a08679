"""The deltaTime window of each run of a SQL dataset, and where the next one starts.

The service documented a delta window as the data that arrived "since the last
execution", with `offsetSeconds` the allowance for messages still in flight: a run reads
the messages whose `timeExpression` lies in [start, end), where

- end = the run's scheduled time (a manual or dataset-triggered run: its creation time)
  minus offsetSeconds;
- start = the previous window's end: the last succeeded version's (a failed run's window
  is read again by the next run, so no message is skipped), kept in `delta_cursors`
  because retention prunes versions;
- a first run has no previous window: its start is estimated from the schedule, one
  schedule interval (to the next fire time) before its scheduled time, shifted back by
  offsetSeconds as well; a first run without a schedule reads from the first message.

Catch-up runs after a pause or downtime run one at a time, oldest first (scheduler/), so
each gets its own consecutive window; with `--latest-only` the skipped windows create no
versions, so the one run that happens reads from the last end to its own: one window.
A window whose end would fall before its start (a manual run moved the start on) is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from iota_container.datastore.state import StateConnection
from iota_container.definitions.model import DatasetDefinition, DeltaTime
from iota_container.engine.records import SCHEDULE, Version, from_text, to_text

if TYPE_CHECKING:
    from iota_container.schedule.expressions import Schedule


@dataclass(frozen=True)
class DeltaWindow:
    start: datetime | None  # None: from the first message
    end: datetime


def delta_time(definition: DatasetDefinition) -> DeltaTime | None:
    action = definition.query_action
    filters = action.filters if action else ()
    return next((f.delta_time for f in filters if f.delta_time), None)


def window_for(
    delta: DeltaTime,
    version: Version,
    previous_end: datetime | None,
    schedules: Sequence[Schedule],
) -> DeltaWindow:
    offset = timedelta(seconds=delta.offset_seconds)
    scheduled = version.trigger.schedule_time if version.trigger.kind == SCHEDULE else None
    moment = scheduled or version.created_at
    end = moment - offset
    start = previous_end
    if start is None:
        interval = _schedule_interval(schedules, moment)
        start = moment - interval - offset if interval is not None else None
    return DeltaWindow(start, max(end, start) if start is not None else end)


def _schedule_interval(schedules: Sequence[Schedule], moment: datetime) -> timedelta | None:
    upcoming = [t for t in (s.next_after(moment) for s in schedules) if t is not None]
    return min(upcoming) - moment if upcoming else None


class WindowLedger(StateConnection):
    """Windows on versions, and each dataset's cursor."""

    def previous_end(self, dataset: str) -> datetime | None:
        """The later of the cursor and the newest succeeded version's window end (the
        cursor is moved after the version is finished: a crash in between loses nothing)."""
        row = self._connection.execute(
            "SELECT MAX(end) FROM ("
            " SELECT window_end AS end FROM delta_cursors WHERE dataset = ?"
            " UNION ALL SELECT MAX(window_end) FROM versions"
            "  WHERE dataset = ? AND status = 'SUCCEEDED' AND window_end IS NOT NULL)",
            (dataset, dataset),
        ).fetchone()
        return from_text(row[0]) if row and row[0] else None

    def record(self, version: Version, window: DeltaWindow) -> None:
        start = to_text(window.start) if window.start else None
        with self._write() as db:
            db.execute(
                "UPDATE versions SET window_start = ?, window_end = ? WHERE id = ?",
                (start, to_text(window.end), version.id),
            )

    def advance(self, version: Version) -> None:
        """After `version` SUCCEEDED: the next window starts where its window ended."""
        if version.window_end is None:
            return
        with self._write() as db:
            db.execute(
                "INSERT INTO delta_cursors (dataset, window_end, version_id) VALUES (?, ?, ?)"
                " ON CONFLICT (dataset) DO UPDATE SET window_end = excluded.window_end,"
                " version_id = excluded.version_id WHERE excluded.window_end > window_end",
                (version.dataset, to_text(version.window_end), version.id),
            )
