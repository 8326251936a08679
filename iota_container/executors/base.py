"""The executor protocol: one claimed version's analysis in, how it ended out.

Every executor implements `Executor`. One whose runs outlive the process that submitted
them (a cluster, a managed service) also implements `FollowableExecutor`: after a
scheduler restart the engine finds a submitted run again by its `run_id` and follows it to
its end instead of failing it as interrupted, so a run is neither lost nor started twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import os

    from iota_container.engine.records import RegisteredDataset, Version
    from iota_container.engine.resolve import RunParams

RUN_ID_LENGTH = 63  # SageMaker training job names: 63; Ray submission ids: any


def run_id_for(dataset: str, version_id: str) -> str:
    """The one id of a version's run on any executor: the same for a resubmission, so an
    executor that already has it recognises it and never starts a second run.

    Readable (`iota-<dataset>-<version>`) where it fits, with a hash of both kept whole
    when cut, and only `[a-zA-Z0-9-]` (the strictest of the services' name grammars)."""
    readable = re.sub(r"[^a-zA-Z0-9-]+", "-", f"iota-{dataset}-{version_id}").strip("-")
    if len(readable) <= RUN_ID_LENGTH:
        return readable
    import hashlib  # here: a run whose id fits pays no hashlib import

    digest = hashlib.sha256(f"{dataset}\0{version_id}".encode()).hexdigest()[:16]
    return f"{readable[: RUN_ID_LENGTH - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class AnalysisRun:
    """One claimed version's analysis, its params file written: what an executor runs."""

    dataset: RegisteredDataset
    version: Version
    run_params: RunParams
    params_path: Path
    log_path: Path
    notebook: str | os.PathLike[str] | None = None  # the caller's, for a run without a container

    @property
    def run_id(self) -> str:
        return run_id_for(self.dataset.name, self.version.id)


@dataclass(frozen=True)
class RunEnded:
    exit_code: int
    duration_seconds: float
    reason: str | None = None  # why it failed, where the exit code alone does not say
    node: str | None = None  # where it ran, when the executor knows (a cluster node, a job)
    # The run ended because its infrastructure failed (a node lost, capacity withdrawn),
    # not because the analysis did: only such an end may be retried, and only on request.
    infrastructure_failure: bool = False


class Executor(Protocol):
    @property
    def name(self) -> str:
        """The executor's registry name, recorded on each version it runs."""

    def choose_mode(self, use_container: bool | None) -> str:
        """The mode a run will have, recorded on its version (`records.MODE_*`).
        `use_container`: True requires a container, False refuses one, None lets the
        executor choose. Raises IotaError when the run asked for cannot happen here."""

    def execute(self, run: AnalysisRun) -> RunEnded:
        """Run the analysis to its end in `run.version.mode`, its log in `run.log_path`;
        IotaError when it cannot start (nothing was submitted then)."""


@runtime_checkable
class FollowableExecutor(Protocol):
    def follow(self, run: AnalysisRun) -> RunEnded | None:
        """The end of a run submitted before (by an earlier process) under `run.run_id`,
        waited for while it still runs, its log appended to `run.log_path`; None when the
        executor has no such run (it was never submitted: the engine may submit it)."""
