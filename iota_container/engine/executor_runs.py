"""Where each version's analysis ran: the executor, the run id and the node (migration 4).

A version handed to a followable executor (executors/base.py `FollowableExecutor`: a Ray
cluster, SageMaker) is marked `followable` as it is submitted. Its run outlives the
process that submitted it, so when that process dies the version is not failed as
interrupted (StateStore.recover_interrupted leaves it alone): the next scheduler, the
next run of that dataset, or `dataset follow`, follows it to its end by its run id
(`orphans`); until then `dataset content` says so (`unfollowed_note`). How many times a
run was submitted is kept with its version (migration 7): retries after infrastructure
failures are counted across the processes that submit and follow it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from iota_container.engine.locks import lock_if_free
from iota_container.engine.records import CREATING, Version
from iota_container.engine.resolve import RunParams
from iota_container.engine.state_store import StateStore
from iota_container.executors.base import AnalysisRun, Executor, FollowableExecutor, RunEnded

log = logging.getLogger("iota_container")


def record_submission(
    store: StateStore, version: Version, *, executor: str, run_id: str, followable: bool
) -> Version:
    """The run is handed to `executor` now, under `run_id`."""
    with store._write() as db:
        db.execute(
            "UPDATE versions SET executor = ?, run_id = ?, followable = ? WHERE id = ?",
            (executor, run_id, int(followable), version.id),
        )
    return store.version(version.dataset, version.id)


def record_node(store: StateStore, version: Version, node: str | None) -> None:
    """Where the run ran, as its executor said when it ended."""
    if node is None:
        return
    with store._write() as db:
        db.execute("UPDATE versions SET node = ? WHERE id = ?", (node, version.id))


def orphans(store: StateStore, names: set[str] | None = None) -> list[Version]:
    """The CREATING versions submitted to a followable executor (of `names`, or of every
    dataset), oldest first: a caller holding a dataset's lock follows them to their end."""
    rows = store._all(
        "SELECT * FROM versions WHERE status = ? AND followable = 1 AND queued = 0 ORDER BY seq",
        (CREATING,),
    )
    versions = [Version.from_row(row) for row in rows]
    return [v for v in versions if names is None or v.dataset in names]


def unfollowed_note(store: StateStore, version: Version) -> str | None:
    """What a version's CREATING does not say: its run goes on where its executor runs
    it, but the process that submitted it is gone and none follows it (the follower
    holds the dataset's lock), so its end is recorded only once one does."""
    if version.status != CREATING or not version.followable:
        return None
    with lock_if_free(store.home.lock_path(version.dataset)) as free:
        if not free:
            return None
    return (
        f"run {version.run_id} on {version.executor} is followed by no process (the one "
        f"that submitted it is gone): `iota-container dataset follow {version.dataset}` or "
        "a running `iota-container scheduler` waits for its end and records it"
    )


def execute_recorded(store: StateStore, executor: Executor, run: AnalysisRun) -> RunEnded:
    """Hand the run to `executor`, recorded first (a crash after this leaves a followable
    version to follow, never to start again); a run whose infrastructure failed runs
    again only as often as its definition's x-iota-infrastructure-retries says."""
    record_submission(
        store,
        run.version,
        executor=executor.name,
        run_id=run.run_id,
        followable=isinstance(executor, FollowableExecutor),
    )
    return _submitted_until_end(store, executor, run, None)


def follow_recorded(store: StateStore, executor: Executor, run: AnalysisRun) -> RunEnded | None:
    """The end of a run an earlier process submitted, followed by its run id (and run
    again after an infrastructure failure while its retries, counted across processes,
    allow); None when the executor has no such run (it ended unrecorded, or was never
    submitted)."""
    if not isinstance(executor, FollowableExecutor):
        return None
    log.info("dataset %s: following run %s on %s", run.dataset.name, run.run_id, executor.name)
    ended = executor.follow(run)
    if ended is None:
        return None
    record_node(store, run.version, ended.node)
    return _submitted_until_end(store, executor, run, ended)


def submissions(store: StateStore, version: Version) -> int:
    """How many times the submitted run of `version` was handed to its executor
    (migration 7); 1 for one submitted before the count was kept."""
    row = store._one("SELECT submissions FROM versions WHERE id = ?", (version.id,))
    return max(1, int(row["submissions"]) if row is not None else 0)


def _submitted_until_end(
    store: StateStore, executor: Executor, run: AnalysisRun, ended: RunEnded | None
) -> RunEnded:
    """Submit the run (again) until it ends otherwise than by an infrastructure failure
    or its 1 + x-iota-infrastructure-retries submissions are used; `ended`: how the last
    submission ended, None before the first. Each submission is counted before it is
    made, so a process that dies mid-run leaves its successor the true count."""
    action = run.dataset.definition.container_action
    retries = max(0, (action.infrastructure_retries or 0) if action else 0)
    while True:
        done = submissions(store, run.version) if ended is not None else 0
        if ended is not None:
            if not ended.infrastructure_failure or done > retries:
                return ended
            note = f"{ended.reason}; running it again ({done} of {retries} retries)"
            log.warning("dataset %s version %s: %s", run.version.dataset, run.version.id, note)
            with run.log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(f"infrastructure failure: {note}\n")
        with store._write() as db:
            db.execute(
                "UPDATE versions SET submissions = ? WHERE id = ?", (done + 1, run.version.id)
            )
        ended = executor.execute(run)
        record_node(store, run.version, ended.node)


def followed_params(version: Version, params_path: Path) -> RunParams:
    """A followed run's params as its submitter resolved them (the file it wrote): resolving
    them again could name newer upstream versions."""
    document = json.loads(params_path.read_text(encoding="utf-8"))
    produced = [uri for name, uri in version.outputs.items() if name not in ("ipynb", "html")]
    return RunParams(document, dict(version.outputs), produced[0] if produced else None)
