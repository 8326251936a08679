"""The findings of validation for one definition, and the generic checks behind its rules.

Rules name places by the CreateDataset keys (`("actions", 0, "containerAction")`);
`Findings.add` renders them in the keys the file itself uses, so a CloudFormation
definition gets `$.Properties.Actions[0].ContainerAction`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from iota_container.dataset.problems import Problem
from iota_container.dataset.schema import render_path
from iota_container.dataset.spec import DatasetDefinition

At = tuple[Union[str, int], ...]


@dataclass(frozen=True)
class TextPattern:
    """A documented pattern: its regex, how the API reference writes it, and the fix."""

    regex: re.Pattern[str]
    shown: str
    fix: str


WORD = TextPattern(
    re.compile(r"[a-zA-Z0-9_]+\Z"), "^[a-zA-Z0-9_]+$", "use only letters, digits and _"
)
# The names of datasets (CreateDataset.datasetName, TriggeringDataset.name,
# DatasetContentVersionValue.datasetName) share one rule in the AWS IoT Analytics API
# Reference: length 1..128, pattern `(^(?!_{2}))(^[a-zA-Z0-9_]+$)`: letters, digits and _,
# not starting with two underscores (checked apart, for a message that says so).
DATASET_NAME_LENGTH = (1, 128)


class Findings:
    """The problems of one definition, from every rule that looks at it."""

    def __init__(self, file: str, definition: DatasetDefinition) -> None:
        self.file = file
        self.definition = definition
        self.problems: list[Problem] = []

    def add(self, at: At, rule: str, message: str, fix: str = "") -> None:
        origin = self.definition.origin
        path = render_path(
            DatasetDefinition,
            at,
            cloudformation=bool(origin and origin.cloudformation),
            root=origin.root if origin else "$",
        )
        self.problems.append(Problem(self.file, path, rule, message, fix))

    def _length(self, at: At, value: str, lo: int, hi: int, fix: str = "shorten it") -> None:
        name = label(at)
        bounds = f"({name} {lo}..{hi} characters)"
        if len(value) > hi:
            shown = value if len(value) <= 40 else value[:37] + "..."
            message = f"{shown!r} is {len(value)} characters long, more than {hi} {bounds}"
            self.add(at, f"{name}.length", message, fix)
        elif not value and lo > 0:
            self.add(at, f"{name}.length", f"{name} is empty {bounds}", "give it a value")
        elif len(value) < lo:
            message = f"{value!r} is {len(value)} characters long, fewer than {lo} {bounds}"
            self.add(at, f"{name}.length", message, "lengthen it")

    def text(
        self,
        at: At,
        value: str,
        bounds: tuple[int, int],
        pattern: TextPattern | None = None,
        fix: str = "shorten it",
    ) -> None:
        """A string's length within `bounds`, and its characters `pattern`'s."""
        self._length(at, value, *bounds, fix=fix)
        if pattern and value and not pattern.regex.match(value):
            name = label(at)
            message = f"{value!r} does not match {pattern.shown} ({name})"
            self.add(at, f"{name}.pattern", message, pattern.fix)

    def dataset_name(self, at: At, value: str) -> None:
        if value.startswith("__"):
            self._length(at, value, *DATASET_NAME_LENGTH)
            message = f"{value!r} starts with two underscores ({label(at)})"
            self.add(at, f"{label(at)}.pattern", message, "drop the leading underscores")
        else:
            self.text(at, value, DATASET_NAME_LENGTH, WORD)

    def range(self, at: At, value: int, lo: int, hi: int | None = None, fix: str = "") -> None:
        name = label(at)
        bounds = f"({name} {lo}..{hi})" if hi is not None else f"({name} {lo} or more)"
        fix = fix or (f"use {lo} to {hi}" if hi is not None else f"use {lo} or more")
        if value < lo:
            self.add(at, f"{name}.range", f"{value} is less than {lo} {bounds}", fix)
        elif hi is not None and value > hi:
            self.add(at, f"{name}.range", f"{value} is more than {hi} {bounds}", fix)

    def count(self, at: At, count: int, most: int, fix: str) -> None:
        name = label(at)
        if count > most:
            message = f"{count} {name}, more than {most} ({name}: at most {most})"
            self.add(at, f"{name}.count", message, fix)

    def exactly_one(self, at: At, present: dict[str, bool], what: str) -> list[str]:
        """Adds a problem unless exactly one of `present` is true; returns those that are."""
        given = [key for key, is_given in present.items() if is_given]
        if len(given) != 1:
            has = " and ".join(given) if given else f"none of {', '.join(present)}"
            fix = f"give exactly one of {', '.join(present)}"
            self.add(at, f"{label(at)}.one-of", f"{what} has {has}", fix)
        return given


def label(at: At) -> str:
    """The key a path ends in: `volumeSizeInGB`, or `variables` for `variables[3]`."""
    return next((s for s in reversed(at) if isinstance(s, str)), "dataset")
