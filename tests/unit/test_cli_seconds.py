"""`run --cell-timeout` takes a finite number of seconds greater than 0, refused at the
option with a one-line error (click's FloatRange would let nan through)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

import iota_container.runtime
from iota_container.cli import main


class RunReached(Exception):
    """Raised by the stand-in for the run: the option got through."""


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What reached the run (which is replaced: it would execute and then end the process)."""
    reached: list[Any] = []

    def stand_in(options: Any) -> None:
        reached.append(options)
        raise RunReached

    monkeypatch.setattr(iota_container.runtime, "run_analysis", stand_in)
    return reached


@pytest.mark.parametrize(
    "value", ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "0", "-0", "-5", "abc", ""]
)
def test_cell_timeout_refuses_what_is_not_a_positive_finite_time(
    value: str, runs: list[Any]
) -> None:
    result = CliRunner().invoke(main, ["run", "--cell-timeout", value])
    assert result.exit_code == 2, result.output
    assert runs == [], "the run started"
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "'--cell-timeout'" in errors[0] and repr(value) in errors[0]
    assert "greater than 0" in errors[0]


@pytest.mark.parametrize(("value", "seconds"), [("0.5", 0.5), ("600", 600.0), ("1e3", 1000.0)])
def test_cell_timeout_passes_seconds_to_the_run(
    value: str, seconds: float, runs: list[Any]
) -> None:
    result = CliRunner().invoke(main, ["run", "--cell-timeout", value])
    assert isinstance(result.exception, RunReached), result.output
    assert runs[0].cell_timeout == seconds
