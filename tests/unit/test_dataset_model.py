"""Definitions checked against the service's own model: the shipped copies are the oracles'
(botocore's last iotanalytics model, cfn-lint's resource schema), every field of the
definition model has its shape, and the limits that differ follow the document's kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iota_container.definitions.model import (
    DatasetDefinition,
    definition_from_document,
    to_cloudformation_properties,
)
from iota_container.definitions.model_rules import ApiShape, SchemaNode, java_pattern, model_root
from iota_container.definitions.schema import specs_of
from iota_container.definitions.validate import check_definition
from tests.servers import require
from tests.support import SHARED

ORACLES = SHARED / "oracles" / "iotanalytics"
ROLE = "arn:aws:iam::123456789012:role/iotanalytics-container-role"


def oracle(name: str) -> Any:
    path = ORACLES / name
    require(
        path.is_file(),
        f"the IoT Analytics oracle {path} is missing: ../shared/oracles/iotanalytics/ should "
        "hold botocore's service-2.json and cfn-lint's cfn-dataset.schema.json",
    )
    return json.loads(path.read_text())


def test_the_shipped_api_shapes_are_the_models() -> None:
    from iota_container.definitions.service_model import API_VERSION, SHAPES

    model = oracle("service-2.json")
    assert model["metadata"]["apiVersion"] == API_VERSION

    def without_documentation(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: without_documentation(v) for k, v in node.items() if k != "documentation"}
        return node

    reachable: set[str] = set()
    stack = ["CreateDatasetRequest"]
    while stack:
        name = stack.pop()
        if name not in reachable:
            reachable.add(name)
            shape = model["shapes"][name]
            stack += [m["shape"] for m in shape.get("members", {}).values()]
            stack += [shape["member"]["shape"]] if "member" in shape else []
    assert {name: without_documentation(model["shapes"][name]) for name in reachable} == SHAPES


def test_the_shipped_resource_schema_is_cfn_lints() -> None:
    from iota_container.definitions.cloudformation_schema import DATASET_RESOURCE_SCHEMA

    assert oracle("cfn-dataset.schema.json") == DATASET_RESOURCE_SCHEMA


def _walk(cls: type[Any], api: ApiShape, cfn: SchemaNode, path: str) -> list[str]:
    """The fields of the definition model that have no shape in the API or the schema."""
    missing = []
    for spec in specs_of(cls):
        if spec.is_extension:
            continue
        api_member, cfn_member = api.member(spec.api), cfn.member(spec.cfn)
        if api_member is None or cfn_member is None:
            missing.append(f"{path}.{spec.api}")
            continue
        if isinstance(spec.kind, type):
            if spec.many:
                api_member, cfn_member = api_member.items(), cfn_member.items()
            missing += _walk(spec.kind, api_member, cfn_member, f"{path}.{spec.api}")
    return missing


def test_every_field_of_the_model_has_its_shape() -> None:
    api, cfn = model_root(cloudformation=False), model_root(cloudformation=True)
    assert isinstance(api, ApiShape) and isinstance(cfn, SchemaNode)
    assert _walk(DatasetDefinition, api, cfn, "$") == []


def _api_required(cls: type[Any], shape: ApiShape, path: str) -> list[str]:
    """Members the API requires that the definition model lets a document leave out."""
    optional = []
    for spec in specs_of(cls):
        member = shape.member(spec.api)
        if member is None:
            continue
        if spec.api in shape.required and not spec.required:
            optional.append(f"{path}.{spec.api}")
        if isinstance(spec.kind, type):
            member = member.items() if spec.many else member
            optional += _api_required(spec.kind, member, f"{path}.{spec.api}")
    return optional


def test_what_the_api_requires_the_reader_requires() -> None:
    assert _api_required(DatasetDefinition, ApiShape("CreateDatasetRequest"), "$") == []


def container(**top: Any) -> dict[str, Any]:
    action = {
        "actionName": "run",
        "containerAction": {
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/report:1.0",
            "executionRoleArn": ROLE,
            "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 10},
        },
    }
    return {"datasetName": "report", "actions": [action], **top}


def lines(document: dict[str, Any]) -> list[str]:
    definition = definition_from_document(document, file="d")
    return [str(p) for p in check_definition("d", definition)]


def as_resource(document: dict[str, Any]) -> dict[str, Any]:
    properties = to_cloudformation_properties(definition_from_document(document))
    return {"Type": "AWS::IoTAnalytics::Dataset", "Properties": properties}


def test_templates_follow_the_resource_schema_where_it_differs() -> None:
    long_key = container(tags=[{"key": "k" * 129, "value": "v"}])
    assert lines(long_key) == []  # the API: 1..256
    assert lines(as_resource(long_key)) == [
        "d: $.Properties.Tags[0].Key: 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' is 129 "
        "characters long, more than 128 (key 1..128 characters): shorten it"
    ]
    days = container(retentionPeriod={"numberOfDays": 2147483647})
    assert lines(days) == [] and lines(as_resource(days)) == []
    no_action_name = as_resource(container())
    del no_action_name["Properties"]["Actions"][0]["ActionName"]
    assert lines(no_action_name) == [
        "d: $.Properties.Actions[0].ActionName: ActionName is missing: add it"
    ]
    api_document = container()
    del api_document["actions"][0]["actionName"]
    assert lines(api_document) == []  # optional in the API


def test_a_template_schedule_needs_its_expression_once() -> None:
    document = as_resource(container())
    document["Properties"]["Triggers"] = [{"Schedule": {}}]
    assert lines(document) == [
        "d: $.Properties.Triggers[0].Schedule.ScheduleExpression: ScheduleExpression is "
        "missing: add it"
    ]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (
            "1" + "0" * 400,
            "is outside the API's integer range (-2147483648..2147483647): write a smaller number",
        ),
        (str(2**31), "is outside the API's integer range (-2147483648..2147483647)"),
        ("1e400", "is not a finite number: write a finite number"),
    ],
)
def test_a_huge_volume_size_is_one_line_not_an_overflow(number: str, message: str) -> None:
    text = json.dumps(container()).replace('"volumeSizeInGB": 10', f'"volumeSizeInGB": {number}')
    from iota_container.definitions.model import parse_definition
    from iota_container.definitions.problems import DefinitionError

    for syntax in ("json", "yaml"):  # YAML reads the same text: JSON is YAML
        with pytest.raises(DefinitionError) as raised:
            parse_definition(text, file="d", syntax=syntax)
        (problem,) = raised.value.problems
        assert (
            problem.json_path == "$.actions[0].containerAction.resourceConfiguration.volumeSizeInGB"
        )
        assert message in str(problem) and "\n" not in str(problem)
        assert len(str(problem)) < 300


def test_a_huge_double_value_is_one_line_not_an_overflow() -> None:
    document = container()
    document["actions"][0]["containerAction"]["variables"] = [{"name": "x", "doubleValue": 1}]
    text = json.dumps(document).replace('"doubleValue": 1', '"doubleValue": ' + "9" * 400)
    from iota_container.definitions.model import parse_definition
    from iota_container.definitions.problems import DefinitionError

    with pytest.raises(DefinitionError) as raised:
        parse_definition(text, file="d.json")
    (problem,) = raised.value.problems
    assert problem.json_path.endswith("variables[0].doubleValue")
    assert "is not a finite number of the API's range (a double)" in problem.message


def test_a_variable_name_follows_the_model_not_python() -> None:
    document = container()
    variables: list[dict[str, Any]] = [
        {"name": "max-alerts", "doubleValue": 1},
        {"name": "1st", "stringValue": "a"},
    ]
    document["actions"][0]["containerAction"]["variables"] = variables
    definition = definition_from_document(document)
    assert check_definition("d", definition) == []
    warnings = check_definition("d", definition, warnings=True)
    assert [(p.severity, p.rule) for p in warnings] == [("warning", "variables.identifier")] * 2
    assert str(warnings[0]) == (
        "d: $.actions[0].containerAction.variables[0].name: variable 'max-alerts' is not a "
        "Python name, so it is not injected: the notebook reads it with "
        "iota_container.params(); rename it to inject it"
    )
    variables[0]["name"] = "n" * 257
    assert lines(document) == [
        "d: $.actions[0].containerAction.variables[0].name: "
        "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is 257 characters long, more than 256 "
        "(name 1..256 characters): shorten it"
    ]


def test_java_patterns_read_as_the_service_read_them() -> None:
    glue = java_pattern(ApiShape("GlueTableName").shape["pattern"])
    assert glue.fullmatch("readings table\t2024 ✓ 🌡")  # a code point above U+FFFF
    assert not glue.fullmatch("bad\x01name")
    file_name = java_pattern(ApiShape("OutputFileName").shape["pattern"])
    assert file_name.fullmatch("alerts_2024.csv") and not file_name.fullmatch("ålerts.csv")
    document = container()
    s3: dict[str, Any] = {"bucket": "plant-7", "key": "k", "roleArn": ROLE}
    s3["glueConfiguration"] = {"databaseName": "iot", "tableName": "bad\x01name"}
    document["contentDeliveryRules"] = [{"destination": {"s3DestinationConfiguration": s3}}]
    (line,) = lines(document)
    assert ".glueConfiguration.tableName: 'bad\\x01name' does not match" in line


def test_a_list_given_empty_is_not_a_list_left_out() -> None:
    assert definition_from_document(container()).tags is None
    assert lines(container(tags=[])) == [
        "d: $.tags: 0 tags, fewer than 1 (tags: 1 to 50): add at least 1, or leave tags out"
    ]
