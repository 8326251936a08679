from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from iota_container.definitions.model import (
    DatasetDefinition,
    definition_from_document,
    load_definition,
    parse_definition,
    to_cloudformation_properties,
    to_create_dataset_request,
)
from iota_container.definitions.problems import DefinitionError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "datasets"
FIXTURE_FILES = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".json", ".yaml"))

CONTAINER: dict[str, Any] = {
    "datasetName": "report",
    "actions": [
        {
            "actionName": "run",
            "containerAction": {
                "image": "registry.example.com/report:1.0",
                "executionRoleArn": "arn:aws:iam::123456789012:role/iota",
                "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 10},
            },
        }
    ],
}


def problems(text: str, file: str = "def.yaml") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, file=file)
    return [str(p) for p in caught.value.problems]


def problems_of(document: Any) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        definition_from_document(document, file="def.json")
    return [str(p) for p in caught.value.problems]


def container(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(CONTAINER)
    document["actions"][0]["containerAction"].update(changes)
    return document


YAML_CONTAINER = """\
datasetName: report
actions:
  - containerAction:
      image: registry.example.com/report:1.0
      executionRoleArn: arn:aws:iam::123456789012:role/iota
      resourceConfiguration: {computeType: ACU_1, volumeSizeInGB: VOLUME}
"""


# --- the fixtures: CLI input JSON, YAML, CloudFormation --------------------------------------


def test_cli_input_json_loads_every_field() -> None:
    d = load_definition(FIXTURES / "sensor_report.json")
    action = d.container_action
    assert action is not None and d.is_container
    assert d.dataset_name == "sensor_report"
    assert action.resource_configuration.volume_size_in_gb == 2
    kinds = {v.name: v for v in action.variables}
    assert kinds["threshold"].double_value == 27.5
    assert kinds["sensors"].string_value == '["t1","t2","t3"]'
    dcv = kinds["readings"].dataset_content_version_value
    assert dcv is not None and dcv.dataset_name == "sensor_readings"
    ofu = kinds["alerts_output"].output_file_uri_value
    assert ofu is not None and ofu.file_name == "alerts.csv"
    assert d.triggering_datasets == ("sensor_readings",)
    s3 = d.content_delivery_rules[0].destination.s3
    assert s3 is not None and s3.bucket == "plant-7-analytics"
    assert d.versioning_configuration is not None
    assert d.versioning_configuration.max_versions == 30
    assert [(t.key, t.value) for t in d.tags or ()] == [
        ("team", "reliability"),
        ("cost-center", "4711"),
    ]
    assert d.origin is not None and not d.origin.cloudformation


def test_sql_dataset_in_yaml_with_its_local_source() -> None:
    d = load_definition(FIXTURES / "sensor_readings.yaml")
    query = d.query_action
    assert query is not None and not d.is_container
    assert query.sql_query.startswith("SELECT device_id")
    assert query.local_source is not None and query.local_source.file == "sensor_readings.csv"
    assert query.filters[0].delta_time is not None
    assert query.filters[0].delta_time.offset_seconds == -60
    assert d.schedule_expressions == ("cron(0 * * * ? *)",)
    assert d.late_data_rules is not None
    assert d.late_data_rules[0].rule_configuration.delta_time_session_window is not None
    assert d.retention_period is not None and d.retention_period.unlimited is False


def test_cloudformation_resource_in_yaml() -> None:
    d = load_definition(FIXTURES / "daily_summary.cfn.yaml")
    action = d.container_action
    assert action is not None
    assert action.image.endswith("daily-summary:1.10")  # the tag stays "1.10"
    assert [v.name for v in action.variables][:2] == ["report_date_format", "include_weekends"]
    assert action.variables[1].string_value == "yes"
    assert d.schedule_expressions == ("cron(30 6 * * ? *)",)
    iot_events = d.content_delivery_rules[0].destination.iot_events
    assert iot_events is not None and iot_events.input_name == "daily_summary_input"
    assert d.origin is not None and d.origin.cloudformation and d.origin.root == "$.Properties"


def test_cloudformation_properties_in_json() -> None:
    d = load_definition(FIXTURES / "hourly_alerts.properties.json")
    action = d.container_action
    assert action is not None
    assert action.variables[0].double_value == 25.0
    assert d.triggering_datasets == ("sensor_readings",)
    assert d.retention_period is not None and d.retention_period.unlimited is True
    assert d.origin is not None and d.origin.cloudformation and d.origin.root == "$"


def test_cloudformation_template_with_one_dataset() -> None:
    properties = to_cloudformation_properties(definition_from_document(CONTAINER))
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Report": {"Type": "AWS::IoTAnalytics::Dataset", "Properties": properties},
        },
    }
    d = definition_from_document(template)
    assert d == definition_from_document(CONTAINER)
    assert d.origin is not None and d.origin.root == "$.Resources.Report.Properties"


