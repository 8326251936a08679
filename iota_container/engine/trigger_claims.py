"""The trigger claims of the state database: which schedule window or upstream version
already made (or must never make) a version of a dataset. A claim is unique per dataset,
trigger kind and key, so two schedulers that race for one window get one run.

Each function takes the connection of a write transaction the caller holds
(StateStore._write), so a claim and the version it creates commit together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from iota_container.engine.records import Trigger


def claim(db: sqlite3.Connection, name: str, trigger: Trigger, version_id: str, now: str) -> bool:
    """Claim `trigger` for version `version_id`; False when another run already did."""
    cursor = db.execute(
        "INSERT INTO trigger_claims (dataset, kind, claim_key, version_id, claimed_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (name, trigger.kind, trigger.claim_key, version_id, now),
    )
    return cursor.rowcount == 1


def skip(
    db: sqlite3.Connection, name: str, triggers: Sequence[Trigger], now: str, reason: str
) -> None:
    """Claim `triggers` for no version, so that none of them ever runs."""
    rows = [(name, t.kind, t.claim_key, now, reason) for t in triggers if t.claim_key]
    db.executemany(
        "INSERT OR IGNORE INTO trigger_claims (dataset, kind, claim_key, version_id,"
        " claimed_at, skipped) VALUES (?, ?, ?, '', ?, ?)",
        rows,
    )


def withdraw(db: sqlite3.Connection, version_id: str) -> None:
    """Give back the claims of a version that never ran: its trigger runs again."""
    db.execute("DELETE FROM trigger_claims WHERE version_id = ?", (version_id,))


def prune(db: sqlite3.Connection, name: str, pruned: Sequence[str]) -> None:
    """Forget the claims of `name` that no longer matter, once its versions `pruned` are
    deleted. A claim whose version is gone still matters while it is the dataset's
    latest schedule window (where a scheduler resumes) or its upstream version still
    exists (the scheduler would see that version again): it stays, with no version
    (version_id '', as a skipped claim has), and is looked at again at every later prune
    with the others like it. Those are few; the claims with a version are not looked at,
    which a minute schedule keeping 90 days of versions has 129,600 of, one pruned at
    every run."""
    db.executemany(
        "UPDATE trigger_claims SET version_id = '' WHERE dataset = ? AND version_id = ?",
        [(name, version_id) for version_id in pruned],
    )
    db.execute(
        "DELETE FROM trigger_claims AS c WHERE c.dataset = ? AND c.version_id = ''"
        " AND NOT (c.kind = 'schedule' AND c.claim_key = (SELECT MAX(claim_key)"
        "   FROM trigger_claims WHERE dataset = c.dataset AND kind = 'schedule'))"
        " AND NOT (c.kind = 'dataset'"
        "   AND EXISTS (SELECT 1 FROM versions WHERE id = c.claim_key))",
        (name,),
    )
