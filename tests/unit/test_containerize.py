"""The containerize request's own rules: the original extension's name and description
limits, the dataset name, and which field each finding belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from iota_container.containerize import (
    Containerize,
    ContainerizeError,
    check_description,
    check_name,
    check_request,
    dataset_name_for,
)
from iota_container.definitions.problems import DefinitionError
from iota_container.errors import VariableError
from iota_container.variables import DOUBLE, Variable, check_default, variable_from_default
from tests.notebooks import write_notebook


@pytest.mark.parametrize("name", ["a", "7days", "temp-daily_v2", "A" * 128])
def test_names_the_original_extension_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-lead", "_lead", "has space", "dot.ted", "é", "A" * 129])
def test_names_it_refused(name: str) -> None:
    with pytest.raises(ContainerizeError) as refused:
        check_name(name)
    assert refused.value.field == "name"


def test_description_limit() -> None:
    assert check_description("d" * 1024)
    with pytest.raises(ContainerizeError, match="1025 characters: use at most 1024"):
        check_description("d" * 1025)


def test_dataset_name_has_no_dash() -> None:
    assert dataset_name_for("temp-daily") == "temp_daily"


def _request(tmp_path: Path, **fields: object) -> Containerize:
    notebook = write_notebook(tmp_path / "nb.ipynb", "rows = 3")
    values: dict[str, object] = {
        "notebook": notebook,
        "name": "temp-daily",
        "repository": "localhost:5000/team/temp",
        "definition_path": tmp_path / "temp.dataset.yaml",
        **fields,
    }
    return Containerize(**values)  # type: ignore[arg-type]


def test_a_valid_request_gives_the_definition_it_will_write(tmp_path: Path) -> None:
    checked = check_request(_request(tmp_path, schedule="rate(1 hour)"))
    assert [v.name for v in checked.variables] == ["rows"]  # resolved from the notebook
    assert str(checked.target) == "localhost:5000/team/temp:latest"
    document = checked.definition.to_json()
    assert document["datasetName"] == "temp_daily"
    assert document["actions"][0]["containerAction"]["image"] == str(checked.target)
    action = document["actions"][0]["containerAction"]
    assert action["x-iota-notebook"] == "nb.ipynb"
    assert action["variables"] == [{"name": "rows", "doubleValue": 3.0}]
    assert document["triggers"] == [{"schedule": {"expression": "rate(1 hour)"}}]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"repository": "UPPER/case"}, "image.repository"),
        ({"repository": "localhost:5000/a@sha256:" + "0" * 64}, "image.repository"),
        ({"base": "bad base"}, "image.base"),
        ({"backend": "podman"}, "image.backend"),
        ({"description": "d" * 1025}, "description"),
        ({"definition_path": Path("out.txt")}, "definitionPath"),
    ],
)
def test_each_bad_field_is_named(tmp_path: Path, fields: dict[str, object], field: str) -> None:
    with pytest.raises(ContainerizeError) as refused:
        check_request(_request(tmp_path, **fields))
    assert refused.value.field == field


def test_an_existing_definition_is_kept_unless_overwritten(tmp_path: Path) -> None:
    (tmp_path / "temp.dataset.yaml").write_text("kept")
    with pytest.raises(ContainerizeError) as refused:
        check_request(_request(tmp_path))
    assert refused.value.field == "definitionPath"
    assert check_request(_request(tmp_path, overwrite=True))


def test_definition_rules_apply_before_anything_is_built(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as refused:
        check_request(_request(tmp_path, schedule="cron(0 99 * * ? *)", volume_size_gb=99))
    paths = [p.json_path for p in refused.value.problems]
    assert "$.triggers[0].schedule.expression" in paths
    assert "$.actions[0].containerAction.resourceConfiguration.volumeSizeInGB" in paths


def test_a_double_needs_a_number() -> None:
    assert check_default(variable_from_default("rows", 3)).default == 3
    assert check_default(Variable("rows", "int", None, dataset_type=DOUBLE)).default is None
    with pytest.raises(VariableError, match="'three' is not a number"):
        check_default(Variable("rows", "int", "three", dataset_type=DOUBLE))
    with pytest.raises(VariableError):
        check_default(Variable("flag", "bool", True, dataset_type=DOUBLE))
