from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from iota_container.definitions.model import (
    definition_from_document,
    load_definition,
    to_cloudformation_properties,
)
from iota_container.definitions.validate import (
    Problem,
    check_definition,
    to_variables_json,
    validate_definitions,
    validate_files,
)
from iota_container.errors import IotaError
from iota_container.variables import variable_from_default

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "datasets"
ROLE = "arn:aws:iam::123456789012:role/iotanalytics-container-role"
Document = dict[str, Any]


def schedule_checker(expression: str) -> object:
    """Stands in for schedule/expressions.py, so these tests do not depend on its rules."""
    if not re.fullmatch(r"(cron|rate)\(.+\)", expression):
        raise IotaError(
            f"{expression!r} is not a schedule expression: write cron(...) or rate(...)"
        )
    return expression


def container(name: str = "report", upstream: str | None = None, **changes: Any) -> Document:
    document: Document = {
        "datasetName": name,
        "actions": [
            {
                "actionName": "run",
                "containerAction": {
                    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/report:1.0",
                    "executionRoleArn": ROLE,
                    "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 10},
                    "variables": [{"name": "threshold", "doubleValue": 27.5}],
                },
            }
        ],
        "triggers": [{"dataset": {"name": upstream}} if upstream else _daily()],
    }
    document["actions"][0]["containerAction"].update(changes)
    return document


def sql(name: str = "readings") -> Document:
    query = {"sqlQuery": "SELECT * FROM datastore", "x-iota-source": {"file": "readings.csv"}}
    return {"datasetName": name, "actions": [{"queryAction": query}], "triggers": [_daily()]}


def _daily() -> Document:
    return {"schedule": {"expression": "rate(1 day)"}}


def lines(*documents: Document) -> list[str]:
    definitions = [(f"{d.get('datasetName')}.json", definition_from_document(d)) for d in documents]
    return [str(p) for p in validate_definitions(definitions, check_schedule=schedule_checker)]


def test_the_fixtures_are_valid_as_a_set() -> None:
    assert validate_files([FIXTURES], check_schedule=schedule_checker) == []


def test_the_problem_line_format(tmp_path: Path) -> None:
    document = container(resourceConfiguration={"computeType": "ACU_1", "volumeSizeInGB": 60})
    (problem,) = check_definition(
        "FILE", definition_from_document(document), check_schedule=schedule_checker
    )
    assert problem == Problem(
        "FILE",
        "$.actions[0].containerAction.resourceConfiguration.volumeSizeInGB",
        "volumeSizeInGB.range",
        "60 is more than 50 (volumeSizeInGB 1..50)",
        "use 1 to 50 (GB); write larger outputs to S3 instead",
    )
    assert str(problem) == (
        "FILE: $.actions[0].containerAction.resourceConfiguration.volumeSizeInGB: 60 is more "
        "than 50 (volumeSizeInGB 1..50): use 1 to 50 (GB); write larger outputs to S3 instead"
    )
    assert problem.to_json()["json_path"] == problem.json_path


def test_paths_are_in_the_keys_the_file_uses() -> None:
    document = container(resourceConfiguration={"computeType": "ACU_9", "volumeSizeInGB": 0})
    properties = to_cloudformation_properties(definition_from_document(document))
    resource = {"Type": "AWS::IoTAnalytics::Dataset", "Properties": properties}
    definition = definition_from_document(resource)
    problems = check_definition("t.yaml", definition, check_schedule=schedule_checker)
    assert [p.json_path for p in problems] == [
        "$.Properties.Actions[0].ContainerAction.ResourceConfiguration.ComputeType",
        "$.Properties.Actions[0].ContainerAction.ResourceConfiguration.VolumeSizeInGB",
    ]


Mutation = Callable[[Document], None]


