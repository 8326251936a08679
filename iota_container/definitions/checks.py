"""The findings of validation for one definition, and the generic checks behind its rules.

Rules name places by the CreateDataset keys (`("actions", 0, "containerAction")`);
`Findings.add` renders them in the keys the file itself uses, so a CloudFormation
definition gets `$.Properties.Actions[0].ContainerAction`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from iota_container.definitions.model import DatasetDefinition
from iota_container.definitions.problems import ERROR, Problem
from iota_container.definitions.schema import render_path

At = tuple[Union[str, int], ...]


@dataclass(frozen=True)
class TextPattern:
    """A documented pattern: its regex, how the API reference writes it, and the fix."""

    regex: re.Pattern[str]
    shown: str
    fix: str


class Findings:
    """The problems of one definition, from every rule that looks at it."""

    def __init__(self, file: str, definition: DatasetDefinition) -> None:
        self.file = file
        self.definition = definition
        self.problems: list[Problem] = []

    def add(self, at: At, rule: str, message: str, fix: str = "", *, severity: str = ERROR) -> None:
        origin = self.definition.origin
        path = render_path(
            DatasetDefinition,
            at,
            cloudformation=bool(origin and origin.cloudformation),
            root=origin.root if origin else "$",
        )
        self.problems.append(Problem(self.file, path, rule, message, fix, severity))

    def _length(
        self, at: At, value: str, lo: int | None, hi: int | None, fix: str = "shorten it"
    ) -> None:
        name = label(at)
        bounds = f"({name} {_span(lo, hi)} characters)"
        if hi is not None and len(value) > hi:
            message = f"{_text(value)} is {len(value)} characters long, more than {hi} {bounds}"
            self.add(at, f"{name}.length", message, fix)
        elif not value and lo:
            self.add(at, f"{name}.length", f"{name} is empty {bounds}", "give it a value")
        elif lo is not None and len(value) < lo:
            message = f"{value!r} is {len(value)} characters long, fewer than {lo} {bounds}"
            self.add(at, f"{name}.length", message, "lengthen it")

    def text(
        self,
        at: At,
        value: str,
        lo: int | None,
        hi: int | None,
        pattern: TextPattern | None = None,
        fix: str = "shorten it",
    ) -> None:
        """A string's length within `lo`..`hi` (None: no bound), matching all of `pattern`."""
        self._length(at, value, lo, hi, fix=fix)
        if pattern and value and not pattern.regex.fullmatch(value):
            name = label(at)
            message = f"{_text(value)} does not match {pattern.shown} ({name})"
            self.add(at, f"{name}.pattern", message, pattern.fix)

    def range(
        self, at: At, value: float, lo: float | None, hi: float | None = None, fix: str = ""
    ) -> None:
        name = label(at)
        bounds = f"({name} {_span(lo, hi, more='or more')})"
        fix = fix or f"use {_span(lo, hi, more='or more', to=' to ')}"
        if lo is not None and value < lo:
            self.add(at, f"{name}.range", f"{_number(value)} is less than {lo} {bounds}", fix)
        elif hi is not None and value > hi:
            self.add(at, f"{name}.range", f"{_number(value)} is more than {hi} {bounds}", fix)

    def count(
        self,
        at: At,
        count: int,
        lo: int | None,
        hi: int | None,
        *,
        too_few: str = "add some",
        too_many: str = "drop some",
    ) -> None:
        name = label(at)
        span = f"exactly {lo}" if lo is not None and lo == hi else _span(lo or None, hi, to=" to ")
        if hi is not None and count > hi:
            message = f"{count} {name}, more than {hi} ({name}: {span})"
            self.add(at, f"{name}.count", message, too_many)
        elif lo is not None and count < lo:
            message = f"{count} {name}, fewer than {lo} ({name}: {span})"
            self.add(at, f"{name}.count", message, too_few)

    def exactly_one(self, at: At, present: dict[str, bool], what: str) -> list[str]:
        """Adds a problem unless exactly one of `present` is true; returns those that are."""
        given = [key for key, is_given in present.items() if is_given]
        if len(given) != 1:
            has = " and ".join(given) if given else f"none of {', '.join(present)}"
            fix = f"give exactly one of {', '.join(present)}"
            self.add(at, f"{label(at)}.one-of", f"{what} has {has}", fix)
        return given


def _span(lo: float | None, hi: float | None, *, more: str = "", to: str = "..") -> str:
    """`1..50`, `at most 255`, `at least 20` (or `1 or more`)."""
    if lo is not None and hi is not None:
        return f"{lo}{to}{hi}"
    if hi is not None:
        return f"at most {hi}"
    return f"{lo} {more}" if more else f"at least {lo}"


def _text(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _number(value: float) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def label(at: At) -> str:
    """The key a path ends in: `volumeSizeInGB`, or `variables` for `variables[3]`."""
    return next((s for s in reversed(at) if isinstance(s, str)), "dataset")
