"""What is wrong with a dataset definition, one finding per line.

Loading and validation report the same `Problem`, so one run of `dataset validate` lists
every syntax error, unknown field and broken constraint of every file, instead of
stopping at the first. A *warning* is a finding that does not make the file invalid: it
names something this project cannot check, such as a dataset the account may hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from iota_container.errors import IotaError, LimitExceeded

ERROR = "error"
WARNING = "warning"
WHAT = "dataset definition"  # how the limits' messages name what was read


@dataclass(frozen=True)
class Problem:
    """One finding: `file`, where in it (`json_path`), which `rule`, what and how to fix.

    `message` is the finding alone (for the service's trigger rules, its exact words);
    `fix` says what to change; `severity` is ERROR or WARNING.
    """

    file: str
    json_path: str
    rule: str
    message: str
    fix: str = ""
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        if not self.fix:
            return f"{self.file}: {self.json_path}: {self.message}"
        # One of the service's messages ends in a period; "dataset.: fix" reads as a typo.
        return f"{self.file}: {self.json_path}: {self.message.rstrip('.')}: {self.fix}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def errors_only(problems: Sequence[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.is_error]


class DefinitionError(IotaError):
    """A dataset definition file that cannot be read into the model.

    Carries every problem found in the file; `dataset_name` is the name the file gives,
    when it could be read, so that checks across files do not also call it undefined.
    """

    def __init__(self, problems: Sequence[Problem], dataset_name: str | None = None) -> None:
        self.problems = tuple(problems)
        self.dataset_name = dataset_name
        first = str(self.problems[0]) if self.problems else "invalid dataset definition"
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        super().__init__(first + suffix)


def syntax_error(file: str, message: str) -> DefinitionError:
    return DefinitionError([Problem(file, "$", "syntax", message, "fix the syntax")])


def limit_error(file: str, error: LimitExceeded) -> DefinitionError:
    # The limit's message names the file, the limit and the fix already.
    return DefinitionError([Problem(file, "$", "limit", str(error))])
