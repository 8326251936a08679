from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from iota_container.errors import VariableError
from iota_container.notebook.inject import (
    MODE_FIRST_ASSIGNMENT,
    MODE_PARAMETERS_CELL,
    inject_variables,
)
from tests.servers import require
from tests.support import SHARED

GOLDEN = SHARED / "compat" / "original-extension"


def notebook(*sources: str, tags: dict[int, list[str]] | None = None) -> Any:
    nb = new_notebook()
    for index, source in enumerate(sources):
        cell = new_markdown_cell(source[3:]) if source.startswith("md:") else new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        nb.cells.append(cell)
    return nb


def sources(nb: Any) -> list[str]:
    return [cell.source for cell in nb.cells]


def test_original_extension_golden_files() -> None:
    require(
        GOLDEN.is_dir(),
        f"{GOLDEN} is absent: the original extension's golden files come from ../shared/compat",
    )
    nb = nbformat.read(GOLDEN / "notebook.ipynb", as_version=4)
    expected = nbformat.read(GOLDEN / "output.ipynb", as_version=4)
    variables = json.loads((GOLDEN / "params").read_text())["Variables"]
    report = inject_variables(nb, variables)
    assert sources(nb) == sources(expected)
    assert report.mode == MODE_FIRST_ASSIGNMENT
    assert report.unassigned == ["p"]  # only assigned inside a %%bash cell
    assert report.unparsed_cells == [4]


def test_first_assignment_anywhere_even_in_loops_and_functions() -> None:
    nb = notebook(
        "for i in range(3):\n    total = i * 2\nprint(total)",
        "def f():\n    inner = 1\n    return inner",
        "total = 99\ninner = 5",
    )
    report = inject_variables(nb, {"total": 7, "inner": 8})
    assert sources(nb) == [
        "for i in range(3):\n    total = 7\nprint(total)",
        "def f():\n    inner = 8\n    return inner",
        "total = 99\ninner = 5",
    ]
    assert report.assigned == ["total", "inner"]


def test_magic_lines_are_skipped_and_the_rest_of_the_cell_still_counts() -> None:
    nb = notebook(
        "%matplotlib inline\n!pip list\nif True:\n    !echo hi\n    x = 'old'\n    %time y = 2"
    )
    inject_variables(nb, {"x": "new", "y": 3})
    assert (
        nb.cells[0].source
        == "%matplotlib inline\n!pip list\nif True:\n    !echo hi\n    x = 'new'\n    %time y = 2"
    )


def test_cell_magics_and_unparseable_cells_are_left_alone() -> None:
    nb = notebook("%%bash\nx=1\necho $x", "x = = 2", "\n\n%%time\nx = 4", "x = 3")
    report = inject_variables(nb, {"x": 10})
    assert sources(nb) == ["%%bash\nx=1\necho $x", "x = = 2", "\n\n%%time\nx = 4", "x = 10"]
    assert report.unparsed_cells == [0, 1, 2]


def test_non_ascii_and_same_line_assignments() -> None:
    nb = notebook("名前 = 'データ'; city = 'Zürich' # ünïcode\nb = 'пока'")
    inject_variables(nb, {"city": "Köln", "b": "привет", "名前": "ok"})
    assert nb.cells[0].source == "名前 = 'ok'; city = 'Köln' # ünïcode\nb = 'привет'"


def test_multi_line_values_and_annotations() -> None:
    nb = notebook('settings = {\n    "a": 1,\n    "b": 2,\n}\nlimit: int = (\n    10\n)\nafter = 1')
    inject_variables(nb, {"settings": {"c": [1, None]}, "limit": 20})
    assert nb.cells[0].source == "settings = {'c': [1, None]}\nlimit: int = (\n    20\n)\nafter = 1"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (True, "True"),
        (False, "False"),
        (None, "None"),
        ([1, "a"], "[1, 'a']"),
        ({"k": {"n": 1.5}}, "{'k': {'n': 1.5}}"),
        (2.0, "2.0"),
    ],
)
def test_values_become_literals(value: Any, literal: str) -> None:
    nb = notebook("v = None")
    inject_variables(nb, {"v": value})
    assert nb.cells[0].source == f"v = {literal}"


