"""Checks dataset definitions against the service's own model and rules, and against the
trigger rules that hold across a set of definitions (see relations.py).

Lengths, patterns, enums, ranges and item counts come from the service's model, shipped in
this package (service_model.py; cloudformation_schema.py for templates) and checked by
model_rules.py: no limit is copied here by hand. This module adds the rules the model's
shapes cannot state: exactly one kind of action, variable value and destination; a count
or `unlimited`, never both; late data rules on a delta-time query; names given once.

    problems = validate_files(["a.json", "b.yaml"])
    for problem in problems:
        print(problem)   # FILE: $.json.path: what is wrong: how to fix it

Warnings (Problem.severity) name what this project cannot check: a dataset that no file of
the set defines (the account may hold it), a variable name the notebook cannot be given
by injection. `validate_files` returns them; `validate_definitions` and
`check_definition` only when asked, so that registration stops at errors alone.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from iota_container.definitions.documents import JSON_SUFFIXES, YAML_SUFFIXES
from iota_container.definitions.from_image import to_variables_json
from iota_container.definitions.model import (
    ContainerAction,
    DatasetDefinition,
    DeliveryDestination,
    QueryAction,
    read_definitions,
)
from iota_container.definitions.model_rules import check_model_constraints
from iota_container.definitions.problems import ERROR, WARNING, Problem
from iota_container.definitions.rules import (
    At,
    Findings,
    ScheduleChecker,
    check_across,
    check_trigger_shapes,
    parse_schedule_expression,
)

__all__ = [
    "Problem",
    "ScheduleChecker",
    "check_definition",
    "definition_files",
    "to_variables_json",
    "validate_definitions",
    "validate_files",
]


def validate_files(
    paths: Iterable[str | os.PathLike[str]], *, check_schedule: ScheduleChecker | None = None
) -> list[Problem]:
    """Load and validate definition files (a folder stands for its definition files) as one
    set: every file's loading problems, then every rule's, in the order of the files. A
    dataset that no file defines is a warning: the account may hold it."""
    files = definition_files(paths)
    loaded: list[tuple[str, DatasetDefinition]] = []
    problems: list[Problem] = []
    unreadable_names: list[str] = []
    for file in files:
        found = read_definitions(file)
        loaded.extend((file, definition) for definition in found.definitions)
        problems.extend(found.problems)
        unreadable_names.extend(e.dataset_name for e in found.errors if e.dataset_name)
    problems += validate_definitions(
        loaded,
        check_schedule=check_schedule,
        also_defined=unreadable_names,
        undefined_datasets=WARNING,
        warnings=True,
    )
    order = {file: index for index, file in enumerate(files)}
    return sorted(problems, key=lambda problem: order.get(problem.file, len(order)))


def definition_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files to validate: each path, or a folder's JSON and YAML files, sorted."""
    files: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            suffixes = JSON_SUFFIXES + YAML_SUFFIXES
            found = (p for p in Path(path).iterdir() if p.suffix.lower() in suffixes)
            files.extend(sorted(str(p) for p in found if p.is_file()))
        else:
            files.append(str(path))
    return files


def validate_definitions(
    definitions: Sequence[tuple[str | os.PathLike[str], DatasetDefinition]],
    *,
    check_schedule: ScheduleChecker | None = None,
    also_defined: Collection[str] = (),
    undefined_datasets: str = ERROR,
    warnings: bool = False,
) -> list[Problem]:
    """Every problem of a set of definitions, as (file, definition) pairs.

    `check_schedule` checks a schedule expression's syntax, raising an IotaError (default:
    schedule/expressions.py's parser). `also_defined` names datasets defined in files that
    could not be read, so that references to them are not reported as undefined.
    `undefined_datasets` is the severity of a reference to a dataset the set does not
    define: ERROR where the set is all there is (the datasets registered here), WARNING
    for files that may refer to an account's datasets. Warnings are returned only when
    `warnings` is true.
    """
    checker = check_schedule or parse_schedule_expression
    findings = [Findings(str(path), definition) for path, definition in definitions]
    for finding in findings:
        _check_definition(finding, checker)
    check_across(findings, also_defined, undefined_severity=undefined_datasets)
    problems = [problem for finding in findings for problem in finding.problems]
    return problems if warnings else [problem for problem in problems if problem.is_error]


def check_definition(
    file: str,
    definition: DatasetDefinition,
    *,
    check_schedule: ScheduleChecker | None = None,
    warnings: bool = False,
) -> list[Problem]:
    """The problems of one definition alone (no rule that needs the others)."""
    findings = Findings(file, definition)
    _check_definition(findings, check_schedule or parse_schedule_expression)
    return [p for p in findings.problems if warnings or p.is_error]


