"""The executor protocol: one claimed version's analysis in, how it ended out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import os

    from iota_container.engine.records import RegisteredDataset, Version
    from iota_container.engine.resolve import RunParams


@dataclass(frozen=True)
class AnalysisRun:
    """One claimed version's analysis, its params file written: what an executor runs."""

    dataset: RegisteredDataset
    version: Version
    run_params: RunParams
    params_path: Path
    log_path: Path
    notebook: str | os.PathLike[str] | None = None  # the caller's, for a run without a container


@dataclass(frozen=True)
class RunEnded:
    exit_code: int
    duration_seconds: float
    reason: str | None = None  # why it failed, where the exit code alone does not say


class Executor(Protocol):
    def choose_mode(self, use_container: bool | None) -> str:
        """The mode a run will have, recorded on its version (`records.MODE_*`).
        `use_container`: True requires a container, False refuses one, None lets the
        executor choose. Raises IotaError when the run asked for cannot happen here."""

    def execute(self, run: AnalysisRun) -> RunEnded:
        """Run the analysis to its end in `run.version.mode`, its log in `run.log_path`;
        IotaError when it cannot start."""