def _action(d: Document) -> Document:
    action: Document = d["actions"][0]["containerAction"]
    return action


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting `a.b.0.c` in the container document (`@` is the containerAction)."""

    def mutate(document: Document) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for key in parents:
            node = _action(document) if key == "@" else node[int(key) if key.isdigit() else key]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _variables(*variables: Document) -> Mutation:
    return _set("@.variables", list(variables))


def _s3(**changes: Any) -> Mutation:
    s3 = {
        "bucket": "plant-7-analytics",
        "key": "report/!{iotanalytics:versionId}.csv",
        "roleArn": ROLE,
        **changes,
    }
    return _set("contentDeliveryRules", [{"destination": {"s3DestinationConfiguration": s3}}])


A = "$.actions[0]"
C = "$.actions[0].containerAction"
V = "$.actions[0].containerAction.variables"
D = "$.contentDeliveryRules[0].destination"
LONG = "x" * 300

# fmt: off
CONSTRAINTS: list[tuple[str, Mutation, str]] = [
    ("name-pattern", _set("datasetName", "sensor-report"),
     "$.datasetName: 'sensor-report' does not match (^(?!_{2}))(^[a-zA-Z0-9_]+$) (datasetName): "
     "use only letters, digits and _"),
    ("name-empty", _set("datasetName", ""),
     "$.datasetName: datasetName is empty (datasetName 1..128 characters): give it a value"),
    ("name-long", _set("datasetName", "n" * 129),
     "$.datasetName: 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is 129 characters long, more "
     "than 128 (datasetName 1..128 characters): shorten it"),
    ("name-underscores", _set("datasetName", "__report"),
     "$.datasetName: '__report' does not match (^(?!_{2}))(^[a-zA-Z0-9_]+$) (datasetName): "
     "drop the leading underscores"),
    ("no-action", _set("actions", []),
     "$.actions: 0 actions, fewer than 1 (actions: exactly 1): "
     "add a containerAction or a queryAction"),
    ("two-actions", lambda d: d["actions"].append(sql()["actions"][0]),
     "$.actions: 2 actions, more than 1 (actions: exactly 1): keep one action"),
    ("action-both", _set("actions.0.queryAction", {"sqlQuery": "SELECT 1"}),
     f"{A}: the action has containerAction and queryAction: "
     "give exactly one of containerAction, queryAction"),
    ("action-neither", _set("actions", [{"actionName": "run"}]),
     f"{A}: the action has none of containerAction, queryAction: "
     "give exactly one of containerAction, queryAction"),
    ("action-name", _set("actions.0.actionName", "run-report"),
     f"{A}.actionName: 'run-report' does not match ^[a-zA-Z0-9_]+$ (actionName): "
     "use only letters, digits and _"),
    ("image-long", _set("@.image", LONG[:256]),
     f"{C}.image: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is 256 characters long, more than "
     "255 (image at most 255 characters): use a shorter repository path, or pin by digest "
     "(repo@sha256:...)"),
    ("image-empty", _set("@.image", " "),
     f"{C}.image: image is empty: give the image's reference, such as REGISTRY/REPO@sha256:..."),
    ("role-short", _set("@.executionRoleArn", "arn:aws:iam::1:r"),
     f"{C}.executionRoleArn: 'arn:aws:iam::1:r' is 16 characters long, fewer than 20 "
     "(executionRoleArn 20..2048 characters): lengthen it"),
    ("compute-type", _set("@.resourceConfiguration.computeType", "ACU_4"),
     f"{C}.resourceConfiguration.computeType: 'ACU_4' is not one of ACU_1 | ACU_2 "
     "(computeType): use ACU_1 or ACU_2"),
    ("volume-zero", _set("@.resourceConfiguration.volumeSizeInGB", 0),
     f"{C}.resourceConfiguration.volumeSizeInGB: 0 is less than 1 (volumeSizeInGB 1..50): "
     "use 1 to 50 (GB); write larger outputs to S3 instead"),
    ("51-variables", _variables(*({"name": f"v{i}", "doubleValue": i} for i in range(51))),
     f"{C}.variables: 51 variables, more than 50 (variables: at most 50): "
     "drop some, or pass several values as one JSON string"),
    ("variable-name-long", _variables({"name": "v" * 257, "doubleValue": 1}),
     f"{V}[0].name: 'vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...' is 257 characters long, more than "
     "256 (name 1..256 characters): shorten it"),
    ("variable-no-value", _variables({"name": "a"}),
     f"{V}[0]: variable 'a' has none of stringValue, doubleValue, datasetContentVersionValue, "
     "outputFileUriValue: give exactly one of stringValue, doubleValue, "
     "datasetContentVersionValue, outputFileUriValue"),
    ("variable-two-values", _variables({"name": "a", "stringValue": "x", "doubleValue": 1}),
     f"{V}[0]: variable 'a' has stringValue and doubleValue: give exactly one of stringValue, "
     "doubleValue, datasetContentVersionValue, outputFileUriValue"),
    ("variable-twice", _variables({"name": "a", "doubleValue": 1}, {"name": "a", "doubleValue": 2}),
     f"{V}[1].name: variable 'a' is defined twice: keep one"),
    ("string-value-long", _variables({"name": "a", "stringValue": "s" * 1025}),
     f"{V}[0].stringValue: 'sssssssssssssssssssssssssssssssssssss...' is 1025 characters long, "
     "more than 1024 (stringValue 0..1024 characters): shorten it, or read the data from a "
     "file the notebook fetches"),
    ("file-name-pattern",
     _variables({"name": "a", "outputFileUriValue": {"fileName": "alerts/2024.csv"}}),
     f"{V}[0].outputFileUriValue.fileName: 'alerts/2024.csv' does not match [\\w\\.-]{{1,255}} "
     "(fileName): use only letters, digits, _, . and -"),
    ("file-name-long", _variables({"name": "a", "outputFileUriValue": {"fileName": LONG[:256]}}),
     f"{V}[0].outputFileUriValue.fileName: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' does not "
     "match [\\w\\.-]{1,255} (fileName): use only letters, digits, _, . and -"),
    ("content-version-name",
     _variables({"name": "a", "datasetContentVersionValue": {"datasetName": "sensor-data"}}),
     f"{V}[0].datasetContentVersionValue.datasetName: 'sensor-data' does not match "
     "(^(?!_{2}))(^[a-zA-Z0-9_]+$) (datasetName): use only letters, digits and _"),
    ("six-triggers", _set("triggers", [_daily()] * 6),
     "$.triggers: 6 triggers, more than 5 (triggers: at most 5): keep at most 5 triggers"),
    ("trigger-both-types", _set("triggers", [{**_daily(), "dataset": {"name": "readings"}}]),
     "$.triggers[0]: Exactly one trigger type should be provided: "
     "give the trigger either a schedule or a dataset"),
    ("trigger-no-type", _set("triggers", [{}]),
     "$.triggers[0]: Exactly one trigger type should be provided: "
     "give the trigger either a schedule or a dataset"),
    ("schedule-no-expression", _set("triggers", [{"schedule": {}}]),
     "$.triggers[0].schedule: the schedule has no expression: "
     "add expression: cron(...) or rate(...), such as rate(1 day)"),
    ("schedule-syntax", _set("triggers", [{"schedule": {"expression": "every day"}}]),
     "$.triggers[0].schedule.expression: 'every day' is not a schedule expression: "
     "write cron(...) or rate(...)"),
    ("21-delivery-rules",
     _set("contentDeliveryRules", [{"destination": {"iotEventsDestinationConfiguration": {
         "inputName": "alerts", "roleArn": ROLE}}}] * 21),
     "$.contentDeliveryRules: 21 contentDeliveryRules, more than 20 (contentDeliveryRules: at "
     "most 20): deliver to fewer destinations"),
    ("destination-none", _set("contentDeliveryRules", [{"destination": {}}]),
     f"{D}: the destination has none of s3DestinationConfiguration, "
     "iotEventsDestinationConfiguration: give exactly one of s3DestinationConfiguration, "
     "iotEventsDestinationConfiguration"),
    ("bucket-uri", _s3(bucket="s3://plant-7"),
     f"{D}.s3DestinationConfiguration.bucket: 's3://plant-7' does not match "
     "^[a-zA-Z0-9.\\-_]*$ (bucket): give the bucket's name alone, without s3:// or a key"),
    ("bucket-short", _s3(bucket="ab"),
     f"{D}.s3DestinationConfiguration.bucket: 'ab' is 2 characters long, fewer than 3 "
     "(bucket 3..255 characters): lengthen it"),
    ("key-space", _s3(key="daily report.csv"),
     f"{D}.s3DestinationConfiguration.key: 'daily report.csv' does not match "
     "^[a-zA-Z0-9!_.*'()/{}:-]*$ (key): use letters, digits and !_.*'()/{}:- "
     "(such as !{iotanalytics:versionId})"),
    ("glue-table", _s3(glueConfiguration={"databaseName": "iot", "tableName": "t" * 151}),
     f"{D}.s3DestinationConfiguration.glueConfiguration.tableName: "
     "'ttttttttttttttttttttttttttttttttttttt...' is 151 characters long, more than 150 "
     "(tableName 1..150 characters): shorten it"),
    ("iot-events-input",
     _set("contentDeliveryRules", [{"destination": {"iotEventsDestinationConfiguration": {
         "inputName": "1alerts", "roleArn": ROLE}}}]),
     f"{D}.iotEventsDestinationConfiguration.inputName: '1alerts' does not match "
     "^[a-zA-Z][a-zA-Z0-9_]*$ (inputName): start with a letter; then letters, digits, _"),
    ("max-versions-high", _set("versioningConfiguration", {"maxVersions": 1001}),
     "$.versioningConfiguration.maxVersions: 1001 is more than 1000 (maxVersions 1..1000): "
     "use 1 to 1000"),
    ("max-versions-unlimited", _set("versioningConfiguration", {"maxVersions": 5,
                                                                "unlimited": True}),
     "$.versioningConfiguration: unlimited is true and maxVersions is 5: they exclude each "
     "other: drop maxVersions, or set unlimited to false"),
    ("retention-zero", _set("retentionPeriod", {"numberOfDays": 0}),
     "$.retentionPeriod.numberOfDays: 0 is less than 1 (numberOfDays 1 or more): use 1 or more"),
    ("retention-unlimited", _set("retentionPeriod", {"numberOfDays": 3, "unlimited": True}),
     "$.retentionPeriod: unlimited is true and numberOfDays is 3: they exclude each other: "
     "drop numberOfDays, or set unlimited to false"),
    ("late-data-empty", _set("lateDataRules", []),
     "$.lateDataRules: 0 lateDataRules, fewer than 1 (lateDataRules: exactly 1): add at least "
     "1, or leave lateDataRules out"),
    ("late-data-on-container",
     _set("lateDataRules", [{"ruleConfiguration": {}}]),
     "$.lateDataRules: lateDataRules need a queryAction with a deltaTime filter: "
     "add a deltaTime filter to the queryAction, or drop lateDataRules"),
    ("51-tags", _set("tags", [{"key": f"k{i}", "value": "v"} for i in range(51)]),
     "$.tags: 51 tags, more than 50 (tags: 1 to 50): drop some tags"),
    ("tags-empty", _set("tags", []),
     "$.tags: 0 tags, fewer than 1 (tags: 1 to 50): add at least 1, or leave tags out"),
    ("tag-key-long", _set("tags", [{"key": "k" * 257, "value": "v"}]),
     "$.tags[0].key: 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' is 257 characters long, more than "
     "256 (key 1..256 characters): shorten it"),
    ("tag-value", _set("tags", [{"key": "team", "value": ""}]),
     "$.tags[0].value: value is empty (value 1..256 characters): give it a value"),
    ("tag-twice", _set("tags", [{"key": "team", "value": "a"}, {"key": "team", "value": "b"}]),
     "$.tags[1].key: tag 'team' is given twice: keep one"),
]
# fmt: on


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in CONSTRAINTS], ids=[c[0] for c in CONSTRAINTS]
)
def test_each_documented_constraint(mutate: Mutation, expected: str) -> None:
    document = container()
    mutate(document)
    definition = definition_from_document(document)
    problems = check_definition("report.json", definition, check_schedule=schedule_checker)
    assert [str(p) for p in problems] == [f"report.json: {expected}"]


def _late_data_sql(timeout: int, rule_name: str = "late") -> Document:
    document = sql()
    document["actions"][0]["queryAction"]["filters"] = [
        {"deltaTime": {"offsetSeconds": -60, "timeExpression": "from_unixtime(ts)"}}
    ]
    window = {"deltaTimeSessionWindowConfiguration": {"timeoutInMinutes": timeout}}
    document["lateDataRules"] = [{"ruleName": rule_name, "ruleConfiguration": window}]
    return document


def test_sql_dataset_constraints() -> None:
    assert lines(_late_data_sql(15)) == []
    assert lines(_late_data_sql(61, "late-rule")) == [
        "readings.json: $.lateDataRules[0].ruleConfiguration.deltaTimeSessionWindowConfiguration"
        ".timeoutInMinutes: 61 is more than 60 (timeoutInMinutes 1..60): use 1 to 60",
        "readings.json: $.lateDataRules[0].ruleName: 'late-rule' does not match "
        "^[a-zA-Z0-9_]+$ (ruleName): use only letters, digits and _",
    ]
    document = _late_data_sql(15)
    query = document["actions"][0]["queryAction"]
    query["filters"] *= 2
    query["x-iota-source"] = {"file": "a.csv", "command": "./export-readings"}
    assert lines(document) == [
        "readings.json: $.actions[0].queryAction.filters: 2 filters, more than 1 (filters: at "
        "most 1): keep one deltaTime filter",
        "readings.json: $.actions[0].queryAction['x-iota-source']: x-iota-source has file and "
        "command: give exactly one of file, folder, command",
    ]


# --- the trigger rules, across a set -----------------------------------------------------------


def test_a_sql_dataset_cannot_be_triggered_by_a_dataset() -> None:
    document = sql("summary")
    document["triggers"] = [{"dataset": {"name": "readings"}}]
    assert lines(sql(), document) == [
        "summary.json: $.triggers[0].dataset: Triggering dataset can only be added on a "
        "container dataset: trigger this SQL dataset on a schedule, and let its content "
        "trigger containers"
    ]


def test_only_one_triggering_dataset() -> None:
    document = container(upstream="readings")
    document["triggers"] += [{"dataset": {"name": "other"}}]
    assert lines(sql(), sql("other"), document) == [
        "report.json: $.triggers[1].dataset: There can only be one triggering dataset: "
        "keep one dataset trigger"
    ]


def test_a_schedule_and_a_triggering_dataset_are_two_trigger_types() -> None:
    document = container(upstream="readings")
    document["triggers"].append(_daily())
    assert lines(sql(), document) == [
        "report.json: $.triggers: Exactly one trigger type should be provided: "
        "trigger it on schedules or on one dataset, not both"
    ]
    assert lines(sql(), container(upstream="readings")) == []


def test_a_container_dataset_cannot_trigger_one() -> None:
    assert lines(container("upstream"), container("report", upstream="upstream")) == [
        "report.json: $.triggers[0].dataset.name: The triggering dataset upstream cannot be "
        "triggered by a container dataset: trigger report on a SQL dataset, or on a schedule"
    ]


def test_a_sql_dataset_triggers_at_most_ten() -> None:
    dependents = [container(f"report_{i}", upstream="readings") for i in range(11)]
    problems = validate_definitions(
        [(f"{d['datasetName']}.json", definition_from_document(d)) for d in [sql(), *dependents]],
        check_schedule=schedule_checker,
    )
    assert [p.message for p in problems] == [
        "10 datasets are already dependent on readings dataset."
    ]
    assert str(problems[0]) == (
        "report_10.json: $.triggers[0].dataset.name: 10 datasets are already dependent on "
        "readings dataset: trigger report_10 on another SQL dataset, or on a schedule"
    )
    assert lines(sql(), *dependents[:10]) == []


def test_a_dataset_that_triggers_itself() -> None:
    assert lines(container("report", upstream="report")) == [
        "report.json: $.triggers[0].dataset.name: dataset 'report' triggers itself: "
        "trigger it on a schedule or on another dataset",
        "report.json: $.triggers[0].dataset.name: The triggering dataset report cannot be "
        "triggered by a container dataset: trigger report on a SQL dataset, or on a schedule",
    ]


def test_a_cycle_is_reported_once() -> None:
    first, second = container("a", upstream="c"), container("b", upstream="a")
    third = container("c", upstream="b")
    cycle = [line for line in lines(first, second, third) if "cycle" in line]
    assert cycle == [
        "a.json: $.triggers[0].dataset.name: dataset triggers form a cycle: a → b → c → a: "
        "break the cycle: trigger one of them on a schedule"
    ]


def test_names_must_be_defined_in_the_set() -> None:
    document = container(upstream="readings")
    _variables({"name": "history", "datasetContentVersionValue": {"datasetName": "archive"}})(
        document
    )
    assert lines(document) == [
        "report.json: $.triggers[0].dataset.name: triggering dataset 'readings' is not defined: "
        "add its definition to the set, or fix the name",
        "report.json: $.actions[0].containerAction.variables[0].datasetContentVersionValue"
        ".datasetName: dataset 'archive' is not defined: add its definition to the set, or fix "
        "the name",
    ]
    definition = definition_from_document(document)
    also = ["readings", "archive"]
    assert (
        validate_definitions(
            [("r.json", definition)], check_schedule=schedule_checker, also_defined=also
        )
        == []
    )


def test_a_dataset_outside_the_files_is_a_warning_for_validate(tmp_path: Path) -> None:
    document = container(upstream="readings")
    _variables({"name": "history", "datasetContentVersionValue": {"datasetName": "archive"}})(
        document
    )
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document))
    problems = validate_files([path], check_schedule=schedule_checker)
    assert [(p.severity, p.rule) for p in problems] == [
        ("warning", "trigger.defined"),
        ("warning", "datasetContentVersionValue.defined"),
    ]
    assert str(problems[0]) == (
        f"{path}: $.triggers[0].dataset.name: triggering dataset 'readings' is not defined in "
        "these files: fine if the account holds it; else add its definition, or fix the name"
    )
    # Where the set is all there is (the datasets registered here), they stay errors.
    definition = definition_from_document(document)
    errors = validate_definitions([(path, definition)], check_schedule=schedule_checker)
    assert [(p.severity, p.rule) for p in errors] == [
        ("error", "trigger.defined"),
        ("error", "datasetContentVersionValue.defined"),
    ]


def test_a_name_defined_twice() -> None:
    assert lines(sql(), sql()) == [
        "readings.json: $.datasetName: dataset 'readings' is also defined in readings.json: "
        "rename one: a dataset's name is unique in its account and region"
    ]


def test_files_that_do_not_load_are_reported_with_the_rest(tmp_path: Path) -> None:
    for name in ("sensor_readings.yaml", "sensor_report.json"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    readings = tmp_path / "sensor_readings.yaml"
    readings.write_text(readings.read_text().replace("timeoutInMinutes: 15", "timeoutInMinutes: x"))
    oversized = container("big")
    oversized["actions"][0]["containerAction"]["resourceConfiguration"]["volumeSizeInGB"] = 60
    (tmp_path / "big.json").write_text(json.dumps(oversized))
    assert [str(p) for p in validate_files([tmp_path], check_schedule=schedule_checker)] == [
        f"{tmp_path / 'big.json'}: $.actions[0].containerAction.resourceConfiguration"
        ".volumeSizeInGB: 60 is more than 50 (volumeSizeInGB 1..50): use 1 to 50 (GB); write "
        "larger outputs to S3 instead",
        # The report still names sensor_readings, which is not called undefined: its file
        # did not load, but it does define it.
        f"{readings}: $.lateDataRules[0].ruleConfiguration.deltaTimeSessionWindowConfiguration"
        f".timeoutInMinutes: 'x' is not a number: write plain decimal digits, such as 10 or 2.5 "
        "(no underscores, leading zeros or colons)",
    ]


def test_the_default_schedule_checker_is_the_schedule_module() -> None:
    pytest.importorskip("iota_container.schedule.expressions")
    document = container()
    document["triggers"] = [{"schedule": {"expression": "cron(0 12 * * ?)"}}]
    (problem,) = check_definition("r.json", definition_from_document(document))
    assert problem.json_path == "$.triggers[0].schedule.expression"
    assert problem.rule == "schedule.syntax" and "cron(0 12 * * ?)" in problem.message
    assert check_definition("r.json", load_definition(FIXTURES / "sensor_readings.yaml")) == []


# --- image metadata → definition ---------------------------------------------------------------


def test_to_variables_json_from_image_variables() -> None:
    variables = [
        variable_from_default("threshold", 27.5),
        variable_from_default("max_alerts", 3),
        variable_from_default("site", "plant-7"),
        variable_from_default("enabled", True),
        variable_from_default("sites", ["a", "b"]),
        variable_from_default("limits", {"t1": 30}),
        variable_from_default("custom_output", "s3://bucket/key/alerts.csv"),
        variable_from_default("report_path", "/tmp/report"),
        variable_from_default("source_dataset_content", ""),
        variable_from_default("unset", None),
    ]
    built = to_variables_json(variables, content_dataset_name="SOURCE_DATASET")
    assert built == [
        {"name": "threshold", "doubleValue": 27.5},
        {"name": "max_alerts", "doubleValue": 3.0},
        {"name": "site", "stringValue": "plant-7"},
        {"name": "enabled", "stringValue": "true"},
        {"name": "sites", "stringValue": '["a","b"]'},
        {"name": "limits", "stringValue": '{"t1":30}'},
        {"name": "custom_output", "outputFileUriValue": {"fileName": "custom_output.csv"}},
        {"name": "report_path", "outputFileUriValue": {"fileName": "report_path.out"}},
        {
            "name": "source_dataset_content",
            "datasetContentVersionValue": {"datasetName": "SOURCE_DATASET"},
        },
    ]
    document = container(variables=built)
    document["datasetName"] = "SOURCE_DATASET"  # a container may read its own last content
    assert lines(document) == []
