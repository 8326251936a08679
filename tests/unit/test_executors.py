"""The executor registry: `local` built in, others registered by name."""

from __future__ import annotations

import pytest

from iota_container.engine.records import MODE_PROCESS
from iota_container.errors import IotaError
from iota_container.executors import (
    AnalysisRun,
    RunEnded,
    executor_for,
    register_executor,
)
from iota_container.executors.local import LocalExecutor


class Recording:
    def __init__(self) -> None:
        self.runs: list[AnalysisRun] = []

    def choose_mode(self, use_container: bool | None) -> str:
        return MODE_PROCESS

    def execute(self, run: AnalysisRun) -> RunEnded:
        self.runs.append(run)
        return RunEnded(0, 0.0)


def test_local_is_built_in_and_each_call_makes_a_new_one() -> None:
    first, second = executor_for("local"), executor_for()
    assert isinstance(first, LocalExecutor) and isinstance(second, LocalExecutor)
    assert first is not second


def test_a_registered_executor_is_found_by_its_name() -> None:
    register_executor("recording", Recording)
    executor = executor_for("recording")
    assert isinstance(executor, Recording)
    assert executor.choose_mode(None) == MODE_PROCESS


def test_an_unknown_executor_names_the_known_ones_and_the_entry_point_group() -> None:
    with pytest.raises(
        IotaError, match=r"no executor is named 'ray'.*local.*iota_container\.executors"
    ):
        executor_for("ray")


def test_local_without_a_container_runs_a_process() -> None:
    assert LocalExecutor().choose_mode(use_container=False) == MODE_PROCESS