def test_string_values_are_data_never_code() -> None:
    hostile = "'); import os; os.system('touch /tmp/pwned') #\n__import__('os')"
    nb = notebook("v = 'safe'")
    inject_variables(nb, {"v": hostile})
    namespace: dict[str, Any] = {}
    exec(nb.cells[0].source, namespace)  # executing the injected cell only rebinds v
    assert namespace["v"] == hostile
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    ("default", "value", "injected"),
    [
        ("False", "true", "True"),
        ("[1]", "[1, 2, 3]", "[1, 2, 3]"),
        ("{'a': 1}", '{"b": 2}', "{'b': 2}"),
        ("'text'", "true", "'true'"),  # the notebook wants a string: no decoding
    ],
)
def test_json_carrying_strings_follow_the_notebook_default(
    default: str, value: str, injected: str
) -> None:
    nb = notebook(f"v = {default}")
    inject_variables(nb, {"v": value})
    assert nb.cells[0].source == f"v = {injected}"


def test_parameters_cell_gets_an_injected_cell_after_it() -> None:
    nb = notebook(
        "md:# Title", "threshold = 1.0\nflag = False", "print(threshold)", tags={1: ["parameters"]}
    )
    report = inject_variables(nb, {"threshold": 2.5, "flag": "true", "extra": "x"})
    assert report.mode == MODE_PARAMETERS_CELL
    assert nb.cells[1].source == "threshold = 1.0\nflag = False"  # defaults stay as written
    assert nb.cells[2].metadata["tags"] == ["injected-parameters"]
    assert nb.cells[2].source == "# Parameters\nthreshold = 2.5\nflag = True\nextra = 'x'\n"
    assert nb.cells[3].source == "print(threshold)"
    assert nb.metadata["iota_container"]["injection"]["mode"] == MODE_PARAMETERS_CELL


def test_rerun_replaces_an_earlier_injected_cell() -> None:
    nb = notebook("a = 1", tags={0: ["parameters"]})
    inject_variables(nb, {"a": 2})
    inject_variables(nb, {"a": 3})
    assert sources(nb) == ["a = 1", "# Parameters\na = 3\n"]


def test_parameters_cell_skips_names_python_cannot_assign() -> None:
    nb = notebook("a = 1", tags={0: ["parameters"]})
    report = inject_variables(nb, {"not-a-name": 1, "class": 2, "a": 3})
    assert report.unassigned == ["not-a-name", "class"]
    assert nb.cells[1].source == "# Parameters\na = 3\n"


def test_unassigned_variables_are_reported_and_nothing_else_changes() -> None:
    nb = notebook("x = 1", "md:x = 2")
    report = inject_variables(nb, {"y": 1, "x": 5})
    assert report.unassigned == ["y"]
    assert sources(nb) == ["x = 5", "x = 2"]


def test_non_plain_assignments_do_not_count() -> None:
    nb = notebook("a, b = 1, 2\nc = d = 3\ne += 1\nobj.f = 4\nlst[0] = 5\nb = 6")
    report = inject_variables(nb, {"a": 0, "c": 0, "d": 0, "e": 0, "f": 0, "b": 9})
    assert nb.cells[0].source == "a, b = 1, 2\nc = d = 3\ne += 1\nobj.f = 4\nlst[0] = 5\nb = 9"
    assert report.unassigned == ["a", "c", "d", "e", "f"]


def test_non_finite_float_is_written_as_an_expression_of_a_literal() -> None:
    nb = notebook("v = 1.0")
    inject_variables(nb, {"v": float("inf")})
    assert nb.cells[0].source == "v = float('inf')"


@pytest.mark.parametrize(
    ("default", "value", "injected"),
    [("60", 60.0, "60"), ("1.5", 2.0, "2.0"), ("1.5", 2, "2.0")],
)
def test_whole_doubles_become_ints_where_the_notebook_has_an_int(
    default: str, value: float, injected: str
) -> None:
    nb = notebook(f"v = {default}")
    inject_variables(nb, {"v": value})
    assert nb.cells[0].source == f"v = {injected}"


