from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from iota_container.notebook.inject import (
    MODE_FIRST_ASSIGNMENT,
    MODE_PARAMETERS_CELL,
    inject_variables,
)
from tests.conftest import SHARED
from tests.servers import require

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
        "%matplotlib inline\n!pip list\nif True:\n    !echo hi\n    x = 1\n    %time y = 2"
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
        ("False", "maybe", "'maybe'"),  # not JSON: kept as the string it is
        ("'text'", "true", "'true'"),  # the notebook wants a string: no decoding
        ("[1]", '{"a": 1}', "'{\"a\": 1}'"),  # JSON of another type: kept as a string
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
    [("60", 60.0, "60"), ("60", 60.5, "60.5"), ("1.5", 2.0, "2.0"), ("True", 1.0, "1.0")],
)
def test_whole_doubles_become_ints_where_the_notebook_has_an_int(
    default: str, value: float, injected: str
) -> None:
    nb = notebook(f"v = {default}")
    inject_variables(nb, {"v": value})
    assert nb.cells[0].source == f"v = {injected}"
