"""The state database's schema, as numbered migrations applied once each, in order.

`schema_migrations` records each applied migration; a database that records one this
code does not know was written by a newer iota-container and is refused rather than
guessed at. Each migration runs in its own write transaction with its record, so a
process stopped half-way leaves the database as it was before that migration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from iota_container.errors import IotaError

BUSY_TIMEOUT_SECONDS = 30.0
MMAP_BYTES = 256 << 20


class Migration(NamedTuple):
    number: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "datasets, versions and trigger claims",
        """
        CREATE TABLE datasets (
            name        TEXT PRIMARY KEY,
            definition  TEXT NOT NULL,     -- the definition's JSON, x- extensions included
            source_file TEXT NOT NULL,     -- absolute: relative paths in it resolve there
            created_at  TEXT NOT NULL,     -- the rate() anchor; kept on re-registration
            updated_at  TEXT NOT NULL,
            paused      INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE versions (
            seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order
            id               TEXT NOT NULL UNIQUE,
            dataset          TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
            status           TEXT NOT NULL
                             CHECK (status IN ('CREATING', 'SUCCEEDED', 'FAILED')),
            reason           TEXT,
            trigger_kind     TEXT NOT NULL,
            schedule_time    TEXT,
            upstream_dataset TEXT,
            upstream_version TEXT,
            mode             TEXT NOT NULL,
            created_at       TEXT NOT NULL,
            started_at       TEXT,
            finished_at      TEXT,
            exit_code        INTEGER,
            duration_seconds REAL,
            outputs          TEXT NOT NULL DEFAULT '{}',
            content_uri      TEXT,
            output_prefix    TEXT NOT NULL,
            log_path         TEXT,
            owner_pid        INTEGER
        );
        CREATE INDEX versions_by_dataset ON versions (dataset, seq);
        CREATE INDEX versions_creating ON versions (status) WHERE status = 'CREATING';
        -- A schedule window or an upstream version triggers one version at most. Claims
        -- outlive pruned versions (see Store.prune_claims), so a window is never re-run.
        CREATE TABLE trigger_claims (
            dataset    TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
            kind       TEXT NOT NULL,
            claim_key  TEXT NOT NULL,
            version_id TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            PRIMARY KEY (dataset, kind, claim_key)
        );
        """,
    ),
    Migration(
        2,
        "skipped triggers",
        """
        -- A claim with `skipped` set created no version (its version_id is ''): the
        -- scheduler passed over that trigger for good (`dataset resume --latest-only`,
        -- `scheduler --latest-only`). For a schedule, one such claim at the newest
        -- skipped window stands for every older one: windows are only ever looked for
        -- after a dataset's latest claim. `skipped` says why, and how many windows.
        ALTER TABLE trigger_claims ADD COLUMN skipped TEXT;
        """,
    ),
    Migration(
        3,
        "versions claimed ahead of their run",
        """
        -- 1 from the claim until the run starts (Store.record_start). A scheduler claims
        -- what is due in one transaction and runs it as workers come free; if it dies in
        -- between, a version still queued had no effect yet, so its claim is withdrawn
        -- and the trigger runs after a restart, where a started one stays FAILED.
        ALTER TABLE versions ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        4,
        "the executor, run id and node of each version",
        """
        -- Where a version's analysis ran (engine/executor_runs.py). `followable` is 1 once
        -- it was handed to an executor whose runs outlive this process (a Ray cluster,
        -- SageMaker): after a crash such a version is followed again by its run id, not
        -- failed as interrupted.
        ALTER TABLE versions ADD COLUMN executor TEXT;
        ALTER TABLE versions ADD COLUMN run_id TEXT;
        ALTER TABLE versions ADD COLUMN node TEXT;
        ALTER TABLE versions ADD COLUMN followable INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        5,
        "data stores and the delta windows of SQL datasets",
        """
        -- Data stores a SQL dataset's query reads (datastore/registry.py): `root` is the
        -- folder or s3:// prefix holding its `__dt=` day folders, `definition` the
        -- CreateDatastore request it was registered with.
        CREATE TABLE datastores (
            name          TEXT PRIMARY KEY,
            root          TEXT NOT NULL,
            format        TEXT NOT NULL CHECK (format IN ('json', 'parquet')),
            definition    TEXT NOT NULL,
            source_file   TEXT,
            registered_at TEXT NOT NULL
        );
        -- The deltaTime window a version read: messages whose timeExpression is in
        -- [window_start, window_end); no start: from the first message.
        ALTER TABLE versions ADD COLUMN window_start TEXT;
        ALTER TABLE versions ADD COLUMN window_end TEXT;
        -- Where each dataset's next window starts: the end of its last succeeded one.
        -- Kept apart from the versions, which retention prunes.
        CREATE TABLE delta_cursors (
            dataset    TEXT PRIMARY KEY REFERENCES datasets(name) ON DELETE CASCADE,
            window_end TEXT NOT NULL,
            version_id TEXT NOT NULL
        );
        """,
    ),
    Migration(
        6,
        "late data, content deliveries and kept query translations",
        """
        -- Late data (datastore/late_data.py): messages that arrived after a version's
        -- window was read, with times inside it, and when their batch was notified.
        ALTER TABLE versions ADD COLUMN late_messages INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE versions ADD COLUMN late_notified_at TEXT;
        -- Each contentDeliveryRule's last outcome on the version, as JSON (Delivery).
        ALTER TABLE versions ADD COLUMN deliveries TEXT NOT NULL DEFAULT '[]';
        -- The data store files a dataset's late data check has already looked at.
        CREATE TABLE late_data_files (
            dataset TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
            path    TEXT NOT NULL,
            PRIMARY KEY (dataset, path)
        );
        -- Late messages not notified yet: one session window per dataset, sent as one
        -- event once timeoutInMinutes pass without more late data.
        CREATE TABLE late_data_pending (
            dataset    TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
            version_id TEXT NOT NULL,
            messages   INTEGER NOT NULL,
            last_seen  TEXT NOT NULL,
            PRIMARY KEY (dataset, version_id)
        );
        -- sqlQuery and timeExpression texts translated to DuckDB's SQL, by sqlglot version
        -- (datastore/translations.py): a run of a query seen before imports no sqlglot.
        CREATE TABLE query_translations (
            kind            TEXT NOT NULL,
            text            TEXT NOT NULL,
            sqlglot_version TEXT NOT NULL,
            translation     TEXT NOT NULL,
            PRIMARY KEY (kind, text, sqlglot_version)
        );
        """,
    ),
    Migration(
        7,
        "the submissions of each version's run",
        """
        -- How many times the version's run was handed to its executor (engine/
        -- executor_runs.py): a run whose infrastructure failed runs again only while this
        -- stays within 1 + x-iota-infrastructure-retries, across restarts of the engine.
        ALTER TABLE versions ADD COLUMN submissions INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        8,
        "indexes for retention after each run",
        """
        -- Retention asks after every run whether a dataset's oldest version is past its
        -- retentionPeriod (StateStore._keeps_every_version), and prunes by age alone the
        -- versions past it: read here, not by visiting every version it keeps.
        CREATE INDEX versions_by_age ON versions (dataset, created_at);
        -- The claims of the versions it prunes (trigger_claims.prune), and of a
        -- withdrawn one, found by their version.
        CREATE INDEX trigger_claims_by_version ON trigger_claims (version_id, dataset);
        -- A claim kept after its version was pruned has no version from now on (''),
        -- like a skipped one: prune looks at those again, not at every claim.
        UPDATE trigger_claims SET version_id = '' WHERE version_id <> ''
            AND NOT EXISTS (SELECT 1 FROM versions WHERE id = trigger_claims.version_id);
        """,
    ),
)


