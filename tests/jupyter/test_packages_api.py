"""requirements and image.packages: what the wizard's image step shows and sends, with a
real kernel's environment behind the server (the test environment has pandas)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.jupyter.test_job_requests import GOOD
from tests.notebooks import write_notebook


def analysis(root: Path, *cells: str) -> str:
    folder = root / "analyses"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    write_notebook(folder / "temp.ipynb", *cells, parameters="rows = 3")
    return "analyses/temp.ipynb"


async def test_requirements_of_a_notebook(api, jp_root_dir: Path) -> None:
    path = analysis(jp_root_dir, "import pandas as pd\nimport helpers, os\ntry:\n import scipy\n"
                    "except ImportError:\n scipy = None")  # fmt: skip
    status, answer = await api("GET", "requirements", params={"path": path})
    assert status == 200, answer
    assert answer["notebook"] == path
    pins = {d["distribution"]: d for d in answer["distributions"]}
    assert pins["pandas"]["modules"] == ["pandas"]
    assert "numpy" in pins and pins["numpy"]["required_by"] == ["pandas"]
    providers = {m["module"]: m["provider"] for m in answer["modules"]}
    assert providers == {"helpers": "local", "os": "stdlib", "pandas": "distribution",
                         "scipy": providers["scipy"]}  # fmt: skip
    assert [f["path"] for f in answer["local_files"]] == ["helpers.py"]
    assert answer["problems"] == []


async def test_requirements_report_an_import_nothing_provides(api, jp_root_dir: Path) -> None:
    path = analysis(jp_root_dir, "import iota_no_such_module")
    status, answer = await api("GET", "requirements", params={"path": path})
    assert status == 200, answer
    assert answer["problems"] == [
        "module iota_no_such_module (cell 2) is not installed in kernel 'python3': install it "
        "where the notebook runs (%pip install iota_no_such_module), or remove the import"
    ]


async def test_requirements_bad_paths(api, jp_root_dir: Path) -> None:
    status, answer = await api("GET", "requirements")
    assert (status, answer["field"]) == (400, "path")
    status, answer = await api("GET", "requirements", params={"path": "../outside.ipynb"})
    assert (status, answer["field"]) == (404, "path")


def job(path: str, packages: Any = None) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    body["notebook"] = path
    body["variables"] = [{"name": "rows", "type": "int", "default": 3, "datasetType": "double"}]
    body["image"]["packages"] = packages
    return body


async def test_a_refused_import_is_an_error_beside_the_packages(api, jp_root_dir: Path) -> None:
    path = analysis(jp_root_dir, "import iota_no_such_module")
    status, answer = await api("POST", "jobs", body=job(path))
    assert status == 400, answer
    assert answer["field"] == "image.packages"
    assert answer["message"].startswith("module iota_no_such_module (cell 2) is not installed")


async def test_an_edited_list_that_drops_an_import_is_refused(api, jp_root_dir: Path) -> None:
    path = analysis(jp_root_dir, "import pandas")
    status, answer = await api("POST", "jobs", body=job(path, ["numpy==2.4.6"]))
    assert status == 400, answer
    assert answer == {
        "message": "module pandas (cell 2) comes from pandas, which the package list no longer "
        "names: add it back, or remove the import",
        "field": "image.packages",
    }


@pytest.mark.parametrize(
    ("packages", "field"),
    [
        ("pandas", "image.packages"),
        ([7], "image.packages.0"),
        (["pandas", ""], "image.packages.1"),
        (["pandas @ https://example.com/pandas.whl"], "image.packages.0"),
        (["not a requirement!"], "image.packages.0"),
        (["x"] * 501, "image.packages"),
    ],
)
async def test_bad_package_lists(api, jp_root_dir: Path, packages: Any, field: str) -> None:
    path = analysis(jp_root_dir, "print(rows)")
    status, answer = await api("POST", "jobs", body=job(path, packages))
    assert (status, answer["field"]) == (400, field), answer
