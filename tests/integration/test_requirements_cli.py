"""`iota-container requirements` as its own process, with real kernels: the project's
`python3` kernel (pandas, matplotlib, numpy installed), kernelspecs made in a temporary
JUPYTER_PATH (an R kernel, a kernel on another Python), and bad input, each refused with
exit code 2 and one line naming the fix."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.notebooks import write_notebook
from tests.servers import require
from tests.support import run_cli

pytestmark = pytest.mark.integration

ANALYSIS = """\
import os
import pandas as pd
import matplotlib.pyplot as plt
import helpers
from utils import more
limits = pd.read_csv("limits.csv")
"""


def requirements(notebook: Path, *args: str, **run: Any) -> subprocess.CompletedProcess[str]:
    return run_cli("requirements", str(notebook), *args, **run)


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A notebook folder as a data scientist has one: the notebook, a helper module, a
    package, a data file it reads, and things that must stay out of the image."""
    folder = tmp_path / "project"
    (folder / "utils").mkdir(parents=True)
    (folder / "utils" / "__init__.py").write_text("")
    (folder / "utils" / "more.py").write_text("SCALE = 2\n")
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "limits.csv").write_text("sensor,limit\na,3\n")
    (folder / "unrelated.csv").write_text("not named by the code\n")
    (tmp_path / "secret.txt").write_text("aws_secret_access_key = hunter2\n")
    write_notebook(folder / "analysis.ipynb", ANALYSIS)
    return folder


def test_a_notebook_s_imports_are_traced_to_pinned_distributions_and_local_files(
    project: Path,
) -> None:
    found = as_json(requirements(project / "analysis.ipynb", "--json"))
    assert found["kernel"] == "python3"
    assert found["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])
    pins = {d["distribution"]: d for d in found["distributions"]}
    for name in ("pandas", "matplotlib", "numpy"):
        assert pins[name]["version"] == importlib.metadata.version(name), name
    assert pins["pandas"]["modules"] == ["pandas"]
    assert pins["matplotlib"]["modules"] == ["matplotlib"]
    assert pins["numpy"]["modules"] == [] and "pandas" in pins["numpy"]["required_by"]
    assert "matplotlib" in pins["pillow"]["required_by"]
    modules = {m["module"]: m for m in found["modules"]}
    assert modules["os"] == {"module": "os", "provider": "stdlib", "optional": False, "cells": [1]}
    assert modules["helpers"]["provider"] == "local" and modules["helpers"]["path"] == "helpers.py"
    assert modules["utils"]["provider"] == "local" and modules["utils"]["path"] == "utils"
    assert modules["pandas"]["distributions"] == [f"pandas=={pins['pandas']['version']}"]
    files = {f["path"]: f["reason"] for f in found["local_files"]}
    assert files == {
        "helpers.py": "module helpers",
        "limits.csv": "named in cell 1",
        "utils/__init__.py": "module utils",
        "utils/more.py": "module utils",
    }
    assert found["problems"] == [] and found["unresolved"] == []


def test_the_report_as_a_table(project: Path) -> None:
    result = requirements(project / "analysis.ipynb")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": kernel python3 (Python {}.{}.{})".format(*sys.version_info[:3]))
    table = lines[2 : lines.index("")]
    rows = {line.split()[0]: line.split()[1:] for line in table}
    assert rows["os"] == ["stdlib"]
    assert rows["helpers"] == ["local", "helpers.py"]
    assert rows["pandas"] == ["distribution", f"pandas=={importlib.metadata.version('pandas')}"]
    assert f"  numpy=={importlib.metadata.version('numpy')}  (for " in result.stdout
    assert "  limits.csv  (named in cell 1)" in result.stdout