def test_cloudformation_shapes_that_are_not_one_dataset() -> None:
    resource = {"Type": "AWS::IoTAnalytics::Dataset", "Properties": {}}
    two = {"Resources": {"A": resource, "B": resource}}
    assert problems_of(two) == [
        "def.json: $.Resources: the template has 2 AWS::IoTAnalytics::Dataset resources, "
        "not 1: give each dataset a document of its own, or read them all (load_definitions)"
    ]
    assert problems_of({"Type": "AWS::IoTAnalytics::Channel", "Properties": {}}) == [
        "def.json: $.Type: resource type 'AWS::IoTAnalytics::Channel' is not "
        "AWS::IoTAnalytics::Dataset: give the dataset's resource"
    ]
    assert problems_of({"Resources": {"Role": {"Type": "AWS::IAM::Role"}}}) == [
        "def.json: $.Resources: the template has no AWS::IoTAnalytics::Dataset resource: "
        "add the dataset's resource"
    ]


def test_cloudformation_functions_are_named_where_they_are_used() -> None:
    text = YAML_CONTAINER.replace("VOLUME", "!Ref VolumeSize")
    assert problems(text) == [
        "def.yaml: $.actions[0].containerAction.resourceConfiguration.volumeSizeInGB: "
        "CloudFormation function Ref 'VolumeSize' cannot be resolved here: write the value it "
        "stands for (a Ref to a parameter needs its Default)"
    ]
    document = container(image={"Fn::Sub": "${AWS::AccountId}.dkr.ecr/report:1"})
    assert problems_of(document) == [
        "def.json: $.actions[0].containerAction.image: CloudFormation function Fn::Sub "
        "'${AWS::AccountId}.dkr.ecr/report:1' cannot be resolved here: write the value it "
        "stands for (a Ref to a parameter needs its Default)"
    ]
    assert problems(YAML_CONTAINER.replace("VOLUME", "!Bogus 3")) == [
        "def.yaml: $: !Bogus is not a CloudFormation function at line 6, column 67: use !Ref, "
        "!Sub, !GetAtt or another intrinsic function, or write the value"
    ]


# --- YAML that would turn strings into dates, numbers or booleans -----------------------------


def test_yaml_scalars_stay_the_text_written() -> None:
    d = load_definition(FIXTURES / "nightly_export.yaml")
    assert d.dataset_name == "20240101"
    assert d.actions[0].action_name == "0123"
    action = d.container_action
    assert action is not None
    assert action.image == "registry.example.com/analytics/nightly-export:1.10"
    values = {v.name: v.string_value for v in action.variables if v.string_value is not None}
    assert values == {
        "enabled": "on",
        "verbose": "yes",
        "start_date": "2024-01-01",
        "window": "1:30",
        "batch_size": "1_000",
        "model_version": "1.10",
        "zip_code": "01234",
    }
    assert action.variables[-1].double_value == 0.5


@pytest.mark.parametrize(
    ("name", "expected"),
    [("2024-01-01", "2024-01-01"), ("1.10", "1.10"), ("yes", "yes"), ("~x", "~x"), ("1e3", "1e3")],
)
def test_an_unquoted_dataset_name_is_a_string(name: str, expected: str) -> None:
    text = YAML_CONTAINER.replace("datasetName: report", f"datasetName: {name}")
    assert parse_definition(text.replace("VOLUME", "1")).dataset_name == expected