def _check_definition(f: Findings, check_schedule: ScheduleChecker) -> None:
    d = f.definition
    check_model_constraints(f)
    _check_actions(f, d)
    check_trigger_shapes(f, check_schedule)
    for i, rule in enumerate(d.content_delivery_rules):
        _check_destination(f, ("contentDeliveryRules", i, "destination"), rule.destination)
    if d.versioning_configuration:
        v = d.versioning_configuration
        _check_count_or_unlimited(f, ("versioningConfiguration",), v.unlimited, v.max_versions)
    if d.retention_period:
        r = d.retention_period
        _check_count_or_unlimited(f, ("retentionPeriod",), r.unlimited, r.number_of_days)
    _check_late_data_rules(f, d)
    _check_tags(f, d)


def _check_actions(f: Findings, d: DatasetDefinition) -> None:
    for i, action in enumerate(d.actions):
        at: At = ("actions", i)
        kinds = {
            "containerAction": bool(action.container_action),
            "queryAction": bool(action.query_action),
        }
        f.exactly_one(at, kinds, "the action")
        if action.container_action:
            _check_container(f, (*at, "containerAction"), action.container_action)
        if action.query_action:
            _check_query(f, (*at, "queryAction"), action.query_action)


def _check_container(f: Findings, at: At, action: ContainerAction) -> None:
    if not action.image.strip():  # ours: the model bounds only its length
        fix = "give the image's reference, such as REGISTRY/REPO@sha256:..."
        f.add((*at, "image"), "image.empty", "image is empty", fix)
    seen: set[str] = set()
    for i, v in enumerate(action.variables):
        name_at: At = (*at, "variables", i, "name")
        if v.name in seen:  # ours: the params file is a map, so one value would be lost
            f.add(name_at, "variables.unique", f"variable {v.name!r} is defined twice", "keep one")
        seen.add(v.name)
        if not v.name.isidentifier():  # the model allows any name; injection needs a Python one
            message = f"variable {v.name!r} is not a Python name, so it is not injected"
            fix = "the notebook reads it with iota_container.params(); rename it to inject it"
            f.add(name_at, "variables.identifier", message, fix, severity=WARNING)
        kinds = {
            "stringValue": v.string_value is not None,
            "doubleValue": v.double_value is not None,
            "datasetContentVersionValue": v.dataset_content_version_value is not None,
            "outputFileUriValue": v.output_file_uri_value is not None,
        }
        f.exactly_one((*at, "variables", i), kinds, f"variable {v.name!r}")


def _check_query(f: Findings, at: At, action: QueryAction) -> None:
    source = action.local_source
    if source:  # ours: the extension names one place the content comes from
        kinds = {
            "file": source.file is not None,
            "folder": source.folder is not None,
            "command": source.command is not None,
        }
        f.exactly_one((*at, "x-iota-source"), kinds, "x-iota-source")


def _check_destination(f: Findings, at: At, destination: DeliveryDestination) -> None:
    kinds = {
        "s3DestinationConfiguration": destination.s3 is not None,
        "iotEventsDestinationConfiguration": destination.iot_events is not None,
    }
    f.exactly_one(at, kinds, "the destination")


def _check_count_or_unlimited(
    f: Findings, at: At, unlimited: bool | None, count: int | None
) -> None:
    """versioningConfiguration and retentionPeriod: a count, or `unlimited`, never both
    ("The unlimited parameter must be false" when the count is given)."""
    name = "maxVersions" if at == ("versioningConfiguration",) else "numberOfDays"
    if count is not None and unlimited:
        message = f"unlimited is true and {name} is {count}: they exclude each other"
        f.add(at, f"{name}.unlimited", message, f"drop {name}, or set unlimited to false")


def _check_late_data_rules(f: Findings, d: DatasetDefinition) -> None:
    # CreateDataset.lateDataRules: "the dataset must use a DeltaTimer filter".
    query = d.query_action
    if d.late_data_rules and not (query and any(q.delta_time for q in query.filters)):
        f.add(
            ("lateDataRules",),
            "lateDataRules.deltaTime",
            "lateDataRules need a queryAction with a deltaTime filter",
            "add a deltaTime filter to the queryAction, or drop lateDataRules",
        )


def _check_tags(f: Findings, d: DatasetDefinition) -> None:
    seen: set[str] = set()
    for i, tag in enumerate(d.tags or ()):
        if tag.key in seen:  # ours: a resource's tag keys are unique
            f.add(("tags", i, "key"), "tags.unique", f"tag {tag.key!r} is given twice", "keep one")
        seen.add(tag.key)
