"""Checks dataset definitions against every documented CreateDataset constraint, and
against the trigger rules that hold across a set of definitions (see relations.py).

The numbers come from the AWS IoT Analytics API Reference (API version 2017-11-27): the
CreateDataset action and the types it uses, each named next to its limit below. The
service's own answer was the oracle; it has reached end of support, and botocore no
longer ships its model, so this module is the one place they live.

    problems = validate_files(["a.json", "b.yaml"])
    for problem in problems:
        print(problem)   # FILE: $.json.path: what is wrong: how to fix it
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from iota_container.dataset.checks import WORD, At, Findings, TextPattern
from iota_container.dataset.documents import JSON_SUFFIXES, YAML_SUFFIXES
from iota_container.dataset.from_image import to_variables_json
from iota_container.dataset.problems import DefinitionError, Problem
from iota_container.dataset.relations import (
    ScheduleChecker,
    check_across,
    check_trigger_shapes,
    parse_schedule_expression,
)
from iota_container.dataset.spec import (
    ContainerAction,
    DatasetDefinition,
    DeliveryDestination,
    QueryAction,
    load_definition,
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

COMPUTE_TYPES = ("ACU_1", "ACU_2")  # ResourceConfiguration.computeType: its enum
VOLUME_SIZE_IN_GB = (1, 50)  # ResourceConfiguration.volumeSizeInGB: 1..50
IMAGE_LENGTH = (1, 255)  # ContainerDatasetAction.image: at most 255 (and required)
ROLE_ARN_LENGTH = (20, 2048)  # executionRoleArn; roleArn of S3 and IoT Events destinations
ACTION_NAME_LENGTH = (1, 128)  # DatasetAction.actionName: 1..128, `^[a-zA-Z0-9_]+$`
MAX_VARIABLES = 50  # ContainerDatasetAction.variables: 0..50 items
VARIABLE_NAME_LENGTH = (1, 256)  # Variable.name: 1..256
STRING_VALUE_LENGTH = (0, 1024)  # Variable.stringValue: 0..1024
# OutputFileUriValue.fileName: `[\w\.-]{1,255}` (Java's \w: ASCII), as a length and characters.
FILE_NAME_LENGTH = (1, 255)
FILE_NAME = TextPattern(
    re.compile(r"[\w.-]*\Z", re.ASCII), r"[\w\.-]{1,255}", "use only letters, digits, _, . and -"
)
MAX_FILTERS = 1  # SqlQueryDatasetAction.filters: 0..1 items
MAX_DELIVERY_RULES = 20  # CreateDataset.contentDeliveryRules: 0..20 items
BUCKET_LENGTH = (3, 255)  # S3DestinationConfiguration.bucket: 3..255, and this pattern
BUCKET = TextPattern(
    re.compile(r"[a-zA-Z0-9.\-_]*\Z"),
    "^[a-zA-Z0-9.\\-_]*$",
    "give the bucket's name alone, without s3:// or a key",
)
KEY_LENGTH = (1, 255)  # S3DestinationConfiguration.key: 1..255, and this pattern
KEY = TextPattern(
    re.compile(r"[a-zA-Z0-9!_.*'()/{}:-]*\Z"),
    "^[a-zA-Z0-9!_.*'()/{}:-]*$",
    "use letters, digits and !_.*'()/{}:- (such as !{iotanalytics:versionId})",
)
GLUE_NAME_LENGTH = (1, 150)  # GlueConfiguration.databaseName and tableName: 1..150
INPUT_NAME_LENGTH = (1, 128)  # IotEventsDestinationConfiguration.inputName: 1..128
INPUT_NAME = TextPattern(
    re.compile(r"[a-zA-Z][a-zA-Z0-9_]*\Z"),
    "^[a-zA-Z][a-zA-Z0-9_]*$",
    "start with a letter; then letters, digits, _",
)
MAX_VERSIONS = (1, 1000)  # VersioningConfiguration.maxVersions: 1..1000
MIN_RETENTION_DAYS = 1  # RetentionPeriod.numberOfDays: at least 1
MAX_LATE_DATA_RULES = 1  # CreateDataset.lateDataRules: 1 item
RULE_NAME_LENGTH = (1, 128)  # LateDataRule.ruleName: 1..128, `^[a-zA-Z0-9_]+$`
TIMEOUT_IN_MINUTES = (1, 60)  # DeltaTimeSessionWindowConfiguration.timeoutInMinutes: 1..60
MAX_TAGS = 50  # CreateDataset.tags: 1..50 items
TAG_LENGTH = (1, 256)  # Tag.key and Tag.value: 1..256


def validate_files(
    paths: Iterable[str | os.PathLike[str]], *, check_schedule: ScheduleChecker | None = None
) -> list[Problem]:
    """Load and validate definition files (a folder stands for its definition files) as one
    set: every file's loading problems, then every rule's, in the order of the files."""
    files = definition_files(paths)
    loaded: list[tuple[str, DatasetDefinition]] = []
    problems: list[Problem] = []
    unreadable_names: list[str] = []
    for file in files:
        try:
            loaded.append((file, load_definition(file)))
        except DefinitionError as e:
            problems.extend(e.problems)
            unreadable_names.extend([e.dataset_name] if e.dataset_name else [])
    problems += validate_definitions(
        loaded, check_schedule=check_schedule, also_defined=unreadable_names
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
) -> list[Problem]:
    """Every problem of a set of definitions, as (file, definition) pairs.

    `check_schedule` checks a schedule expression's syntax, raising an IotaError (default:
    dataset/schedule.py's parser). `also_defined` names datasets defined in files that
    could not be read, so that references to them are not reported as undefined.
    """
    checker = check_schedule or parse_schedule_expression
    findings = [Findings(str(path), definition) for path, definition in definitions]
    for finding in findings:
        _check_definition(finding, checker)
    check_across(findings, also_defined)
    return [problem for finding in findings for problem in finding.problems]


def check_definition(
    file: str, definition: DatasetDefinition, *, check_schedule: ScheduleChecker | None = None
) -> list[Problem]:
    """The problems of one definition alone (no rule that needs the others)."""
    findings = Findings(file, definition)
    _check_definition(findings, check_schedule or parse_schedule_expression)
    return findings.problems


def _check_definition(f: Findings, check_schedule: ScheduleChecker) -> None:
    d = f.definition
    f.dataset_name(("datasetName",), d.dataset_name)
    _check_actions(f, d)
    check_trigger_shapes(f, check_schedule)
    f.count(
        ("contentDeliveryRules",),
        len(d.content_delivery_rules),
        MAX_DELIVERY_RULES,
        "deliver to fewer destinations",
    )
    for i, rule in enumerate(d.content_delivery_rules):
        _check_destination(f, ("contentDeliveryRules", i, "destination"), rule.destination)
    if d.versioning_configuration:
        v = d.versioning_configuration
        _check_count_or_unlimited(
            f,
            ("versioningConfiguration",),
            v.unlimited,
            "maxVersions",
            v.max_versions,
            MAX_VERSIONS,
        )
    if d.retention_period:
        r = d.retention_period
        _check_count_or_unlimited(
            f,
            ("retentionPeriod",),
            r.unlimited,
            "numberOfDays",
            r.number_of_days,
            (MIN_RETENTION_DAYS, None),
        )
    _check_late_data_rules(f, d)
    _check_tags(f, d)


def _check_actions(f: Findings, d: DatasetDefinition) -> None:
    if len(d.actions) != 1:  # CreateDataset.actions: "Fixed number of 1 item"
        message = f"{len(d.actions)} actions, the API takes exactly 1 (actions 1..1)"
        fix = "keep one action" if d.actions else "add a containerAction or a queryAction"
        f.add(("actions",), "actions.count", message, fix)
    for i, action in enumerate(d.actions):
        at: At = ("actions", i)
        if action.action_name is not None:
            f.text((*at, "actionName"), action.action_name, ACTION_NAME_LENGTH, WORD)
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
    fix = "use a shorter repository path, or pin by digest (repo@sha256:...)"
    f.text((*at, "image"), action.image, IMAGE_LENGTH, fix=fix)
    fix = "give the role's whole ARN: arn:aws:iam::ACCOUNT:role/NAME"
    f.text((*at, "executionRoleArn"), action.execution_role_arn, ROLE_ARN_LENGTH, fix=fix)
    resources = action.resource_configuration
    compute_type = (*at, "resourceConfiguration", "computeType")
    if resources.compute_type not in COMPUTE_TYPES:
        message = f"{resources.compute_type!r} is not a compute type (computeType ACU_1 | ACU_2)"
        f.add(compute_type, "computeType.enum", message, "use ACU_1 or ACU_2")
    f.range(
        (*at, "resourceConfiguration", "volumeSizeInGB"),
        resources.volume_size_in_gb,
        *VOLUME_SIZE_IN_GB,
        fix="use 1 to 50 (GB); write larger outputs to S3 instead",
    )
    _check_variables(f, (*at, "variables"), action)


def _check_variables(f: Findings, at: At, action: ContainerAction) -> None:
    f.count(
        at,
        len(action.variables),
        MAX_VARIABLES,
        "drop some, or pass several values as one JSON string",
    )
    seen: set[str] = set()
    for i, v in enumerate(action.variables):
        name_at: At = (*at, i, "name")
        # The pattern is this project's, not the API reference's: names become variables
        # of the notebook, and the params file's keys.
        f.text(name_at, v.name, VARIABLE_NAME_LENGTH, WORD)
        if v.name in seen:  # ours: the params file is a map, so one value would be lost
            f.add(name_at, "variables.unique", f"variable {v.name!r} is defined twice", "keep one")
        seen.add(v.name)
        kinds = {
            "stringValue": v.string_value is not None,
            "doubleValue": v.double_value is not None,
            "datasetContentVersionValue": v.dataset_content_version_value is not None,
            "outputFileUriValue": v.output_file_uri_value is not None,
        }
        f.exactly_one((*at, i), kinds, f"variable {v.name!r}")
        if v.string_value is not None:
            fix = "shorten it, or read the data from a file the notebook fetches"
            f.text((*at, i, "stringValue"), v.string_value, STRING_VALUE_LENGTH, fix=fix)
        if v.dataset_content_version_value:
            dcv_at: At = (*at, i, "datasetContentVersionValue", "datasetName")
            f.dataset_name(dcv_at, v.dataset_content_version_value.dataset_name)
        if v.output_file_uri_value:
            file_at: At = (*at, i, "outputFileUriValue", "fileName")
            f.text(file_at, v.output_file_uri_value.file_name, FILE_NAME_LENGTH, FILE_NAME)


def _check_query(f: Findings, at: At, action: QueryAction) -> None:
    f.count((*at, "filters"), len(action.filters), MAX_FILTERS, "keep one deltaTime filter")
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
    if destination.s3:
        s3, s3_at = destination.s3, (*at, "s3DestinationConfiguration")
        f.text((*s3_at, "bucket"), s3.bucket, BUCKET_LENGTH, BUCKET)
        f.text((*s3_at, "key"), s3.key, KEY_LENGTH, KEY)
        f.text((*s3_at, "roleArn"), s3.role_arn, ROLE_ARN_LENGTH)
        if s3.glue_configuration:
            glue, glue_at = s3.glue_configuration, (*s3_at, "glueConfiguration")
            f.text((*glue_at, "databaseName"), glue.database_name, GLUE_NAME_LENGTH)
            f.text((*glue_at, "tableName"), glue.table_name, GLUE_NAME_LENGTH)
    if destination.iot_events:
        events, events_at = destination.iot_events, (*at, "iotEventsDestinationConfiguration")
        f.text((*events_at, "inputName"), events.input_name, INPUT_NAME_LENGTH, INPUT_NAME)
        f.text((*events_at, "roleArn"), events.role_arn, ROLE_ARN_LENGTH)


def _check_count_or_unlimited(
    f: Findings,
    at: At,
    unlimited: bool | None,
    name: str,
    count: int | None,
    bounds: tuple[int, int | None],
) -> None:
    """versioningConfiguration and retentionPeriod: a count, or `unlimited`, never both
    ("The unlimited parameter must be false" when the count is given)."""
    if count is None:
        return
    f.range((*at, name), count, *bounds)
    if unlimited:
        message = f"unlimited is true and {name} is {count}: they exclude each other"
        f.add(at, f"{name}.unlimited", message, f"drop {name}, or set unlimited to false")


def _check_late_data_rules(f: Findings, d: DatasetDefinition) -> None:
    f.count(("lateDataRules",), len(d.late_data_rules), MAX_LATE_DATA_RULES, "keep one rule")
    for i, rule in enumerate(d.late_data_rules):
        if rule.rule_name is not None:
            f.text(("lateDataRules", i, "ruleName"), rule.rule_name, RULE_NAME_LENGTH, WORD)
        window = rule.rule_configuration.delta_time_session_window
        if window:
            window_at: At = (
                "lateDataRules",
                i,
                "ruleConfiguration",
                "deltaTimeSessionWindowConfiguration",
                "timeoutInMinutes",
            )
            f.range(window_at, window.timeout_in_minutes, *TIMEOUT_IN_MINUTES)
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
    f.count(("tags",), len(d.tags), MAX_TAGS, "drop some tags")
    seen: set[str] = set()
    for i, tag in enumerate(d.tags):
        f.text(("tags", i, "key"), tag.key, TAG_LENGTH)
        f.text(("tags", i, "value"), tag.value, TAG_LENGTH)
        if tag.key in seen:  # ours: a resource's tag keys are unique
            f.add(("tags", i, "key"), "tags.unique", f"tag {tag.key!r} is given twice", "keep one")
        seen.add(tag.key)
