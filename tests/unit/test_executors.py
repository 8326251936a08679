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
        IotaError,
        match=r"named 'kubernetes': use one of local, ray, .*sagemaker.*iota_container\.executors",
    ):
        executor_for("kubernetes")


def test_local_without_a_container_runs_a_process() -> None:
    assert LocalExecutor().choose_mode(use_container=False) == MODE_PROCESS


def test_run_ids_are_stable_short_and_distinct() -> None:
    from iota_container.executors import run_id_for

    assert run_id_for("daily_report", "v1") == run_id_for("daily_report", "v1")
    assert run_id_for("daily_report", "v1") == "iota-daily-report-v1"
    long_a = run_id_for("d" * 128, "20261201T120000Z-aaaa")
    long_b = run_id_for("d" * 128, "20261201T120000Z-aaab")
    assert long_a != long_b
    assert len(long_a) <= 63 and len(long_b) <= 63
    assert all(c.isalnum() or c == "-" for c in long_a)


def test_the_executor_is_chosen_by_name_then_environment_then_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from iota_container.executors import executor_name

    monkeypatch.delenv("IOTA_EXECUTOR", raising=False)
    assert executor_name() == "local"
    monkeypatch.setenv("IOTA_EXECUTOR", "ray")
    assert executor_name() == "ray"
    assert executor_name("sagemaker") == "sagemaker"
