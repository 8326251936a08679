"""The embedded state of local dataset runs: one SQLite database in the home directory.

Registered definitions, every version with its status, reason, trigger and outputs, the
pause state, and the trigger claims a scheduler relies on. All writes are transactions,
so a process killed at any point leaves the database as it was before or after a write,
never between. A version left CREATING by a process that is gone (its dataset lock is
free: see locks.py) is marked FAILED, "interrupted: the process running it stopped",
whenever a store is opened and before each run of that dataset.

A full disk: writes fail with StateDiskFull (one line). So that a run that fails for a
full disk still ends FAILED with that reason, and not "interrupted" at the next open, the
store keeps a small reserve file beside the database (`Home.reserve`, full_disk.py), and
gives it up for the one write that ends a version when nothing else can be written; the
reserve is made again at the next open that finds space.

Scheduler hooks: `start_version` claims a schedule window or an upstream version and
creates the version in one transaction (TriggerAlreadyClaimed when it was claimed
before); `last_schedule_window` and `is_claimed` say what already ran; `skip_triggers`
claims triggers that must never run; `change_counter` tells that another process wrote.

What is written lives beside this module: trigger_claims.py (the claims) and
version_rows.py (a version's row from CREATING to its end); this class decides when.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from iota_container.definitions.model import (
    DatasetDefinition,
    load_definition,
)
from iota_container.definitions.problems import WARNING, DefinitionError, Problem
from iota_container.engine import trigger_claims, version_rows
from iota_container.engine.full_disk import keep_reserve, release_reserve
from iota_container.engine.home import Home
from iota_container.engine.locks import dataset_lock, lock_if_free
from iota_container.engine.records import (
    CREATING,
    DATASET,
    FAILED,
    INTERRUPTED,
    LATEST,
    LATEST_SUCCEEDED,
    SCHEDULE,
    SUCCEEDED,
    RegisteredDataset,
    Trigger,
    Version,
    from_text,
    to_text,
    utc_now,
)
from iota_container.engine.retention import (
    remove_version_files,
    retention_days,
    versions_to_prune,
)
from iota_container.engine.store_schema import (
    MIGRATIONS,
    Migration,
    StateDiskFull,
    connect,
    is_disk_full,
    rollback,
)
from iota_container.errors import IotaError

Clock = Callable[[], datetime]


log = logging.getLogger("iota_container")


class UnknownDataset(IotaError):
    """No registered dataset has that name."""


class UnknownVersion(IotaError):
    """The dataset has no version that matches."""


class TriggerAlreadyClaimed(IotaError):
    """A schedule window or an upstream version already triggered a version."""


class StateStore:
    def __init__(
        self,
        home: Home,
        *,
        clock: Clock = utc_now,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        home.create()
        self.home = home
        self.clock = clock
        self._connection = connect(home.database, migrations)
        self._lock = threading.RLock()  # one connection, shared by the threads of a scheduler
        keep_reserve(self.home.reserve)
        self.recover_interrupted()

    @classmethod
    def open(
        cls, root: str | os.PathLike[str] | None = None, output_root: str | None = None
    ) -> StateStore:
        return cls(Home.locate(root, output_root))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- registered datasets ------------------------------------------------------------

    def register(self, *paths: str | os.PathLike[str]) -> list[RegisteredDataset]:
        """Register (or update) definition files, checked as one set with those already
        registered; DefinitionError lists every problem. An update keeps created_at."""
        loaded: list[tuple[str, DatasetDefinition]] = []
        problems: list[Problem] = []
        for path in paths:
            file = str(Path(path).absolute())
            try:
                loaded.append((file, load_definition(file)))
            except DefinitionError as e:
                problems.extend(e.problems)
        if problems:
            raise DefinitionError(problems)
        return self.register_definitions(loaded)

    def register_definitions(
        self, definitions: Sequence[tuple[str | os.PathLike[str], DatasetDefinition]]
    ) -> list[RegisteredDataset]:
        """Register (or update) definitions as their files hold them, as `register` does,
        without reading the files again."""
        loaded = [(str(Path(path).absolute()), definition) for path, definition in definitions]
        updated = {definition.dataset_name for _, definition in loaded}
        others = [(str(d.source_file), d.definition) for d in self.datasets()]
        kept = [(file, d) for file, d in others if d.dataset_name not in updated]
        # Imported here: runs, which never register, need no validator.
        from iota_container.definitions.validate import validate_definitions

        # A dataset that is not registered here may still be named (the account may hold
        # it, or it comes later): a warning now, an error when a run here needs it.
        found = validate_definitions([*kept, *loaded], undefined_datasets=WARNING, warnings=True)
        problems = [problem for problem in found if problem.is_error]
        if problems:
            raise DefinitionError(problems)
        for warning in found:
            if warning.file in {file for file, _ in loaded}:
                log.warning("warning: %s", warning)
        now = to_text(self.clock())
        with self._write() as db:
            for file, definition in loaded:
                db.execute(
                    "INSERT INTO datasets (name, definition, source_file, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                    " definition = excluded.definition, source_file = excluded.source_file,"
                    " updated_at = excluded.updated_at",
                    (definition.dataset_name, json.dumps(definition.to_json()), file, now, now),
                )
        return [self.dataset(definition.dataset_name) for _, definition in loaded]

    def unregister(self, name: str) -> None:
        """Forget a dataset, its versions and their local files; refused while it runs, or
        while another registered dataset is triggered by it or reads its content."""
        self.dataset(name)
        users = sorted(d.name for d in self.datasets() if name in d.upstreams)
        if users:
            raise IotaError(
                f"dataset {name!r} is used by {', '.join(users)}: unregister those first"
            )
        with dataset_lock(self.home.lock_path(name), name, wait=False):
            versions = self.versions(name)
            with self._write() as db:
                db.execute("DELETE FROM datasets WHERE name = ?", (name,))
            for version in versions:
                remove_version_files(version, self.home.version_dir(name, version.id))
            shutil.rmtree(self.home.dataset_dir(name), ignore_errors=True)

    def dataset(self, name: str) -> RegisteredDataset:
        row = self._one("SELECT * FROM datasets WHERE name = ?", (name,))
        if row is None:
            known = ", ".join(d.name for d in self.datasets()) or "none"
            raise UnknownDataset(
                f"no dataset {name!r} is registered (registered: {known}): "
                "register its definition with `iota-container dataset register FILE`"
            )
        return RegisteredDataset.from_row(row)

    def registered(self, names: Sequence[str]) -> dict[str, RegisteredDataset]:
        """Those of `names` that are registered, read in one query a few hundred at a time."""
        rows = self._rows_in("datasets", "name", names)
        return {row["name"]: RegisteredDataset.from_row(row) for row in rows}

    def _require(self, name: str) -> None:
        """UnknownDataset unless `name` is registered; cheaper than parsing it (`dataset`),
        which matters to a scheduler creating a thousand versions a minute."""
        if self._one("SELECT 1 FROM datasets WHERE name = ?", (name,)) is None:
            self.dataset(name)

    def datasets(self) -> list[RegisteredDataset]:
        return [
            RegisteredDataset.from_row(r)
            for r in self._all("SELECT * FROM datasets ORDER BY name", ())
        ]

    def dependents(self, name: str) -> list[RegisteredDataset]:
        """The datasets a new version of `name` triggers."""
        return [d for d in self.datasets() if name in d.definition.triggering_datasets]

    def set_paused(self, name: str, paused: bool) -> RegisteredDataset:
        self.dataset(name)
        with self._write() as db:
            db.execute("UPDATE datasets SET paused = ? WHERE name = ?", (int(paused), name))
        return self.dataset(name)

    # -- versions -----------------------------------------------------------------------

    def start_version(self, name: str, trigger: Trigger, mode: str) -> Version:
        """Claim the trigger and create a CREATING version, in one transaction. The
        caller holds the dataset's lock (see locks.py) until it finishes the version."""
        (started,) = self.start_versions([(name, trigger, mode)], queued=False)
        if isinstance(started, TriggerAlreadyClaimed):
            raise started
        return started

    def start_versions(
        self, claims: Sequence[tuple[str, Trigger, str]], *, queued: bool = True
    ) -> list[Version | TriggerAlreadyClaimed]:
        """Claim many triggers at once, one CREATING version each, in one transaction: a
        scheduler claiming a thousand windows at the top of a minute commits once. The
        caller holds each dataset's lock. `queued`: the run starts later (record_start);
        until then an interrupted claim is withdrawn instead of failed."""
        now = self.clock()
        now_text, stamp, pid = to_text(now), f"{now:%Y%m%dT%H%M%SZ}", os.getpid()
        created: list[Version | None] = []
        # Ids are the second's stamp and 32 random bits: a thousand drawn in one second
        # would repeat one in about 1 of 8,600 claims (1 a week at one a minute), and a
        # repeated id fails the whole transaction: drawn again instead.
        taken: set[str] = set()
        with self._write() as db:
            for name, trigger, mode in claims:
                version_id = f"{stamp}-{os.urandom(4).hex()}"
                while version_id in taken:
                    version_id = f"{stamp}-{os.urandom(4).hex()}"
                taken.add(version_id)
                if trigger.claim_key is not None and not trigger_claims.claim(
                    db, name, trigger, version_id, now_text
                ):
                    created.append(None)
                    continue
                created.append(
                    version_rows.insert_creating(
                        db,
                        version_id,
                        name,
                        trigger,
                        mode,
                        created_at=now_text,
                        output_prefix=self.home.output_prefix(name, version_id),
                        owner_pid=pid,
                        queued=queued,
                    )
                )
        return [
            version
            or TriggerAlreadyClaimed(
                f"dataset {name!r} already ran for {trigger.describe()}: "
                "each schedule window and upstream version triggers one run"
            )
            for version, (name, trigger, _) in zip(created, claims)
        ]

    def _versions_by_id(self, version_ids: Sequence[str]) -> dict[str, Version]:
        return {
            row["id"]: Version.from_row(row) for row in self._rows_in("versions", "id", version_ids)
        }

    def record_start(self, version: Version, *, outputs: dict[str, str], log_path: Path) -> bool:
        """The run begins now: its outputs and log are known before it can fail. False,
        and nothing written, when the version is no longer CREATING (a stopping scheduler
        withdrew or abandoned it since its claim): that run must not begin."""
        with self._write_one() as db:
            return version_rows.mark_started(
                db, version.id, to_text(self.clock()), outputs, log_path
            )

    def finish_version(
        self,
        version: Version,
        status: str,
        *,
        reason: str | None = None,
        exit_code: int | None = None,
        duration_seconds: float | None = None,
        content_uri: str | None = None,
    ) -> Version:
        """End a CREATING version. On a full disk the reserve is given up for this write:
        a version must not stay CREATING because its run filled the disk."""
        if status not in (SUCCEEDED, FAILED):
            raise ValueError(f"a version finishes SUCCEEDED or FAILED, not {status!r}")
        ending = (
            status,
            reason,
            exit_code,
            round(duration_seconds, 3) if duration_seconds is not None else None,
            content_uri,
        )
        try:
            finished = self._write_finish(version, ending)
        except StateDiskFull:
            if not release_reserve(self.home.reserve):
                raise
            finished = self._write_finish(version, ending)
            keep_reserve(self.home.reserve)
        found = finished or self._versions_by_id([version.id]).get(version.id)
        return found or self.version(version.dataset, version.id)

    def _write_finish(self, version: Version, ending: tuple[Any, ...]) -> Version | None:
        """The finished version, read back by the write itself; None when it had ended
        before (its first ending stands)."""
        with self._write_one() as db:
            row = version_rows.mark_finished(db, version.id, ending, to_text(self.clock()))
        return Version.from_row(row) if row is not None else None

    def version(self, name: str, selector: str = LATEST) -> Version:
        """A version by id, or `$LATEST` (any status) or `$LATEST_SUCCEEDED`."""
        self._require(name)
        if selector == LATEST:
            row = self._one("SELECT * FROM versions WHERE dataset = ? ORDER BY seq DESC", (name,))
        elif selector == LATEST_SUCCEEDED:
            row = self._one(
                "SELECT * FROM versions WHERE dataset = ? AND status = ? ORDER BY seq DESC",
                (name, SUCCEEDED),
            )
        else:
            row = self._one("SELECT * FROM versions WHERE dataset = ? AND id = ?", (name, selector))
        if row is None:
            what = "no version" if selector == LATEST else f"no version {selector}"
            raise UnknownVersion(
                f"dataset {name!r} has {what}: list them with "
                f"`iota-container dataset contents {name}`, or run it"
            )
        return Version.from_row(row)

    def versions(self, name: str) -> list[Version]:
        """Every version of the dataset, newest first."""
        self._require(name)
        rows = self._all("SELECT * FROM versions WHERE dataset = ? ORDER BY seq DESC", (name,))
        return [Version.from_row(row) for row in rows]

    def latest_succeeded(self, name: str) -> Version | None:
        row = self._one(
            "SELECT * FROM versions WHERE dataset = ? AND status = ? ORDER BY seq DESC",
            (name, SUCCEEDED),
        )
        return Version.from_row(row) if row else None

    # -- scheduler hooks ----------------------------------------------------------------

    def last_schedule_window(self, name: str) -> datetime | None:
        """The latest schedule fire time that created a version (kept through pruning)."""
        row = self._one(
            "SELECT MAX(claim_key) FROM trigger_claims WHERE dataset = ? AND kind = ?",
            (name, SCHEDULE),
        )
        return from_text(row[0]) if row and row[0] else None

    def is_claimed(self, name: str, trigger: Trigger) -> bool:
        row = self._one(
            "SELECT 1 FROM trigger_claims WHERE dataset = ? AND kind = ? AND claim_key = ?",
            (name, trigger.kind, trigger.claim_key),
        )
        return row is not None

    def unclaimed_upstream_versions(
        self, name: str, upstream: str, finished_after: datetime
    ) -> list[Version]:
        """The SUCCEEDED versions of `upstream` that finished after `finished_after` and
        have not triggered `name` (no claim of theirs), oldest first. One query: the
        scheduler asks after every upstream run, and an upstream keeping every version of
        a minute schedule has 1,440 a day, which read and checked one by one took 73 ms."""
        self._require(upstream)
        rows = self._all(
            "SELECT * FROM versions AS v WHERE v.dataset = ? AND v.status = ?"
            " AND v.finished_at > ? AND NOT EXISTS (SELECT 1 FROM trigger_claims AS c"
            " WHERE c.dataset = ? AND c.kind = ? AND c.claim_key = v.id) ORDER BY v.seq",
            (upstream, SUCCEEDED, to_text(finished_after), name, DATASET),
        )
        return [Version.from_row(row) for row in rows]

    def skip_triggers(self, name: str, triggers: Sequence[Trigger], reason: str) -> None:
        """Claim `triggers` without creating versions, so that none of them ever runs."""
        with self._write() as db:
            trigger_claims.skip(db, name, triggers, to_text(self.clock()), reason)

    def registrations_signature(self) -> tuple[object, ...]:
        """Changes when a dataset is registered, updated, paused, resumed or unregistered:
        one aggregate in SQLite, where reading the registrations themselves (`datasets`)
        costs a scheduler ~0.1 ms a dataset."""
        row = self._one(
            "SELECT COUNT(*), group_concat(name || ' ' || created_at || ' ' || updated_at"
            " || ' ' || paused || ' ' || length(definition), ',') FROM datasets",
            (),
        )
        return tuple(row) if row else ()

    def change_counter(self) -> int:
        """Changes when another connection commits (a `dataset register`, `resume`, or a
        run elsewhere): a scheduler polls this instead of re-reading every table."""
        row = self._one("PRAGMA data_version", ())
        return int(row[0]) if row else 0

    # -- recovery and retention ---------------------------------------------------------

    def datasets_creating(self) -> set[str]:
        """The datasets that have a CREATING version (a partial index makes this cheap)."""
        rows = self._all("SELECT DISTINCT dataset FROM versions WHERE status = ?", (CREATING,))
        return {row[0] for row in rows}

    def recover_interrupted(self, name: str | None = None) -> list[Version]:
        """Mark FAILED the CREATING versions whose process is gone (their lock is free)."""
        recovered = []
        for dataset in sorted(d for d in self.datasets_creating() if name in (None, d)):
            with lock_if_free(self.home.lock_path(dataset)) as free:
                if free:
                    recovered += self.fail_interrupted(dataset)
        return recovered

    def fail_interrupted(self, name: str) -> list[Version]:
        """Mark FAILED every CREATING version of `name`: only for a caller holding its lock.
        A version still queued (claimed, never started) is withdrawn instead, with its
        claim: nothing of that run happened, so its trigger runs again. A version handed to
        a followable executor goes on without this process: it is left to be followed
        (engine/executor_runs.py)."""
        stale = [v for v in self.versions(name) if v.status == CREATING and not v.followable]
        return [failed for failed in map(self.interrupt, stale) if failed is not None]

    def interrupt(self, version: Version) -> Version | None:
        """End a CREATING version whose run will not go on: FAILED "interrupted", or None
        when it never started and was withdrawn (see fail_interrupted)."""
        with self._write() as db:
            withdrawn = version_rows.withdraw_queued(db, version.id)
            if withdrawn:
                trigger_claims.withdraw(db, version.id)
        if withdrawn:
            return None
        return self.finish_version(version, FAILED, reason=INTERRUPTED)

    def apply_retention(
        self, name: str, definition: DatasetDefinition | None = None
    ) -> list[Version]:
        """Delete what versioningConfiguration and retentionPeriod no longer keep;
        `definition`: the registered one, when the caller has it (after each run)."""
        definition = definition or self.dataset(name).definition
        if self._keeps_every_version(name, definition):
            return []
        now = self.clock()
        pruned = versions_to_prune(
            self._prune_candidates(name, definition, now),
            definition.versioning_configuration,
            definition.retention_period,
            now,
        )
        if not pruned:
            return []
        with self._write() as db:
            db.executemany("DELETE FROM versions WHERE id = ?", [(v.id,) for v in pruned])
            trigger_claims.prune(db, name, [v.id for v in pruned])
        for version in pruned:
            remove_version_files(version, self.home.version_dir(name, version.id))
        return pruned

    def _prune_candidates(
        self, name: str, definition: DatasetDefinition, now: datetime
    ) -> list[Version]:
        """The versions retention must look at, newest first: all of them, except when
        every version is kept by count and only age prunes. Then just those past the age,
        from the versions_by_age index: a minute schedule keeping every version for 90
        days has 129,600, and one of them ages out at every run."""
        versioning = definition.versioning_configuration
        days = retention_days(definition.retention_period)
        if versioning is None or not versioning.unlimited or days is None:
            return self.versions(name)
        rows = self._all(
            "SELECT * FROM versions WHERE dataset = ? AND created_at < ? ORDER BY seq DESC",
            (name, to_text(now - timedelta(days=days))),
        )
        return [Version.from_row(row) for row in rows]

    def _keeps_every_version(self, name: str, definition: DatasetDefinition) -> bool:
        """True when neither setting can prune anything yet: no more versions than the
        count kept, none older than the age kept. One statement after each run, whose
        cost does not grow with the versions kept (a minute schedule keeping all makes
        1,440 a day): the count stops at one more than the count kept (maxVersions is
        at most 1,000), and the oldest is read from the versions_by_age index."""
        versioning = definition.versioning_configuration
        days = retention_days(definition.retention_period)
        unlimited = versioning is not None and versioning.unlimited
        if unlimited and days is None:
            return True
        kept = versioning.max_versions if versioning and versioning.max_versions else 1
        count, oldest = self._one(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM versions WHERE dataset = ?1 LIMIT ?2)),"
            " (SELECT MIN(created_at) FROM versions WHERE dataset = ?1)",
            (name, 0 if unlimited else kept + 1),
        ) or (0, None)
        if count > kept:
            return False
        return (
            days is None
            or oldest is None
            or from_text(oldest) >= self.clock() - timedelta(days=days)
        )

    # -- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: two writers never both read, then
        # deadlock upgrading to write (SQLite would fail one with "database is locked").
        with self._lock:
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self._connection
                    # In WAL mode the pages reach the disk here: a full disk fails COMMIT.
                    self._connection.execute("COMMIT")
                except BaseException:
                    rollback(self._connection)
                    raise
            except sqlite3.OperationalError as e:
                if is_disk_full(e):
                    raise StateDiskFull(self.home.database) from e
                raise

    @contextmanager
    def _write_one(self) -> Iterator[sqlite3.Connection]:
        """For a write of one statement: its own transaction (autocommit), which takes the
        write lock as it begins, so no read can come first to deadlock on. Two statements
        fewer than _write: a scheduler's workers make two such writes a run, a thousand
        runs a minute."""
        with self._lock:
            try:
                yield self._connection
            except sqlite3.OperationalError as e:
                if is_disk_full(e):
                    raise StateDiskFull(self.home.database) from e
                raise

    def _rows_in(self, table: str, column: str, values: Sequence[str]) -> list[sqlite3.Row]:
        """The rows whose `column` is one of `values`, a few hundred values a query (under
        SQLite's bound-variable limit). `table` and `column` are this module's own names."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(values), 500):
            chunk = tuple(values[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows += self._all(f"SELECT * FROM {table} WHERE {column} IN ({marks})", chunk)
        return rows

    def _one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            cursor = self._connection.execute(sql, args)
            cursor.row_factory = sqlite3.Row
            row: sqlite3.Row | None = cursor.fetchone()
            return row

    def _all(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._connection.execute(sql, args)
            cursor.row_factory = sqlite3.Row
            return list(cursor.fetchall())
