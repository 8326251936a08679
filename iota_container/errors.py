"""The IotaError family.

Every message names the bad value and says how to fix it, on one line, so that the CLI
can print it as-is. Exit codes follow one rule: 2 for bad input or environment, 1 when
the analysis itself failed.
"""

from __future__ import annotations

from typing import Any, TypeVar

E = TypeVar("E", bound="IotaError")

EXIT_BAD_INPUT = 2
EXIT_ANALYSIS_FAILED = 1


class IotaError(Exception):
    """Base class: a one-line, user-facing problem with an exit code."""

    exit_code = EXIT_BAD_INPUT
    # What the command got done before failing, for `--json` reports.
    result: Any = None

    def with_result(self: E, result: Any) -> E:
        self.result = result
        return self


class ParamsError(IotaError):
    """The params file is missing, unreadable or breaks the contract."""


class VariableError(IotaError):
    """A variable is missing or does not have the type the code asked for."""


class StorageError(IotaError):
    """An output URI is malformed, or the store refused or failed an upload."""


class NotebookError(IotaError):
    """The notebook is missing, unreadable or not a notebook."""


class KernelError(IotaError):
    """No usable kernel: the one asked for is not installed, or none is."""


class LimitExceeded(IotaError):
    """A document read from outside is larger or deeper than this project reads."""


class AnalysisFailed(IotaError):
    """A cell of the notebook raised: outputs were still exported and uploaded."""

    exit_code = EXIT_ANALYSIS_FAILED
