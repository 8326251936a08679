"""`dataset new` and containerize build a definition once as a typed model, dump it once
into its file, and register it as built (the file is not read back)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import iota_container.engine.state_store as state_store_module
from iota_container.definitions.new import (
    NewDataset,
    new_definition,
    with_image,
    write_and_register,
)
from iota_container.definitions.problems import DefinitionError
from iota_container.engine.state_store import StateStore
from iota_container.errors import IotaError
from iota_container.variables import variable_from_default


def _spec(**fields: object) -> NewDataset:
    values: dict[str, object] = {
        "name": "temp_daily",
        "image": "localhost:5000/team/temp:v1",
        "variables": [
            variable_from_default("rows", 3),
            variable_from_default("sites", ["north"]),
            variable_from_default("out_path", "s3://b/k/alerts.csv"),
            variable_from_default("unset", None),
        ],
        "notebook": "temp.ipynb",
        "schedule": "rate(1 hour)",
        "role_arn": "arn:aws:iam::123456789012:role/r",
        "max_versions": 3,
        **fields,
    }
    return NewDataset(**values)  # type: ignore[arg-type]


def test_the_definition_dumps_as_a_create_dataset_request() -> None:
    definition = new_definition(_spec(), "temp.yaml")
    assert definition.to_json() == {
        "datasetName": "temp_daily",
        "actions": [
            {
                "actionName": "temp_daily_action",
                "containerAction": {
                    "image": "localhost:5000/team/temp:v1",
                    "executionRoleArn": "arn:aws:iam::123456789012:role/r",
                    "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 2},
                    "variables": [
                        {"name": "rows", "doubleValue": 3.0},
                        {"name": "sites", "stringValue": '["north"]'},
                        {"name": "out_path", "outputFileUriValue": {"fileName": "out_path.csv"}},
                    ],
                    "x-iota-notebook": "temp.ipynb",
                },
            }
        ],
        "triggers": [{"schedule": {"expression": "rate(1 hour)"}}],
        "versioningConfiguration": {"maxVersions": 3},
    }


def test_the_rules_of_dataset_validate_apply() -> None:
    with pytest.raises(DefinitionError) as refused:
        new_definition(_spec(schedule="cron(0 99 * * ? *)", volume_size_gb=99), "t.yaml")
    paths = {problem.json_path for problem in refused.value.problems}
    assert "$.triggers[0].schedule.expression" in paths
    with pytest.raises(IotaError, match="not both"):
        new_definition(_spec(triggered_by="readings"), "t.yaml")
    with pytest.raises(DefinitionError):
        with_image(new_definition(_spec(), "t.yaml"), "Not A Reference " * 30)


def test_registered_as_built_without_reading_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = with_image(
        new_definition(_spec(), "t.yaml"), "localhost:5000/t@sha256:" + "a" * 64
    )

    def refuse(path: object) -> None:
        raise AssertionError(f"{path} was read back")

    monkeypatch.setattr(state_store_module, "load_definition", refuse)
    path = tmp_path / "defs" / "temp.yaml"
    with StateStore.open(str(tmp_path / "home")) as store:
        registered = write_and_register(definition, path, store)
        assert store.dataset("temp_daily").definition == definition
    assert registered.name == "temp_daily"
    assert yaml.safe_load(path.read_text()) == definition.to_json()
