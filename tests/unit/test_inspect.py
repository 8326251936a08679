from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest

from iota_container.errors import NotebookError, VariableError
from iota_container.notebook.inject import inject_variables
from iota_container.notebook.inspect import notebook_variables
from tests.servers import require
from tests.support import SHARED
from tests.unit.test_inject import notebook

GOLDEN = SHARED / "compat" / "original-extension"


def by_name(nb: Any) -> dict[str, Any]:
    return {v.name: v for v in notebook_variables(nb)}


def test_every_literal_type_including_bool_without_running_anything() -> None:
    nb = notebook(
        "import os\nname = 'x'  # who\ncount = 3\nratio = 0.5\nflag = True\nnothing = None",
        "items = [1, 2]\nconfig = {'a': 1}\nderived = count * 2\nos.system('false')",
    )
    found = by_name(nb)
    assert list(found) == ["name", "count", "ratio", "flag", "nothing", "items", "config"]
    assert [(v.python_type, v.dataset_type) for v in found.values()] == [
        ("str", "string"),
        ("int", "double"),
        ("float", "double"),
        ("bool", "string"),
        ("NoneType", "string"),
        ("list", "string"),
        ("dict", "string"),
    ]
    assert found["flag"].default is True
    assert found["name"].description == "who"


def test_parameters_cell_wins_over_other_assignments() -> None:
    nb = notebook("x = 1", "threshold = 2.0\nlimit = 5", tags={1: ["parameters"]})
    assert list(by_name(nb)) == ["threshold", "limit"]


def test_hints_for_output_uris_and_dataset_versions() -> None:
    nb = notebook(
        "custom_output = 's3://b/k.csv'\nreport_path = 'out.txt'\n"
        "source_dataset_name = 'raw'\nsource_dataset_version_id = 'v1'\nplain = 'text'"
    )
    hints = {name: v.hint for name, v in by_name(nb).items()}
    assert hints == {
        "custom_output": "outputFileUri",
        "report_path": "outputFileUri",
        "source_dataset_name": None,
        "source_dataset_version_id": "datasetContentVersion",
        "plain": None,
    }


def test_lists_exactly_what_a_run_rewrites() -> None:
    require(GOLDEN.is_dir(), f"{GOLDEN} is absent: the golden files come from ../shared/compat")
    nb = nbformat.read(GOLDEN / "notebook.ipynb", as_version=4)
    listed = set(by_name(nb))
    variables = json.loads((GOLDEN / "params").read_text())["Variables"]
    report = inject_variables(nb, variables)
    # c (`c = a + i`) and l (an expression) are rewritten but have no literal default.
    assert listed == set(report.assigned) - {"c", "l"}


def test_no_code_cells() -> None:
    with pytest.raises(NotebookError, match="no code cells"):
        notebook_variables(notebook("md:# only text"))


def test_broken_parameters_cell() -> None:
    with pytest.raises(NotebookError, match=r"parameters cell \(cell 0\) does not parse"):
        notebook_variables(notebook("x = = 1", tags={0: ["parameters"]}))


def test_more_than_fifty_variables() -> None:
    nb = notebook("\n".join(f"v{i} = {i}" for i in range(51)))
    with pytest.raises(VariableError, match="51 variables, more than the 50"):
        notebook_variables(nb)


def test_papermill_type_comments_are_type_hints_not_descriptions() -> None:
    nb = notebook(
        "count = 3  # type: int\nratio = 0.5  # type: float  share of rows\n"
        "limit = None  # type: int\nname = 'x'  # who runs it\nsize: float = None"
    )
    found = by_name(nb)
    assert {name: v.description for name, v in found.items()} == {
        "count": "",
        "ratio": "share of rows",
        "limit": "",
        "name": "who runs it",
        "size": "",
    }
    assert (found["limit"].python_type, found["limit"].dataset_type) == ("int", "double")
    assert (found["size"].python_type, found["size"].dataset_type) == ("float", "double")
    assert (found["count"].python_type, found["count"].default) == ("int", 3)


@pytest.mark.parametrize(
    ("metadata", "language"),
    [
        ({"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}}, "R"),
        ({"language_info": {"name": "julia"}}, "julia"),
    ],
)
def test_notebooks_in_other_languages_say_variables_cannot_be_detected(
    metadata: dict[str, Any], language: str
) -> None:
    nb = notebook("x <- 1")
    nb.metadata.update(metadata)
    with pytest.raises(NotebookError, match=f"cannot detect variables for {language} notebooks"):
        notebook_variables(nb)


def test_lists_what_a_run_would_rewrite_with_every_line_ending() -> None:
    nb = notebook("a = 1  # first\rb = 'x'  # second\r\nc = [1,\r2]\n")
    found = by_name(nb)
    assert [(v.name, v.default, v.description) for v in found.values()] == [
        ("a", 1, "first"),
        ("b", "x", "second"),
        ("c", [1, 2], ""),
    ]


def test_assignments_a_run_leaves_alone_are_not_listed() -> None:
    nb = notebook(
        "!echo \\\ncontinued = 1",  # handed to the shell by IPython
        "# note\u2028\nafter_break = 2",  # after a line break only IPython sees
        "kept = 3",
    )
    assert list(by_name(nb)) == ["kept"]
    report = inject_variables(nb, {"continued": 0, "after_break": 0, "kept": 0})
    assert report.assigned == ["kept"]