@pytest.mark.parametrize(
    ("default", "value", "injected"),
    [
        ("30.0", "25", "25.0"),
        ("30", "25", "25"),
        ("30", "25.0", "25"),
        ("30.0", "-1e3", "-1000.0"),
        ("30.0", 25, "25.0"),
        ("None  # type: int", "25", "25  # type: int"),
        ("None  # type: float", 2, "2.0  # type: float"),
    ],
)
def test_numeric_strings_become_numbers_for_numeric_defaults(
    default: str, value: Any, injected: str
) -> None:
    nb = notebook(f"threshold = {default}")
    inject_variables(nb, {"threshold": value})
    assert nb.cells[0].source == f"threshold = {injected}"


def test_an_annotation_types_a_default_of_none() -> None:
    nb = notebook("limit: int = None")
    inject_variables(nb, {"limit": "7"})
    assert nb.cells[0].source == "limit: int = 7"


@pytest.mark.parametrize(
    ("default", "value", "message"),
    [
        (
            "30.0",
            "abc",
            "variable 'threshold' is a string ('abc'), not a float like the notebook's default "
            "30.0: give a number (or a string holding one)",
        ),
        ("60", 60.5, "is a number (60.5), not an int like the notebook's default 60"),
        ("60", True, "is a bool (true), not an int"),
        ("False", "maybe", "is a string ('maybe'), not a bool like the notebook's default False"),
        ("False", 1.0, "is a number (1.0), not a bool"),
        ("[1]", '{"a": 1}', "not a list like the notebook's default [1]: give a JSON list"),
        ("'text'", 5.0, "is a number (5.0), not a str like the notebook's default 'text'"),
        ("{'a': 1}", None, "is null, not a dict"),
        ("None  # type: int", "x", "not an int as the notebook's type hint says"),
    ],
)
@pytest.mark.parametrize("parameters_cell", [False, True])
def test_values_that_cannot_have_the_defaults_type_are_refused(
    default: str, value: Any, message: str, parameters_cell: bool
) -> None:
    nb = notebook(f"threshold = {default}", tags={0: ["parameters"]} if parameters_cell else None)
    before = nbformat.writes(nb)
    with pytest.raises(VariableError) as raised:
        inject_variables(nb, {"threshold": value})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert nbformat.writes(nb) == before  # nothing changed


def test_a_deeply_nested_json_string_is_refused_in_one_line() -> None:
    nb = notebook("items = [1]")
    with pytest.raises(VariableError, match="variable 'items' is a string"):
        inject_variables(nb, {"items": "[" * 100_000})


@pytest.mark.parametrize("parameters_cell", [False, True])
@pytest.mark.parametrize("name", ["__builtins__", "__name__", "__import__", "__spec__"])
def test_dunder_names_are_refused(name: str, parameters_cell: bool) -> None:
    nb = notebook(
        "a = 1", f"{name} = 'mine'", tags={0: ["parameters"]} if parameters_cell else None
    )
    with pytest.raises(VariableError, match=rf"variable '{name}' is a name Python and IPython"):
        inject_variables(nb, {"a": 2, name: "x"})
    assert nb.cells[0].source == "a = 1" and len(nb.cells) == 2


@pytest.mark.parametrize("parameters_cell", [False, True])
@pytest.mark.parametrize("name", ["print", "len", "get_ipython", "display", "In", "_i1", "_7"])
def test_builtin_and_ipython_names_are_refused_unless_the_notebook_assigns_them(
    name: str, parameters_cell: bool
) -> None:
    tags = {0: ["parameters"]} if parameters_cell else None
    with pytest.raises(VariableError, match=rf"the notebook never assigns {name}: rename"):
        inject_variables(notebook("a = 1", tags=tags), {name: "x"})
    nb = notebook("a = 1", f"{name} = 'own'", tags=tags)
    report = inject_variables(nb, {name: "x"})
    assert report.assigned == [name]


