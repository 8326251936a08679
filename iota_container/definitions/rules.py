"""Validation's findings, the generic checks behind its rules, and the trigger rules.

Rules name places by the CreateDataset keys (`("actions", 0, "containerAction")`);
`Findings.add` renders them in the keys the file itself uses, so a CloudFormation
definition gets `$.Properties.Actions[0].ContainerAction`.

The trigger rules and the rules that hold across a set of definitions keep the
service's own messages, word for word, so that anyone who met them
there recognises them (messages quoted in DESIGN.md):

- each trigger is a schedule or a dataset: "Exactly one trigger type should be provided";
- only a container dataset is triggered by a dataset:
  "Triggering dataset can only be added on a container dataset";
- by one at most: "There can only be one triggering dataset";
- and not by a container dataset:
  "The triggering dataset <name> cannot be triggered by a container dataset";
- a SQL dataset triggers at most 10: "<N> datasets are already dependent on <name> dataset."

This project's own, which the service checked against what an account held and a set of
files must check among themselves: a dataset that triggers itself, a cycle, a trigger or
a datasetContentVersionValue naming a dataset no definition defines (an error for the
datasets registered here, which are all this engine has; a warning for files, whose
account may hold it), and one name defined twice.

The first rule also holds across a dataset's triggers: schedules and a triggering dataset
together get "Exactly one trigger type should be provided", as the documentation says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Union

from iota_container.definitions.model import DatasetDefinition
from iota_container.definitions.problems import ERROR, WARNING, Problem
from iota_container.definitions.schema import render_path
from iota_container.errors import IotaError

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


# --- trigger rules ----------------------------------------------------------------------

ScheduleChecker = Callable[[str], object]
"""Parses a schedule expression, raising an IotaError with a one-line message."""

MAX_DEPENDENTS = 10  # datasets one SQL dataset may trigger (the service's limit, DESIGN.md)

EXACTLY_ONE_TYPE = "Exactly one trigger type should be provided"
ONLY_ON_CONTAINER = "Triggering dataset can only be added on a container dataset"
ONLY_ONE_DATASET = "There can only be one triggering dataset"
NOT_BY_CONTAINER = "The triggering dataset {name} cannot be triggered by a container dataset"
TOO_MANY_DEPENDENTS = "{count} datasets are already dependent on {name} dataset."


def parse_schedule_expression(expression: str) -> object:
    """The default ScheduleChecker: schedule/expressions.py's parser."""
    # Imported here, not at the top: loading and every other rule work without it.
    from iota_container.schedule.expressions import parse_schedule

    return parse_schedule(expression)


def check_trigger_shapes(f: Findings, check_schedule: ScheduleChecker) -> None:
    """The rules one definition's triggers obey on their own (their count and names are the
    model's: model_rules.py)."""
    d = f.definition
    dataset_triggers = []
    for i, trigger in enumerate(d.triggers):
        if (trigger.schedule is None) == (trigger.dataset is None):
            fix = "give the trigger either a schedule or a dataset"
            f.add(("triggers", i), "trigger.one-type", EXACTLY_ONE_TYPE, fix)
        if trigger.schedule:
            _check_schedule(
                f, ("triggers", i, "schedule"), trigger.schedule.expression, check_schedule
            )
        if trigger.dataset:
            dataset_triggers.append(i)
    if dataset_triggers and not d.is_container:
        fix = "trigger this SQL dataset on a schedule, and let its content trigger containers"
        f.add(
            ("triggers", dataset_triggers[0], "dataset"),
            "trigger.on-container",
            ONLY_ON_CONTAINER,
            fix,
        )
    elif dataset_triggers and any(t.schedule and t.dataset is None for t in d.triggers):
        # Schedules and a dataset together: the service's rule holds across the triggers.
        fix = "trigger it on schedules or on one dataset, not both"
        f.add(("triggers",), "trigger.one-type", EXACTLY_ONE_TYPE, fix)
    for i in dataset_triggers[1:]:
        fix = "keep one dataset trigger"
        f.add(("triggers", i, "dataset"), "trigger.one-dataset", ONLY_ONE_DATASET, fix)


def _check_schedule(
    f: Findings, at: At, expression: str | None, check_schedule: ScheduleChecker
) -> None:
    origin = f.definition.origin
    if expression is None and origin and origin.cloudformation:
        return  # the resource schema requires ScheduleExpression: model_rules.py says so
    if expression is None:
        f.add(
            at,
            "schedule.expression",
            "the schedule has no expression",
            "add expression: cron(...) or rate(...), such as rate(1 day)",
        )
        return
    try:
        check_schedule(expression)
    except IotaError as e:
        f.add((*at, "expression"), "schedule.syntax", str(e))