def test_files_beside_the_notebook_are_not_run_by_the_detection(project: Path) -> None:
    """A notebook folder with modules named like the standard library's (a `platform.py`
    of the team's data platform): `requirements` must not import them, let alone run them."""
    marker = project / "ran"
    for name in ("platform", "json", "sysconfig"):
        (project / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ')\n")
    found = as_json(requirements(project / "analysis.ipynb", "--json"))
    assert {m["module"]: m["provider"] for m in found["modules"]}["helpers"] == "local"
    assert not marker.exists(), marker.read_text()


def test_an_import_nothing_provides_names_the_distribution_to_install(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "import os", "from sklearn import tree")
    result = requirements(notebook)
    assert error_line(result) == (
        "error: module sklearn (cell 2) is not installed in kernel 'python3': install it "
        "where the notebook runs (%pip install scikit-learn), or remove the import"
    )
    assert table_row(result.stdout, "sklearn")[:1] == ["missing"]


def test_a_missing_import_guarded_by_import_error_is_reported_but_allowed(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "nb.ipynb", "try:\n    import cv2\nexcept ImportError:\n    cv2 = None"
    )
    found = as_json(requirements(notebook, "--json"))
    (module,) = found["modules"]
    assert (module["module"], module["provider"], module["optional"]) == ("cv2", "missing", True)
    assert "opencv-python-headless" in module["fix"]
    assert found["problems"] == []


def test_several_problems_are_listed_and_counted(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "import sklearn", "import jwt")
    result = requirements(notebook)
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 2 and "(%pip install PyJWT)" in problems[0]
    assert error_line(result) == "error: 2 problems (above): an image would not run this"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("%pip install https://example.com/wheels/pkg-1.0-py3-none-any.whl", "installs a URL"),
        ("%pip install git+https://github.com/org/pkg", "installs a URL"),
        ("!pip install pkg@https://example.com/pkg-1.0.tar.gz", "installs from a URL"),
        ("%pip install ./local/path", "installs a local path"),
        ("%pip install ../elsewhere/pkg-1.0.tar.gz", "installs a local path"),
    ],
)
def test_a_pip_install_an_image_cannot_reproduce_is_refused(
    tmp_path: Path, line: str, kind: str
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", line)
    message = error_line(requirements(notebook))
    assert message.startswith(f"error: {line.lstrip('%!').replace('pip', '%pip', 1)} (cell 1) ")
    assert kind in message
    assert message.endswith(("--include it", "pass your own file with --requirements"))


def test_pip_options_are_refused_by_name(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "%pip install -r requirements.txt")
    assert error_line(requirements(notebook)) == (
        "error: `pip install -r` (in a %pip line) cannot be locked: give the packages by "
        "name, or pass your own file with --requirements"
    )


def test_conflicting_pins_in_pip_lines_are_refused(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "nb.ipynb", "%pip install tabulate==0.8.10", "%pip install -q tabulate==0.9.0"
    )
    assert error_line(requirements(notebook)) == (
        "error: %pip install tabulate==0.9.0 (cell 2) conflicts with %pip install "
        "tabulate==0.8.10 (cell 1): keep one version"
    )


def test_a_pip_requirement_the_kernel_lacks_is_resolved_at_build_time(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "%pip install 'no-such-dist-here>=0.13'")
    result = requirements(notebook)
    assert result.returncode == 0, result.stderr
    assert "  no-such-dist-here>=0.13  (resolved at build time)" in result.stdout
    found = as_json(requirements(notebook, "--json"))
    assert found["unresolved"] == ["no-such-dist-here>=0.13"]


def test_a_cell_that_does_not_parse_is_a_note(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "import os", "def broken(:")
    found = as_json(requirements(notebook, "--json"))
    assert found["notes"] == ["cell 2 does not parse as Python: its imports are not counted"]


def kernelspec(jupyter_path: Path, name: str, argv: list[str], language: str) -> None:
    folder = jupyter_path / "kernels" / name
    folder.mkdir(parents=True)
    spec = {"argv": argv, "display_name": name, "language": language}
    (folder / "kernel.json").write_text(json.dumps(spec))


def notebook_on_kernel(path: Path, kernel: str, language: str, source: str) -> Path:
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": language}
    notebook.metadata["language_info"] = {"name": language}
    notebook.cells.append(new_code_cell(source))
    nbformat.write(notebook, str(path))
    return path


def test_a_kernel_that_is_not_python_says_packages_are_not_detected_for_it(
    tmp_path: Path,
) -> None:
    kernelspec(tmp_path / "jupyter", "ir", ["R", "--slave", "-e", "IRkernel::main()"], "R")
    notebook = notebook_on_kernel(tmp_path / "nb.ipynb", "ir", "R", "library(ggplot2)")
    result = requirements(notebook, env={"JUPYTER_PATH": str(tmp_path / "jupyter")})
    assert error_line(result) == (
        "error: kernel 'ir' runs R, not Python: packages are detected for Python notebooks "
        "only; give them with --requirements"
    )


def test_a_kernel_that_is_not_installed(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "import os")
    message = error_line(requirements(notebook, "--kernel", "no-such-kernel"))
    assert message.startswith("error: kernel 'no-such-kernel' is not installed")


def test_the_kernel_s_own_python_is_asked_not_the_cli_s(tmp_path: Path) -> None:
    """A kernel on Python 3.12 (no pandas there) for a notebook that imports pandas: the
    answer is that kernel's, even though the CLI's Python has pandas."""
    python = next(Path(sys.base_prefix).parent.glob("3.12.*/bin/python3.12"), None)
    require(python is not None, "no Python 3.12 beside this one (pyenv install 3.12)")
    assert python is not None
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernelspec(tmp_path / "jupyter", "py312", argv, "python")
    notebook = write_notebook(tmp_path / "nb.ipynb", "import tomllib\nimport pandas")
    result = requirements(
        notebook, "--kernel", "py312", env={"JUPYTER_PATH": str(tmp_path / "jupyter")}
    )
    assert ": kernel py312 (Python 3.12." in result.stdout.splitlines()[0]
    assert table_row(result.stdout, "tomllib") == ["stdlib"]
    assert error_line(result).startswith(
        "error: module pandas (cell 1) is not installed in kernel 'py312'"
    )


def test_include_adds_files_and_refuses_what_is_outside(project: Path, tmp_path: Path) -> None:
    notebook = project / "analysis.ipynb"
    found = as_json(requirements(notebook, "--json", "--include", str(project / "unrelated.csv")))
    assert "unrelated.csv" in {f["path"] for f in found["local_files"]}
    message = error_line(requirements(notebook, "--include", str(tmp_path / "secret.txt")))
    assert message == (
        f"error: --include {str(tmp_path / 'secret.txt')!r} is outside the notebook's folder "
        f"{str(project)!r}: the image keeps files at their place relative to the notebook; "
        "move it there"
    )


def test_an_include_that_escapes_through_a_symlink_is_refused(
    project: Path, tmp_path: Path
) -> None:
    (project / "config.txt").symlink_to(tmp_path / "secret.txt")
    message = error_line(
        requirements(project / "analysis.ipynb", "--include", "config.txt", cwd=project)
    )
    assert message.startswith("error: --include 'config.txt' is outside the notebook's folder")


def test_a_local_package_with_a_link_to_outside_is_refused(project: Path, tmp_path: Path) -> None:
    (project / "utils" / "settings.ini").symlink_to(tmp_path / "secret.txt")
    message = error_line(requirements(project / "analysis.ipynb"))
    assert message.startswith("error: utils/settings.ini (module utils) is a link to ")
    assert message.endswith("copy the file beside the notebook instead of linking it")
    assert "hunter2" not in message


def test_a_helper_module_that_is_a_link_to_outside_is_not_local(
    project: Path, tmp_path: Path
) -> None:
    (project / "helpers.py").unlink()
    (tmp_path / "shared_helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (project / "helpers.py").symlink_to(tmp_path / "shared_helpers.py")
    result = requirements(project / "analysis.ipynb")
    assert error_line(result) == (
        f"error: module helpers is helpers.py, a link to {str(tmp_path / 'shared_helpers.py')!r} "
        "outside the notebook's folder: copy the file beside the notebook instead of linking it"
    )
    assert "problem:" not in result.stderr  # one problem, said once


def test_a_module_from_a_folder_no_distribution_owns_is_refused(
    project: Path, tmp_path: Path
) -> None:
    """A kernelspec's PYTHONPATH makes a module importable that no distribution installs:
    the image would not have it."""
    (tmp_path / "team_lib").mkdir()
    (tmp_path / "team_lib" / "teamtools.py").write_text("")
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernelspec(tmp_path / "jupyter", "team", argv, "python")
    spec = tmp_path / "jupyter" / "kernels" / "team" / "kernel.json"
    document = json.loads(spec.read_text())
    spec.write_text(json.dumps({**document, "env": {"PYTHONPATH": str(tmp_path / "team_lib")}}))
    notebook = write_notebook(project / "team.ipynb", "import teamtools")
    result = requirements(
        notebook, "--kernel", "team", env={"JUPYTER_PATH": str(tmp_path / "jupyter")}
    )
    assert error_line(result) == (
        f"error: module teamtools comes from {tmp_path / 'team_lib' / 'teamtools.py'!s}, "
        "which no installed distribution provides: move it beside the notebook, add it with "
        "--include, or package it"
    )


def table_row(report: str, module: str) -> list[str]:
    """The FROM and PROVIDED BY words of `module` in the report's table."""
    for line in report.splitlines():
        if line.split()[:1] == [module]:
            return line.split()[1:]
    raise AssertionError(f"no row for {module} in {report!r}")
