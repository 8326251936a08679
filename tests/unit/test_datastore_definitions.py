"""Data store definitions: CreateDatastore requests and CloudFormation templates read,
checked against the service's shapes, and registered through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iota_container.datastore.definition import read_datastore_file
from iota_container.datastore.service_shapes import CREATE_DATASTORE_REQUEST, SHAPES
from iota_container.definitions.problems import DefinitionError
from tests.datastores import (
    ORACLES,
    create_datastore,
    customer_managed,
    datastore_template,
    write_json,
)
from tests.servers import require
from tests.support import run_cli


def oracle(name: str) -> dict[str, Any]:
    path = ORACLES / name
    require(path.is_file(), f"the IoT Analytics oracle {path} is absent")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_the_shipped_shapes_are_the_service_models() -> None:
    shapes = oracle("service-2.json")["shapes"]
    reachable, pending = set(), [CREATE_DATASTORE_REQUEST]
    while pending:
        name = pending.pop()
        if name in reachable:
            continue
        reachable.add(name)
        shape = shapes[name]
        pending += [m["shape"] for m in shape.get("members", {}).values()]
        pending += [shape["member"]["shape"]] if "member" in shape else []
    assert set(SHAPES) == reachable
    for name in reachable:
        expected = {k: v for k, v in shapes[name].items() if k != "documentation"}
        if "members" in expected:
            expected["members"] = {k: {"shape": v["shape"]} for k, v in expected["members"].items()}
        assert SHAPES[name] == expected, name


def test_the_fixtures_are_what_the_service_and_cloudformation_accepted() -> None:
    import jsonschema  # type: ignore[import-untyped]

    schema = oracle("cfn-datastore.schema.json")
    for resource in datastore_template()["Resources"].values():
        if resource["Type"] == "AWS::IoTAnalytics::Datastore":
            properties = dict(resource["Properties"])
            properties.pop("DatastoreName", None)  # a Ref: resolved by the reader
            jsonschema.validate(properties, schema)


def test_a_cli_json_request_reads_as_the_model(tmp_path: Path) -> None:
    request = create_datastore("plant", datastoreStorage=customer_managed("my-bucket"))
    request["datastorePartitions"] = {
        "partitions": [
            {"attributePartition": {"attributeName": "site"}},
            {"timestampPartition": {"attributeName": "ts", "timestampFormat": "yyyy-MM-dd"}},
        ]
    }
    found = read_datastore_file(write_json(tmp_path / "store.json", request))
    (definition,) = found.definitions
    assert definition.datastore_name == "plant"
    assert definition.datastore_storage and definition.datastore_storage.customer_managed_s3
    assert definition.to_json() == request


def test_a_template_reads_its_datastores_and_says_what_is_not_run(tmp_path: Path) -> None:
    found = read_datastore_file(write_json(tmp_path / "template.json", datastore_template()))
    names = [d.datastore_name for d in found.definitions]
    assert names == ["plant_readings", "Alarms"]  # a Ref's default; a logical ID
    assert [d.is_parquet for d in found.definitions] == [False, True]
    (note,) = found.notes
    assert "not run here: channel Channel, pipeline Pipeline" in note


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"datastoreName": "__x"}, "$.datastoreName", "does not match"),
        ({"datastoreNmae": "x"}, "$.datastoreNmae", "did you mean 'datastoreName'"),
        (
            {
                "datastoreStorage": {
                    "customerManagedS3": {
                        "bucket": "b-1",
                        "roleArn": "r" * 20,
                        "keyPrefix": "no-slash",
                    }
                }
            },
            "$.datastoreStorage.customerManagedS3.keyPrefix",
            "end it with /",
        ),
        (
            {"fileFormatConfiguration": {"jsonConfiguration": {}, "parquetConfiguration": {}}},
            "$.fileFormatConfiguration",
            "one format",
        ),
    ],
)
def test_a_malformed_request_is_refused_with_its_path(
    tmp_path: Path,
    change: dict[str, Any],
    path: str,
    words: str,
) -> None:
    request = create_datastore("plant") | change
    if "datastoreNmae" in change:
        del request["datastoreName"]
    with pytest.raises(DefinitionError) as refused:
        read_datastore_file(write_json(tmp_path / "bad.json", request))
    assert any(p.json_path == path and words in str(p) for p in refused.value.problems), [
        str(p) for p in refused.value.problems
    ]


def test_register_list_from_file_template_and_flags(tmp_path: Path) -> None:
    env = {"IOTA_HOME": str(tmp_path / "home")}
    store = write_json(tmp_path / "store.json", create_datastore("plant"))
    template = write_json(tmp_path / "template.json", datastore_template())
    first = run_cli("datastore", "register", str(store), env=env)
    assert first.returncode == 0, first.stderr
    second = run_cli("datastore", "register", str(template), env=env)
    assert second.returncode == 0, second.stderr
    assert "not run here: channel Channel, pipeline Pipeline" in second.stderr
    exported = tmp_path / "export"
    third = run_cli(
        "datastore",
        "register",
        "legacy",
        "--location",
        str(exported),
        "--format",
        "parquet",
        "--json",
        env=env,
    )
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)[0]["location"] == str(exported)

    listed = run_cli("datastore", "list", "--json", env=env)
    stores = {s["name"]: s for s in json.loads(listed.stdout)}
    assert set(stores) == {"plant", "plant_readings", "Alarms", "legacy"}
    home = tmp_path / "home"
    assert stores["plant"]["location"] == str(home / "datastores/plant/datastore/plant")
    assert stores["plant_readings"]["partitions"] == ["__dt", "site"]
    assert [stores[n]["format"] for n in ("plant", "Alarms", "legacy")] == [
        "json",
        "parquet",
        "parquet",
    ]


def test_bad_registrations_are_one_line_with_exit_2(tmp_path: Path) -> None:
    env = {"IOTA_HOME": str(tmp_path / "home")}
    broken = tmp_path / "broken.json"
    broken.write_text('{"datastoreName": "x",')
    for args in (
        [str(broken)],
        ["x", "--location", str(tmp_path)],
        ["bad-name", "--location", str(tmp_path), "--format", "json"],
        [str(write_json(tmp_path / "n.json", {"datastoreName": "x", "tags": "t"}))],
    ):
        result = run_cli("datastore", "register", *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