@pytest.mark.parametrize("parameters_cell", [False, True])
def test_names_that_are_not_python_names_are_logged_and_not_injected(
    parameters_cell: bool, caplog: pytest.LogCaptureFixture
) -> None:
    fullwidth_print = "\uff50\uff52\uff49\uff4e\uff54"  # Python reads it as `print`
    names = ["not-a-name", "class", "1st", "a b", "x=1\nimport os", fullwidth_print, ""]
    nb = notebook("a = 1\nprint(a)", tags={0: ["parameters"]} if parameters_cell else None)
    before = [cell.source for cell in nb.cells]
    report = inject_variables(nb, {**dict.fromkeys(names, "v"), "a": 2})
    assert report.unassigned == names
    assert report.assigned == ["a"]
    for name in names:
        assert f"variable {name!r} is not a Python name: not injected" in caplog.text
    injected = "\n".join(cell.source for cell in nb.cells)
    assert "import os" not in injected and "not-a-name" not in injected
    assert nb.cells[0].source == ("a = 1\nprint(a)" if parameters_cell else "a = 2\nprint(a)")
    assert before[0] == "a = 1\nprint(a)"


def test_parameters_cell_values_are_data_whatever_they_hold() -> None:
    hostile = [
        "'); import os; os.system('touch /tmp/pwned') #",
        "{__import__('os').system('touch /tmp/pwned')}",
        "\r\n!touch /tmp/pwned\n",
        "\u2028%system touch /tmp/pwned",
        "\\",
        "\x85#",
    ]
    nb = notebook("a = 'x'", tags={0: ["parameters"]})
    variables = {f"v{i}": value for i, value in enumerate(hostile)} | {"a": hostile[0]}
    inject_variables(nb, variables)
    injected = nb.cells[1].source
    assert injected.count("\n") == len(variables) + 1  # one line each, and the heading
    transformed = TransformerManager().transform_cell(injected)
    assert transformed == injected  # IPython reads nothing in it as its own syntax
    namespace: dict[str, Any] = {}
    exec(injected, {}, namespace)
    assert namespace == variables


def test_a_shell_line_continued_over_an_assignment_is_not_rewritten() -> None:
    # IPython hands `v = ...` to the shell with the line above, expanding {...} in it.
    nb = notebook("!echo \\\nv = 'x'\nw = 1")
    report = inject_variables(nb, {"v": "{__import__('os').system('id')}", "w": 2})
    assert report.unassigned == ["v"]
    assert nb.cells[0].source == "!echo \\\nv = 'x'\nw = 2"


def test_a_cell_with_a_continued_pip_install_still_counts() -> None:
    nb = notebook("!pip install \\\n    numpy \\\n    pandas\nthreshold = 1.5")
    inject_variables(nb, {"threshold": 2.5})
    assert nb.cells[0].source == "!pip install \\\n    numpy \\\n    pandas\nthreshold = 2.5"


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_every_python_line_ending_keeps_the_value_in_place(ending: str) -> None:
    source = f'a = 1{ending}target = "safe"{ending}print(1,"X"){ending}'
    nb = notebook(source)
    inject_variables(nb, {"target": "+__import__('os').system('touch /tmp/pwned')+"})
    expected = source.replace(
        'target = "safe"', "target = \"+__import__('os').system('touch /tmp/pwned')+\""
    )
    assert nb.cells[0].source == expected


@pytest.mark.parametrize(
    "separator", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_an_assignment_after_a_line_break_only_ipython_sees_is_not_injected(
    separator: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = f"before = 1  # note{separator}!echo \\\nv = 'x'\nafter = 2  # {separator}"
    nb = notebook(source)
    report = inject_variables(nb, {"before": 10, "v": "y"})
    assert report.unassigned == ["v"] and report.assigned == ["before"]
    assert nb.cells[0].source == source.replace("before = 1", "before = 10")
    where = f"its first assignment, in cell 0, is after U+{ord(separator):04X} on line 1"
    assert f"variable 'v' is not injected: {where}" in caplog.text


def test_a_value_with_half_a_surrogate_pair_is_refused() -> None:
    nb = notebook("v = 'x'")
    with pytest.raises(VariableError, match="variable 'v' holds U\\+D800, half of a surrogate"):
        inject_variables(nb, {"v": ["ok", {"k": "\ud800"}]})
    assert nb.cells[0].source == "v = 'x'"


def test_non_python_notebooks_are_not_injected(caplog: pytest.LogCaptureFixture) -> None:
    nb = notebook("x = 1")
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    report = inject_variables(nb, {"x": 2})
    assert report.unassigned == ["x"] and nb.cells[0].source == "x = 1"
    assert "the notebook is in R: variables are injected into Python notebooks only" in caplog.text