class StateError(IotaError):
    """The state database cannot be opened, or was written by a newer version."""


class StateDiskFull(StateError):
    """A write to the state database failed: its disk is full."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the state database {str(path)!r} cannot be written: its disk is full; free "
            "some space there, or point IOTA_HOME at another folder"
        )


def is_disk_full(error: sqlite3.Error) -> bool:
    """Whether SQLite failed for want of space (SQLITE_FULL)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(error)


def connect(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) to an up-to-date database."""
    try:
        connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        # WAL: readers (`dataset contents`) never wait for a run's writes. synchronous=NORMAL
        # in WAL mode cannot corrupt the database; a power cut may lose the last commit.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        # Memory-mapped reads: a connection whose page cache another one's commit made
        # stale (a scheduler's worker processes commit hundreds of times a second) reads
        # the pages again from the mapping, without a read() and a copy each.
        connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        connection.execute("PRAGMA foreign_keys = ON")
        migrate(connection, migrations, path)
    except sqlite3.DatabaseError as e:
        if is_disk_full(e):
            raise StateDiskFull(path) from e
        raise StateError(
            f"cannot open the state database {str(path)!r} ({e}): check the file, or point "
            "IOTA_HOME at another folder"
        ) from e
    return connection


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration], path: Path) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    newest_known = max((m.number for m in migrations), default=0)
    for migration in sorted(migrations):
        connection.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait
        try:
            applied = {row[0] for row in connection.execute("SELECT number FROM schema_migrations")}
            unknown = sorted(n for n in applied if n > newest_known)
            if unknown:
                raise StateError(
                    f"the state database {str(path)!r} has schema {unknown[-1]}, newer than "
                    f"this iota-container's {newest_known}: upgrade iota-container"
                )
            if migration.number not in applied:
                for statement in _statements(migration.sql):
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ'))",
                    (migration.number, migration.description),
                )
            connection.execute("COMMIT")
        except BaseException:
            rollback(connection)
            raise


def rollback(connection: sqlite3.Connection) -> None:
    """Roll back what is still open: SQLite may have rolled back itself (a full disk)."""
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def schema_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT MAX(number) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def _statements(script: str) -> list[str]:
    """A script's statements, so they run inside our transaction (executescript commits)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]