def check_across(
    findings: Sequence[Findings],
    also_defined: Collection[str] = (),
    *,
    undefined_severity: str = ERROR,
) -> None:
    """The rules between definitions; `also_defined`: names from files that did not load;
    `undefined_severity`: of a reference to a dataset none of them defines."""
    by_name: dict[str, Findings] = {}
    for finding in findings:
        name = finding.definition.dataset_name
        if name in by_name:
            fix = "rename one: a dataset's name is unique in its account and region"
            message = f"dataset {name!r} is also defined in {by_name[name].file}"
            finding.add(("datasetName",), "datasetName.unique", message, fix)
        else:
            by_name[name] = finding
    known = set(by_name) | set(also_defined)
    dependents: dict[str, int] = {}
    for finding in findings:
        _check_triggering_dataset(finding, by_name, known, dependents, undefined_severity)
        _check_content_versions(finding, known, undefined_severity)
    _check_cycles(findings, by_name)


def _check_triggering_dataset(
    f: Findings,
    by_name: dict[str, Findings],
    known: set[str],
    dependents: dict[str, int],
    undefined_severity: str,
) -> None:
    d = f.definition
    for i, trigger in enumerate(d.triggers):
        if trigger.dataset is None:
            continue
        at: At = ("triggers", i, "dataset", "name")
        name = trigger.dataset.name
        upstream = by_name.get(name)
        if name == d.dataset_name:
            f.add(
                at,
                "trigger.self",
                f"dataset {name!r} triggers itself",
                "trigger it on a schedule or on another dataset",
            )
        if name not in known:
            f.add(
                at,
                "trigger.defined",
                f"triggering dataset {name!r} is not defined{_where(undefined_severity)}",
                _undefined_fix(undefined_severity),
                severity=undefined_severity,
            )
        if upstream is None:
            continue
        if upstream.definition.is_container:
            f.add(
                at,
                "trigger.by-container",
                NOT_BY_CONTAINER.format(name=name),
                f"trigger {d.dataset_name} on a SQL dataset, or on a schedule",
            )
        elif d.is_container and len(d.triggering_datasets) == 1:
            # Only datasets the service would have created count as dependents.
            dependents[name] = dependents.get(name, 0) + 1
            if dependents[name] > MAX_DEPENDENTS:
                message = TOO_MANY_DEPENDENTS.format(count=MAX_DEPENDENTS, name=name)
                fix = f"trigger {d.dataset_name} on another SQL dataset, or on a schedule"
                f.add(at, "trigger.dependents", message, fix)


def _where(severity: str) -> str:
    return " in these files" if severity == WARNING else ""


def _undefined_fix(severity: str) -> str:
    if severity == WARNING:
        return "fine if the account holds it; else add its definition, or fix the name"
    return "add its definition to the set, or fix the name"


def _check_content_versions(f: Findings, known: set[str], undefined_severity: str) -> None:
    action = f.definition.container_action
    for i, variable in enumerate(action.variables if action else ()):
        value = variable.dataset_content_version_value
        if value is not None and value.dataset_name not in known:
            index = next(n for n, a in enumerate(f.definition.actions) if a.container_action)
            at: At = (
                "actions",
                index,
                "containerAction",
                "variables",
                i,
                "datasetContentVersionValue",
                "datasetName",
            )
            message = f"dataset {value.dataset_name!r} is not defined{_where(undefined_severity)}"
            f.add(
                at,
                "datasetContentVersionValue.defined",
                message,
                _undefined_fix(undefined_severity),
                severity=undefined_severity,
            )


def _check_cycles(findings: Sequence[Findings], by_name: dict[str, Findings]) -> None:
    """Reports each cycle of dataset triggers once, on its member that comes first."""
    upstreams = {
        name: [t for t in finding.definition.triggering_datasets if t in by_name and t != name]
        for name, finding in by_name.items()
    }
    order = {finding.definition.dataset_name: n for n, finding in enumerate(findings)}
    reported: set[frozenset[str]] = set()
    for start in sorted(upstreams, key=order.__getitem__):
        for cycle in _cycles_from(start, upstreams):
            if frozenset(cycle) in reported or min(cycle, key=order.__getitem__) != start:
                continue
            reported.add(frozenset(cycle))
            finding = by_name[start]
            triggers = finding.definition.triggers
            index = next(
                i for i, t in enumerate(triggers) if t.dataset and t.dataset.name == cycle[1]
            )
            # `cycle` follows upstreams (start is triggered by cycle[1]); show the flow.
            flow = " → ".join([start, *reversed(cycle[1:]), start])
            finding.add(
                ("triggers", index, "dataset", "name"),
                "trigger.cycle",
                f"dataset triggers form a cycle: {flow}",
                "break the cycle: trigger one of them on a schedule",
            )


def _cycles_from(start: str, upstreams: dict[str, list[str]]) -> list[list[str]]:
    """Simple paths start → ... → start (depth first; a set of definitions is small)."""
    cycles: list[list[str]] = []
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for upstream in upstreams[node]:
            if upstream == start:
                cycles.append(path)
            elif upstream not in path:
                stack.append((upstream, [*path, upstream]))
    return cycles
