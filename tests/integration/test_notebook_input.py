"""Hostile and broken notebook input through `iota-container run` and `variables`, on a
real kernel: a value never runs as code, and a notebook or variable the run cannot use
is one line on stderr (exit 2) before any cell runs, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from iota_container.params_file import template_params, write_params
from tests.notebooks import write_notebook
from tests.support import run_cli

pytestmark = pytest.mark.integration


def run(tmp_path: Path, notebook: Path, env: dict[str, str] | None = None, **variables: Any):  # type: ignore[no-untyped-def]
    document = template_params((tmp_path / "out").as_uri(), variables)
    params = write_params(document, tmp_path / "p", overwrite=True)
    environment = {"IOTA_PARAMS_PATH": str(params), **(env or {})}
    return run_cli("run", "--notebook", str(notebook), env=environment, cwd=tmp_path)


def executed(tmp_path: Path) -> Any:
    return nbformat.read(tmp_path / "out" / "output.ipynb", as_version=4)


def printed(tmp_path: Path, cell: int) -> str:
    return "".join(output.get("text", "") for output in executed(tmp_path).cells[cell].outputs)


def assert_refused(result: Any, tmp_path: Path, *parts: str) -> str:
    """Exit 2, one line naming what is wrong, no traceback and nothing written."""
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), result.stderr
    for part in parts:
        assert part in line, line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    return str(line)


def touching(marker: Path) -> str:
    return f"+__import__('os').system('touch {marker}')+"


def test_a_value_in_a_cell_with_a_bare_carriage_return_is_data(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    value = touching(marker)
    # Split at \n only, the value's position lands in the string of the print call, and
    # the value's quotes close and reopen it around a call of os.system.
    notebook = write_notebook(
        tmp_path / "cr.ipynb", "a = 1\rtarget = ''\nprint(1,\"XY\")", "print(repr(target))"
    )
    result = run(tmp_path, notebook, target=value)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert printed(tmp_path, 1) == repr(value) + "\n"
    assert executed(tmp_path).cells[0].source == f'a = 1\rtarget = {value!r}\nprint(1,"XY")'


@pytest.mark.parametrize(
    "cell",
    [
        "!echo \\\ntarget = 'safe'",
        "# note\x85!echo \\\ntarget = 'safe'",
        "# note\u2028a = %time \\\ntarget = 'safe'",
    ],
    ids=["continued-shell-line", "shell-line-after-x85", "magic-after-u2028"],
)
def test_a_value_ipython_would_hand_to_a_shell_line_is_not_injected(
    tmp_path: Path, cell: str
) -> None:
    marker = tmp_path / "pwned"
    # IPython expands {expression} in shell and magic lines before running them.
    value = f"{{__import__('os').system('touch {marker}')}}"
    notebook = write_notebook(tmp_path / "shell.ipynb", cell, "print('after')")
    result = run(tmp_path, notebook, target=value)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert executed(tmp_path).cells[0].source == cell
    assert "target" in result.stderr  # not injected, and said so


def test_parameters_cell_values_and_names_an_attacker_writes(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    values = {
        "quote": f"'); __import__('os').system('touch {marker}') #",
        "braces": f"{{__import__('os').system('touch {marker}')}}",
        "shell": f"\r\n!touch {marker}\n",
        "separator": f"\u2028%system touch {marker}",
        "backslash": "\\",
    }
    hostile_names = {f"x=1\nimport os; os.system('touch {marker}')": "v", "not-a-name": "w"}
    notebook = write_notebook(
        tmp_path / "params.ipynb",
        "import json, iota_container as iota\n"
        "print(json.dumps({k: globals()[k] for k in " + repr(sorted(values)) + "}))",
        "print(iota.params().variable('not-a-name'))",
        parameters="quote = braces = shell = separator = backslash = ''",
    )
    result = run(tmp_path, notebook, **values, **hostile_names)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert json.loads(printed(tmp_path, 2)) == values
    assert printed(tmp_path, 3) == "w\n"  # read through the SDK, never injected
    assert "variable 'not-a-name' is not a Python name: not injected" in result.stderr


def test_a_name_that_is_no_python_name_is_read_through_the_sdk(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "first.ipynb",
        "limit = 1",
        "import iota_container as iota\nprint(limit, iota.params().variable('max-rows'))",
    )
    result = run(tmp_path, notebook, limit=5, **{"max-rows": 10})
    assert result.returncode == 0, result.stderr
    assert printed(tmp_path, 1) == "5 10\n"
    assert "variable 'max-rows' is not a Python name: not injected" in result.stderr


def test_numeric_strings_reach_the_kernel_as_numbers(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "typed.ipynb",
        "threshold = 30.0\nwindow = 60\nflags = [False]",
        "print(repr(threshold), repr(window), repr(flags))",
    )
    result = run(tmp_path, notebook, threshold="25", window=90.0, flags="[true, false]")
    assert result.returncode == 0, result.stderr
    assert printed(tmp_path, 1) == "25.0 90 [True, False]\n"


@pytest.mark.parametrize(
    ("variables", "parts"),
    [
        (
            {"threshold": "abc"},
            [
                "variable 'threshold' is a string ('abc'), not a float like the notebook's "
                "default 30.0"
            ],
        ),
        ({"__builtins__": "x"}, ["variable '__builtins__' is a name Python and IPython keep"]),
        ({"print": "x"}, ["variable 'print' would replace", "never assigns print"]),
    ],
    ids=["wrong-type", "dunder", "builtin"],
)
@pytest.mark.parametrize("parameters_cell", [False, True], ids=["first-assignment", "cell"])
def test_variables_the_notebook_cannot_take_are_refused_before_any_cell_runs(
    tmp_path: Path, variables: dict[str, str], parts: list[str], parameters_cell: bool
) -> None:
    marker = tmp_path / "ran"
    touch = f"open({str(marker)!r}, 'w').close()"
    if parameters_cell:
        notebook = write_notebook(tmp_path / "nb.ipynb", touch, parameters="threshold = 30.0")
    else:
        notebook = write_notebook(tmp_path / "nb.ipynb", touch, "threshold = 30.0")
    assert_refused(run(tmp_path, notebook, **variables), tmp_path, *parts)
    assert not marker.exists()


def good_document(marker: Path) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "P", "language": "python"}},
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "metadata": {"tags": []},
                "execution_count": None,
                "outputs": [],
                "source": f"open({str(marker)!r}, 'w').close()",
            },
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": ["# title"]},
        ],
    }


BROKEN: list[tuple[str, Any, str]] = [
    (
        "cell-is-a-string",
        lambda d: d["cells"].append("print(1)"),
        "cells[2] is a string ('print(1)'), not an object (a cell)",
    ),
    (
        "source-is-a-number",
        lambda d: d["cells"][1].update(source=42),
        "cells[1].source is a number (42), not a string or a list of strings",
    ),
    (
        "source-list-of-numbers",
        lambda d: d["cells"][1].update(source=[1, 2]),
        "cells[1].source is a list, not a string or a list of strings",
    ),
    (
        "kernelspec-is-a-string",
        lambda d: d["metadata"].update(kernelspec="python3"),
        "metadata.kernelspec is a string ('python3'), not an object",
    ),
    (
        "tags-is-a-string",
        lambda d: d["cells"][0]["metadata"].update(tags="parameters"),
        "cells[0].metadata.tags is a string ('parameters'), not a list of strings",
    ),
    (
        "no-cell-metadata",
        lambda d: d["cells"][1].pop("metadata"),
        "cells[1].metadata is missing (it must be an object)",
    ),
    (
        "unknown-cell-type",
        lambda d: d["cells"][1].update(cell_type="heading"),
        "cells[1].cell_type is a string ('heading'), not one of code, markdown, raw",
    ),
    (
        "outputs-not-a-list",
        lambda d: d["cells"][0].update(outputs={}),
        "cells[0].outputs is an object, not a list",
    ),
    (
        "stream-without-text",
        lambda d: d["cells"][0].update(outputs=[{"output_type": "stream", "name": "stdout"}]),
        "cells[0].outputs[0].text is missing",
    ),
    (
        "execution-count-text",
        lambda d: d["cells"][0].update(execution_count="1"),
        "cells[0].execution_count is a string ('1'), not a whole number or null",
    ),
    (
        "language-info-a-list",
        lambda d: d["metadata"].update(language_info=[]),
        "metadata.language_info is a list, not an object",
    ),
    ("nbformat-3", lambda d: d.update(nbformat=3), "is an nbformat 3 notebook, not 4"),
]


@pytest.mark.parametrize(
    ("break_it", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_notebook_of_the_wrong_shape_is_one_line_before_anything_runs(
    tmp_path: Path, break_it: Any, message: str
) -> None:
    marker = tmp_path / "ran"
    document = good_document(marker)
    break_it(document)
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text(json.dumps(document))
    line = assert_refused(run(tmp_path, notebook), tmp_path, message, str(notebook))
    assert "fix it in the notebook's JSON" in line or "save it again" in line
    assert not marker.exists()


def test_the_good_document_runs(tmp_path: Path) -> None:
    """The documents above are broken only where each case breaks them."""
    marker = tmp_path / "ran"
    notebook = tmp_path / "good.ipynb"
    notebook.write_text(json.dumps(good_document(marker)))
    result = run(tmp_path, notebook)
    assert result.returncode == 0, result.stderr
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cells": ' + "[" * 150 + "]" * 150 + ', "nbformat": 4}', "nested deeper than 100"),
        ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper than 100"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
    ],
    ids=["deep", "very-deep", "not-utf8"],
)
def test_a_notebook_too_deep_or_not_text_is_one_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    notebook = tmp_path / "bad.ipynb"
    if isinstance(content, bytes):
        notebook.write_bytes(content)
    else:
        notebook.write_text(content)
    assert_refused(run(tmp_path, notebook), tmp_path, message)


def test_an_endless_notebook_is_refused_at_the_size_limit(tmp_path: Path) -> None:
    result = run(tmp_path, Path("/dev/zero"))
    assert_refused(result, tmp_path, "notebook '/dev/zero' is larger than 256 MiB")


def r_notebook(path: Path, kernelspec: dict[str, str] | None) -> Path:
    write_notebook(path, "x = 1", "print('ran on', x)")
    document = json.loads(path.read_text())
    document["metadata"] = {"kernelspec": kernelspec} if kernelspec else {}
    path.write_text(json.dumps(document))
    return path


def test_a_notebook_for_a_kernel_not_installed_is_refused(tmp_path: Path) -> None:
    notebook = r_notebook(
        tmp_path / "r.ipynb", {"name": "ir", "display_name": "R", "language": "R"}
    )
    assert_refused(
        run(tmp_path, notebook),
        tmp_path,
        "the notebook is in R (kernel 'ir') and no installed kernel speaks it",
        "--kernel",
    )
    unknown = r_notebook(tmp_path / "u.ipynb", {"name": "mystery", "display_name": "M"})
    assert_refused(
        run(tmp_path, unknown), tmp_path, "kernel 'mystery' is not installed here", "language"
    )
    chosen = run(tmp_path, notebook, env={"KERNEL_NAME": "python3"}, x=2)
    assert chosen.returncode == 0, chosen.stderr
    assert printed(tmp_path, 1) == "ran on 1\n"  # R code is not injected with Python literals
    assert "variables are injected into Python notebooks only" in chosen.stderr


def test_variables_of_a_notebook_in_another_language(tmp_path: Path) -> None:
    notebook = r_notebook(
        tmp_path / "r.ipynb", {"name": "ir", "display_name": "R", "language": "R"}
    )
    result = run_cli("variables", str(notebook))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "error: cannot detect variables for R notebooks (kernel 'ir')"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_variables_reads_type_comments_as_type_hints(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "nb.ipynb", "rows = None  # type: int\nlabel = 'x'  # type: str  shown on top"
    )
    result = run_cli("variables", str(notebook), "--json")
    assert result.returncode == 0, result.stderr
    listed = {v["name"]: v for v in json.loads(result.stdout)["variables"]}
    assert (listed["rows"]["type"], listed["rows"]["datasetType"]) == ("int", "double")
    assert listed["rows"]["description"] == ""
    assert listed["label"]["description"] == "shown on top"
