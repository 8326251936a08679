"""The writes of a version's row in the state database, from its creation (CREATING) to
its end (SUCCEEDED or FAILED), or its withdrawal when it never started.

Each function takes the connection of a write transaction the caller holds
(StateStore._write); the store decides when, and this module what is written.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from iota_container.engine.records import CREATING, Trigger, Version, from_text, to_text

_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)  # UPDATE ... RETURNING


def insert_creating(
    db: sqlite3.Connection,
    version_id: str,
    name: str,
    trigger: Trigger,
    mode: str,
    *,
    created_at: str,
    output_prefix: str,
    owner_pid: int,
    queued: bool,
) -> Version:
    """The new CREATING row, and the Version it reads back as: built from the values
    written, not selected again (a scheduler claims a thousand at one minute, and reading
    them back cost more than writing them). The columns not written are their defaults,
    which are Version's."""
    db.execute(
        "INSERT INTO versions (id, dataset, status, trigger_kind, schedule_time,"
        " upstream_dataset, upstream_version, mode, created_at, output_prefix,"
        " owner_pid, queued) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            version_id,
            name,
            CREATING,
            trigger.kind,
            to_text(trigger.schedule_time) if trigger.schedule_time else None,
            trigger.upstream_dataset,
            trigger.upstream_version,
            mode,
            created_at,
            output_prefix,
            owner_pid,
            int(queued),
        ),
    )
    return Version(
        id=version_id,
        dataset=name,
        status=CREATING,
        trigger=trigger,
        mode=mode,
        created_at=from_text(created_at),
        output_prefix=output_prefix,
        owner_pid=owner_pid,
    )


def mark_started(
    db: sqlite3.Connection,
    version_id: str,
    started_at: str,
    outputs: dict[str, str],
    log_path: Path,
) -> bool:
    """False when the version is no longer CREATING (withdrawn, or ended): not started."""
    started = db.execute(
        "UPDATE versions SET started_at = ?, outputs = ?, log_path = ?, queued = 0"
        " WHERE id = ? AND status = 'CREATING'",
        (started_at, json.dumps(outputs), str(log_path), version_id),
    ).rowcount
    return bool(started)


def mark_finished(
    db: sqlite3.Connection, version_id: str, ending: tuple[Any, ...], finished_at: str
) -> sqlite3.Row | None:
    """`ending`: status, reason, exit code, duration (s), content URI. The finished row,
    or None when the version was no longer CREATING: it keeps its first ending."""
    update = (
        "UPDATE versions SET status = ?, reason = ?, exit_code = ?,"
        " duration_seconds = ?, content_uri = ?, finished_at = ?"
        " WHERE id = ? AND status = 'CREATING'"
    )
    arguments = (*ending, finished_at, version_id)
    if _RETURNING:  # the row read back by the write itself: no SELECT after every run
        cursor = db.execute(f"{update} RETURNING *", arguments)
    elif db.execute(update, arguments).rowcount:
        cursor = db.execute("SELECT * FROM versions WHERE id = ?", (version_id,))
    else:
        return None
    cursor.row_factory = sqlite3.Row
    row: sqlite3.Row | None = cursor.fetchone()
    cursor.close()  # the statement ends here, and its autocommit transaction with it
    return row


def withdraw_queued(db: sqlite3.Connection, version_id: str) -> bool:
    """Delete a CREATING version that was claimed and never started; False otherwise."""
    deleted = db.execute(
        "DELETE FROM versions WHERE id = ? AND status = 'CREATING' AND queued = 1",
        (version_id,),
    ).rowcount
    return bool(deleted)