@pytest.mark.parametrize(
    ("written", "value"), [("10", 10), ("10.0", 10), ("-0", 0), ("1e1", 10), ('!!int "7"', 7)]
)
def test_numeric_fields_read_unquoted_numbers(written: str, value: int) -> None:
    d = parse_definition(YAML_CONTAINER.replace("VOLUME", written))
    assert d.container_action is not None
    size = d.container_action.resource_configuration.volume_size_in_gb
    assert size == value and type(size) is int


SIZE_PATH = "def.yaml: $.actions[0].containerAction.resourceConfiguration.volumeSizeInGB"
NOT_A_NUMBER_FIX = (
    "write plain decimal digits, such as 10 or 2.5 (no underscores, leading zeros or colons)"
)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"10"', "'10' is a string, not a number: remove the quotes"),
        ("'ten'", "'ten' is a string, not a number: write a number"),
        ("010", f"'010' is not a number: {NOT_A_NUMBER_FIX}"),
        ("1_0", f"'1_0' is not a number: {NOT_A_NUMBER_FIX}"),
        ("1:30", f"'1:30' is not a number: {NOT_A_NUMBER_FIX}"),
        (".inf", f"'.inf' is not a number: {NOT_A_NUMBER_FIX}"),
        ("10.5", "10.5 is not a whole number: write a whole number"),
        ("[10]", "[...] is a list, not a number: write a number"),
        ("2024-01-01", f"'2024-01-01' is not a number: {NOT_A_NUMBER_FIX}"),
    ],
)
def test_numeric_fields_refuse_what_is_not_a_number(written: str, message: str) -> None:
    assert problems(YAML_CONTAINER.replace("VOLUME", written)) == [f"{SIZE_PATH}: {message}"]


def test_booleans_are_true_or_false_only() -> None:
    text = YAML_CONTAINER.replace("VOLUME", "1") + "versioningConfiguration: {unlimited: yes}\n"
    assert problems(text) == [
        "def.yaml: $.versioningConfiguration.unlimited: 'yes' is not a boolean: write true or false"
    ]
    text = text.replace("yes", '"true"')
    assert problems(text) == [
        "def.yaml: $.versioningConfiguration.unlimited: 'true' is a string, not a boolean: "
        "remove the quotes: true"
    ]
    text = text.replace('"true"', "True")
    versioning = parse_definition(text).versioning_configuration
    assert versioning is not None and versioning.unlimited is True


def test_json_types_are_checked_both_ways() -> None:
    variables = [{"name": "t", "doubleValue": "27.5"}, {"name": "f", "doubleValue": True}]
    document = container(variables=variables, image=["a"])
    document["datasetName"] = 2024
    document["actions"][0]["actionName"] = False
    assert problems_of(document) == [
        'def.json: $.datasetName: 2024 is a number, not a string: write it in quotes: "2024"',
        "def.json: $.actions[0].actionName: false is a boolean, not a string: write it in quotes: "
        '"false"',
        "def.json: $.actions[0].containerAction.image: [...] is a list, not a string: "
        "write a string here",
        "def.json: $.actions[0].containerAction.variables[0].doubleValue: '27.5' is a string, "
        "not a number: remove the quotes",
        "def.json: $.actions[0].containerAction.variables[1].doubleValue: true is a boolean, "
        "not a number: write a number",
    ]


def test_json_refuses_nan_and_infinity() -> None:
    text = json.dumps(container(variables=[{"name": "t", "doubleValue": 1}])).replace("1}", "NaN}")
    assert problems(text, file="def.json") == [
        "def.json: $: not valid JSON (NaN is not a JSON number): fix the syntax"
    ]


def test_yaml_anchors_and_merge_keys_work() -> None:
    text = """\
datasetName: report
actions:
  - containerAction:
      <<: &container
        image: registry.example.com/report:1.0
        executionRoleArn: arn:aws:iam::123456789012:role/iota
      resourceConfiguration: {computeType: ACU_1, volumeSizeInGB: 1}
"""
    action = parse_definition(text).container_action
    assert action is not None and action.image == "registry.example.com/report:1.0"


