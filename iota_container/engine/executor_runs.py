"""Where each version's analysis ran: the executor, the run id and the node (migration 4).

A version handed to a followable executor (executors/base.py `FollowableExecutor`: a Ray
cluster, SageMaker) is marked `followable` as it is submitted. Its run outlives the
process that submitted it, so when that process dies the version is not failed as
interrupted (StateStore.recover_interrupted leaves it alone): the next scheduler, or the
next run of that dataset, follows it to its end by its run id (`orphans`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

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


def execute_recorded(store: StateStore, executor: Executor, run: AnalysisRun) -> RunEnded:
    """Hand the run to `executor`, recorded first (a crash after this leaves a followable
    version to follow, never to start again); a run whose infrastructure failed runs
    again only as often as its definition's x-iota-infrastructure-retries says."""
    version = record_submission(
        store,
        run.version,
        executor=executor.name,
        run_id=run.run_id,
        followable=isinstance(executor, FollowableExecutor),
    )
    action = run.dataset.definition.container_action
    retries = max(0, (action.infrastructure_retries or 0) if action else 0)
    for attempt in range(retries + 1):
        ended = executor.execute(run)
        record_node(store, version, ended.node)
        if not ended.infrastructure_failure or attempt == retries:
            break
        note = f"{ended.reason}; running it again ({attempt + 1} of {retries} retries)"
        log.warning("dataset %s version %s: %s", version.dataset, version.id, note)
        with run.log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(f"infrastructure failure: {note}\n")
    return ended


def follow_recorded(store: StateStore, executor: Executor, run: AnalysisRun) -> RunEnded | None:
    """The end of a run an earlier process submitted, followed by its run id; None when
    the executor has no such run (it ended unrecorded, or was never submitted)."""
    if not isinstance(executor, FollowableExecutor):
        return None
    log.info("dataset %s: following run %s on %s", run.dataset.name, run.run_id, executor.name)
    ended = executor.follow(run)
    if ended is not None:
        record_node(store, run.version, ended.node)
    return ended


def followed_params(version: Version, params_path: Path) -> RunParams:
    """A followed run's params as its submitter resolved them (the file it wrote): resolving
    them again could name newer upstream versions."""
    document = json.loads(params_path.read_text(encoding="utf-8"))
    produced = [uri for name, uri in version.outputs.items() if name not in ("ipynb", "html")]
    return RunParams(document, dict(version.outputs), produced[0] if produced else None)
