"""One codec for a variable's value (a bool, list or dict travels as a JSON string), and
one JSON spelling of a Variable, with the old spelling read only from labels and files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from iota_container.errors import VariableError
from iota_container.image.build import load_variables_file
from iota_container.image.metadata import VARIABLES_LABEL, ImageMetadata
from iota_container.variable_codec import (
    dataset_value,
    decode_value,
    default_from_text,
    default_text,
)
from iota_container.variables import Variable, variable_from_default, variable_from_stored_json
from jupyter_ext.fields import BadRequest
from jupyter_ext.models import api_variable, read_variables


@pytest.mark.parametrize(
    ("default", "value", "text"),
    [
        (30, 30.0, "30"),
        (27.5, 27.5, "27.5"),
        ("north", "north", "north"),
        (True, "true", "true"),
        (["north", 2], '["north",2]', '["north",2]'),
        ({"a": "é"}, '{"a":"é"}', '{"a":"é"}'),
        (None, None, ""),
    ],
)
def test_a_default_encodes_as_a_dataset_value_and_as_text(
    default: Any, value: Any, text: str
) -> None:
    assert dataset_value(default) == value
    assert default_text(default) == text
    python_type = variable_from_default("v", default).python_type
    is_double = isinstance(value, float)
    assert default_from_text("v", text, python_type, is_double) == default


def test_nan_is_text_in_a_dataset() -> None:
    assert dataset_value(math.inf) == "inf"


def test_a_run_decodes_a_json_string_by_the_notebook_type() -> None:
    assert decode_value("flag", "true", bool, "params") is True
    assert decode_value("sites", '["a"]', list, "params") == ["a"]
    assert decode_value("rows", "25", int, "params") == 25
    with pytest.raises(VariableError, match="not int"):
        decode_value("rows", "25.5", int, "params")


@pytest.mark.parametrize(
    ("text", "python_type", "is_double", "message"),
    [
        ("north", "list", False, "'north' is not a list"),
        ("abc", "float", True, "'abc' is not a float"),
        ("2.5", "int", True, "'2.5' is not an int"),
    ],
)
def test_edited_text_that_is_not_its_type(
    text: str, python_type: str, is_double: bool, message: str
) -> None:
    with pytest.raises(VariableError, match=message):
        default_from_text("v", text, python_type, is_double)


def test_text_without_a_json_type_is_json_if_it_is_else_text() -> None:
    assert default_from_text("v", "[1]", "NoneType", False) == [1]
    assert default_from_text("v", "hello", "NoneType", False) == "hello"
    assert default_from_text("v", "", "str", False) == ""


def test_a_variable_has_one_json_spelling() -> None:
    variable = variable_from_default("rows", 3, "how many")
    assert variable.to_json() == {
        "name": "rows",
        "type": "int",
        "default": 3,
        "description": "how many",
        "datasetType": "double",
        "hint": None,
    }
    assert Variable.from_json(variable.to_json()) == variable
    with pytest.raises(TypeError):  # the old spelling is not read outside labels and files
        Variable.from_json({"name": "rows", "python_type": "int"})


OLD = [{"name": "rows", "python_type": "int", "default": 3, "dataset_type": "double"}]


def test_labels_and_files_written_before_still_read(tmp_path: Path) -> None:
    expected = Variable("rows", "int", 3, dataset_type="double")
    assert variable_from_stored_json(OLD[0]) == expected
    labels = {**ImageMetadata("/nb.ipynb", None).labels(), VARIABLES_LABEL: json.dumps(OLD)}
    assert ImageMetadata.from_labels(labels, "img").variables == [expected]
    old_file = tmp_path / "old.json"
    old_file.write_text(json.dumps({"variables": OLD}))
    assert load_variables_file(old_file) == [expected]
    new_file = tmp_path / "new.json"
    new_file.write_text(json.dumps({"variables": [expected.to_json()]}))
    assert load_variables_file(new_file) == [expected]


def test_new_labels_use_the_one_spelling() -> None:
    variable = Variable("rows", "int", 3, dataset_type="double")
    labels = ImageMetadata("/nb.ipynb", None, [variable]).labels()
    assert json.loads(labels[VARIABLES_LABEL]) == [variable.to_json()]


def test_the_api_sends_the_text_and_reads_it_back_by_type() -> None:
    sent = [api_variable(variable_from_default(n, v)) for n, v in [("rows", 3), ("on", True)]]
    assert [v["defaultText"] for v in sent] == ["3", "true"]
    edited = [
        {**sent[0], "defaultText": "7"},
        {"name": "on", "type": "bool", "datasetType": "string", "defaultText": "false"},
        {"name": "added", "type": "str", "datasetType": "double", "defaultText": "2.5"},
    ]
    del edited[0]["default"]
    read = read_variables(edited)
    assert read is not None
    assert [(v.python_type, v.default) for v in read] == [
        ("int", 7),
        ("bool", False),
        ("float", 2.5),  # a row made a double is a float to the notebook
    ]
    with pytest.raises(BadRequest) as refused:
        read_variables([{**edited[1], "defaultText": "maybe"}])
    assert refused.value.field == "variables.0.default"