# --- unknown, missing and repeated fields ------------------------------------------------------


def test_unknown_fields_name_their_path_and_a_guess() -> None:
    document = container(imag="x", variables=[{"Name": "a", "stringValue": "b"}])
    del document["actions"][0]["containerAction"]["image"]
    document["triggers"] = [{"schedule": {"scheduleExpression": "rate(1 day)"}}]
    document["retention"] = {"numberOfDays": 3}
    assert problems_of(document) == [
        "def.json: $.actions[0].containerAction.imag: unknown field 'imag': did you mean 'image'?",
        "def.json: $.actions[0].containerAction.variables[0].Name: unknown field 'Name': "
        "did you mean 'name'?",
        "def.json: $.triggers[0].schedule.scheduleExpression: unknown field 'scheduleExpression': "
        "did you mean 'expression'?",
        "def.json: $.retention: unknown field 'retention': did you mean 'retentionPeriod'?",
    ]


def test_unknown_field_without_a_guess_lists_the_known_ones() -> None:
    resources = {"computeType": "ACU_1", "volumeSizeInGB": 1, "gpu": True}
    document = container(resourceConfiguration=resources)
    assert problems_of(document) == [
        "def.json: $.actions[0].containerAction.resourceConfiguration.gpu: unknown field 'gpu': "
        "remove it (known: computeType, volumeSizeInGB)"
    ]


def test_cloudformation_documents_get_cloudformation_guesses() -> None:
    properties = to_cloudformation_properties(definition_from_document(CONTAINER))
    properties["Triggers"] = [{"Dataset": {"Name": "upstream"}}]
    assert problems_of(properties) == [
        "def.json: $.Triggers[0].Dataset: unknown field 'Dataset': "
        "did you mean 'TriggeringDataset'?"
    ]


def test_missing_and_null_required_fields() -> None:
    document = container(resourceConfiguration={"computeType": None})
    del document["datasetName"]
    assert problems_of(document) == [
        "def.json: $.actions[0].containerAction.resourceConfiguration.computeType: computeType is "
        "null: give it a value: a string",
        "def.json: $.actions[0].containerAction.resourceConfiguration.volumeSizeInGB: "
        "volumeSizeInGB is missing: add it: an integer",
        "def.json: $.datasetName: datasetName is missing: add it: a string",
    ]


def test_wrong_containers() -> None:
    assert problems_of({"datasetName": "x", "actions": {"containerAction": {}}}) == [
        "def.json: $.actions: {...} is an object, not a list: write a list ([...]) here"
    ]
    assert problems_of(["not", "an", "object"]) == [
        "def.json: $: the document is a list, not an object: write one dataset definition: "
        "an object with datasetName and actions"
    ]
    assert problems("", file="empty.yaml") == [
        "empty.yaml: $: the document is empty, not an object: write one dataset definition: "
        "an object with datasetName and actions"
    ]


def test_keys_given_twice_are_reported_in_json_and_yaml() -> None:
    text = '{"datasetName": "a", "datasetName": "b", "actions": []}'
    assert problems(text, file="def.json") == [
        "def.json: $.datasetName: 'datasetName' is given twice: keep one (JSON and YAML readers "
        "silently keep the last)"
    ]
    assert problems("datasetName: a\ndatasetName: b\nactions: []\n") == [
        "def.yaml: $.datasetName: 'datasetName' is given twice: keep one (JSON and YAML readers "
        "silently keep the last)"
    ]


