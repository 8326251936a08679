"""Params files that are not what a run can read: endless, deep, repeated keys, a loop of
links. Each is one line naming the file and the fix, through the CLI as users meet it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from iota_container.errors import LimitExceeded, ParamsError, VariableError
from iota_container.params_file import load_params, parse_params_text
from tests.notebooks import write_notebook
from tests.support import run_cli

OUTPUTS = '{"OutputUris": {"html": "s3://b/k.html", "ipynb": "s3://b/k.ipynb"}}'


def params_text(variables: str) -> str:
    return f'{{"Context": {OUTPUTS}, "Variables": {variables}}}'


def error_line(*args: str) -> str:
    result = run_cli(*args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_dev_zero_is_refused_without_filling_the_memory() -> None:
    line = error_line("params", "validate", "/dev/zero")
    assert line == (
        "error: params file '/dev/zero' is larger than 1 MiB: that is not a params file; "
        "check the path"
    )


def test_a_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    file = tmp_path / "params"
    text = params_text('{"padding": "%s"}')
    file.write_text(text % ("x" * ((1 << 20) - len(text))))
    assert len(str(load_params(file).variables["padding"])) > 1_000_000


@pytest.mark.parametrize("depth", [65, 5_000, 200_000])
def test_deep_nesting_is_one_line(tmp_path: Path, depth: int) -> None:
    file = tmp_path / "params"
    file.write_text(params_text('{"deep": ' + "[" * depth + "]" * depth + "}"))
    line = error_line("params", "validate", str(file))
    assert line.startswith(f"error: params file '{file}' is nested deeper than 64 levels: ")
    assert line.endswith("flatten it")


def test_nesting_a_value_a_few_levels_deep_is_fine() -> None:
    params = parse_params_text(params_text('{"shape": [[[1, 2], [3]], {"a": {"b": []}}]}'))
    assert params.variables["shape"] == [[[1, 2], [3]], {"a": {"b": []}}]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (params_text('{"threshold": 1, "threshold": 2}'), "threshold"),
        (f'{{"Context": {OUTPUTS}, "Variables": {{}}, "Variables": {{"x": 1}}}}', "Variables"),
        (
            '{"Context": {"OutputUris": {"html": "s3://b/a.html", "html": "s3://b/b.html", '
            '"ipynb": "s3://b/k.ipynb"}}, "Variables": {}}',
            "html",
        ),
        (params_text('{"nested": {"a": [{"k": 1, "k": 1}]}}'), "k"),  # even with equal values
    ],
)
def test_a_key_given_twice_is_refused(tmp_path: Path, text: str, key: str) -> None:
    file = tmp_path / "params"
    file.write_text(text)
    line = error_line("params", "validate", str(file))
    assert line == (
        f"error: params file '{file}' gives the key '{key}' twice in one object: keep one of them"
    )


def test_keys_equal_only_after_unescaping_are_the_same_key() -> None:
    with pytest.raises(ParamsError, match="gives the key 'ab' twice"):
        parse_params_text(params_text('{"ab": 1, "a\\u0062": 2}'))


def test_a_loop_of_symbolic_links(tmp_path: Path) -> None:
    first, second = tmp_path / "params", tmp_path / "other"
    first.symlink_to(second)
    second.symlink_to(first)
    line = error_line("params", "validate", str(first))
    assert line == (
        f"error: params file '{first}' leads into a loop of symbolic links (ELOOP): "
        "point the link, or the path, at the real params file"
    )


def test_a_run_with_a_looping_params_path_runs_nothing(tmp_path: Path) -> None:
    loop = tmp_path / "params"
    loop.symlink_to(loop)
    marker = tmp_path / "ran"
    notebook = write_notebook(tmp_path / "nb.ipynb", f"open({str(marker)!r}, 'w').close()")
    result = run_cli(
        "run", "--notebook", str(notebook), env={"IOTA_PARAMS_PATH": str(loop)}, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "loop of symbolic links (ELOOP)" in result.stderr.strip().splitlines()[-1]
    assert not marker.exists()


def test_a_path_through_a_file_names_the_reason(tmp_path: Path) -> None:
    file = tmp_path / "plain"
    file.write_text("{}")
    with pytest.raises(ParamsError) as error:
        load_params(file / "params")
    assert str(error.value) == (
        f"params file '{file}/params' cannot be opened (Not a directory, ENOTDIR): "
        "give the path of a readable params file"
    )


def test_a_limit_error_is_an_input_error() -> None:
    with pytest.raises(LimitExceeded) as error:
        load_params(os.devnull.replace("null", "zero"))
    assert error.value.exit_code == 2


def test_a_deep_json_string_is_no_list_for_the_notebook() -> None:
    """A variable carrying JSON (dataset variables are strings) is decoded on request."""
    deep = "[" * 100_000 + "]" * 100_000
    params = parse_params_text(params_text(json.dumps({"shape": deep, "flat": "[1, 2]"})))
    assert params.variable("flat", list) == [1, 2]
    with pytest.raises(VariableError) as error:
        params.variable("shape", list)
    assert str(error.value).startswith("variable 'shape' is '[[[[")
    assert "… (str), not list: set Variables.shape in <params> to a list value" in str(error.value)
    assert len(str(error.value)) < 200
