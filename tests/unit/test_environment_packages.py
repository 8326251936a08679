"""plan_packages: a lock the user lists (a --requirements file, or the wizard's edited
package list) replaces detection's lock, but never the notebook's own files: its local
modules and the data files its code names still go into the image."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from iota_container.environment.options import PackageOptions
from iota_container.environment.packages import plan_packages


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    (tmp_path / "helpers.py").write_text("def f():\n    return 1\n")
    (tmp_path / "limits.csv").write_text("a,b\n")
    document = nbformat.v4.new_notebook()
    document.cells = [
        nbformat.v4.new_code_cell("import pandas\nimport helpers\nlimits = open('limits.csv')")
    ]
    path = tmp_path / "report.ipynb"
    nbformat.write(document, str(path))
    return path


def plan(notebook: Path, options: PackageOptions) -> tuple[list[str], list[str]]:
    document = nbformat.read(str(notebook), as_version=4)
    found = plan_packages(notebook, document, "python3", options, None)
    return [f.relative for f in found.local_files], list(found.lock.unresolved)


def test_an_edited_package_list_keeps_the_notebooks_own_files(notebook: Path) -> None:
    options = PackageOptions(requirement_lines=("pandas==3.1.1", " seaborn "))
    files, lock = plan(notebook, options)
    assert files == ["helpers.py", "limits.csv"]
    assert lock == ["pandas==3.1.1", "seaborn"]


def test_a_requirements_file_keeps_the_notebooks_own_files(notebook: Path, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pandas==3.1.1  # the one we tested\n# a comment\n\n")
    files, lock = plan(notebook, PackageOptions(requirements_file=requirements))
    assert files == ["helpers.py", "limits.csv"]
    assert lock == ["pandas==3.1.1"]