def test_syntax_errors_give_line_and_column() -> None:
    assert problems('{"datasetName": "a" "actions": []}', file="def.json") == [
        "def.json: $: not valid JSON at line 1, column 21 (Expecting ',' delimiter): fix the syntax"
    ]
    assert problems("datasetName: [a\n") == [
        "def.yaml: $: not valid YAML at line 2, column 1 (expected ',' or ']', but got "
        "'<stream end>'): fix the syntax"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(DefinitionError) as caught:
        load_definition(missing)
    assert str(caught.value) == (
        f"{missing}: $: cannot be read (No such file or directory): give the path of a "
        "readable UTF-8 JSON or YAML file"
    )


def test_the_error_keeps_the_name_it_could_read() -> None:
    with pytest.raises(DefinitionError) as caught:
        definition_from_document(container(image=None, executionRoleArn=None))
    assert caught.value.dataset_name == "report"
    assert str(caught.value).endswith("(and 1 more problem)")


# --- export and round trips --------------------------------------------------------------------


def without_extensions(d: DatasetDefinition) -> DatasetDefinition:
    actions = tuple(
        dataclasses.replace(a, query_action=dataclasses.replace(a.query_action, local_source=None))
        if a.query_action
        else a
        for a in d.actions
    )
    return dataclasses.replace(d, actions=actions)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_every_fixture_round_trips(path: Path) -> None:
    d = load_definition(path)
    assert definition_from_document(json.loads(json.dumps(d.to_json()))) == d
    request = json.loads(json.dumps(to_create_dataset_request(d)))
    assert "x-iota-source" not in json.dumps(request)  # the service would refuse it
    assert definition_from_document(request) == without_extensions(d)
    assert definition_from_document(to_cloudformation_properties(d)) == without_extensions(d)
    assert parse_definition(json.dumps(request), file="export.json") == without_extensions(d)


def test_export_of_cli_input_json_is_the_file_itself() -> None:
    path = FIXTURES / "sensor_report.json"
    document = json.loads(path.read_text())
    assert to_create_dataset_request(load_definition(path)) == document


def test_export_of_cloudformation_is_its_properties() -> None:
    d = load_definition(FIXTURES / "hourly_alerts.properties.json")
    document = json.loads((FIXTURES / "hourly_alerts.properties.json").read_text())
    assert to_cloudformation_properties(d) == document
    request = to_create_dataset_request(d)
    assert request["triggers"] == [{"dataset": {"name": "sensor_readings"}}]
    assert request["actions"][0]["containerAction"]["variables"][0] == {
        "name": "max_alerts",
        "doubleValue": 25.0,
    }


def test_yaml_strings_export_as_json_strings() -> None:
    request = to_create_dataset_request(load_definition(FIXTURES / "nightly_export.yaml"))
    text = json.dumps(request)
    assert '"datasetName": "20240101"' in text
    assert '{"name": "zip_code", "stringValue": "01234"}' in text


def test_the_model_is_immutable() -> None:
    d = load_definition(FIXTURES / "sensor_report.json")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.dataset_name = "other"  # type: ignore[misc]
    assert isinstance(d.actions, tuple) and isinstance(d.tags, tuple)
    assert load_definition(FIXTURES / "nightly_export.yaml").tags is None  # left out
    assert hash(d) == hash(load_definition(FIXTURES / "sensor_report.json"))


# --- bounded reading: size, depth, YAML aliases -------------------------------------------------


def test_a_huge_definition_file_is_refused_after_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(106 * 1_000_000)  # sparse: nothing held in memory to write it
    with pytest.raises(DefinitionError) as raised:
        load_definition(path)
    assert str(raised.value) == (
        f"{path}: $: dataset definition {str(path)!r} is larger than 4 MiB: that is not a "
        "dataset definition; check the path"
    )


def test_a_yaml_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    assert problems("\n".join(lines)) == [
        "def.yaml: $: dataset definition 'def.yaml' expands to more than 200,000 values (YAML "
        "aliases): write the values out, or use fewer aliases"
    ]


@pytest.mark.parametrize(
    ("file", "depth"),
    [("def.json", 65), ("def.json", 200_000), ("def.yaml", 65), ("def.yaml", 5_000)],
)
def test_deep_nesting_is_one_problem_not_a_recursion_error(file: str, depth: int) -> None:
    text = '{"datasetName": ' + "[" * depth + "]" * depth + "}"
    assert problems(text, file=file) == [
        f"{file}: $: dataset definition {file!r} is nested deeper than 64 levels: flatten it"
    ]
