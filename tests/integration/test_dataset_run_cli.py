"""`dataset register/list/run/contents/content/export/pause/resume` from the command line,
running a real notebook in a local process (no container) with file:// outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tests.notebooks import write_notebook
from tests.support import run_cli

pytestmark = pytest.mark.integration


def cli(tmp_path: Path, *args: str) -> object:
    return run_cli("dataset", *args, env={"IOTA_HOME": str(tmp_path / "home")}, cwd=tmp_path)


def ok(result: object) -> str:
    assert getattr(result, "returncode", None) == 0, getattr(result, "stderr", "")
    return str(getattr(result, "stdout", ""))


def test_a_dataset_from_a_notebook_runs_here_and_keeps_its_versions(tmp_path: Path) -> None:
    write_notebook(
        tmp_path / "analysis.ipynb",
        "import iota_container as iota\nprint('limit', limit, type(limit).__name__)\n"
        "iota.upload(f'{limit}'.encode(), 'result_output')",
        parameters="limit = 3\nresult_output = 'file:///tmp/unused.txt'",
    )
    ok(cli(tmp_path, "new", "limits", "--from-notebook", "analysis.ipynb", "--max-versions", "2"))
    ok(cli(tmp_path, "register", "limits.yaml"))
    assert "limits  container" in ok(cli(tmp_path, "list"))

    versions = [
        json.loads(ok(cli(tmp_path, "run", "limits", "--no-container", "--json"))) for _ in range(3)
    ]
    assert [v["status"] for v in versions] == ["SUCCEEDED"] * 3
    executed = nbformat.reads(
        Path(versions[-1]["outputs"]["ipynb"].removeprefix("file://")).read_text(), as_version=4
    )
    assert "limit 3 int" in json.dumps([c.get("outputs", []) for c in executed.cells])
    assert Path(versions[-1]["contentUri"].removeprefix("file://")).read_text() == "3"

    listed = json.loads(ok(cli(tmp_path, "contents", "limits", "--json")))
    assert [v["versionId"] for v in listed] == [versions[2]["versionId"], versions[1]["versionId"]]
    latest = json.loads(
        ok(cli(tmp_path, "content", "limits", "--version", "$LATEST_SUCCEEDED", "--json"))
    )
    assert latest["versionId"] == versions[2]["versionId"]

    exported = json.loads(ok(cli(tmp_path, "export", "limits")))
    assert exported["datasetName"] == "limits"
    assert "x-iota-notebook" not in json.dumps(exported)
    assert "paused" in ok(cli(tmp_path, "pause", "limits"))
    assert "(paused)" in ok(cli(tmp_path, "list"))
    assert "resumed" in ok(cli(tmp_path, "resume", "limits"))


def test_a_failing_notebook_makes_a_failed_version_that_says_why(tmp_path: Path) -> None:
    write_notebook(tmp_path / "broken.ipynb", "x = 0", "print(1 / x)")
    ok(cli(tmp_path, "new", "broken", "--from-notebook", "broken.ipynb"))
    ok(cli(tmp_path, "register", "broken.yaml"))
    result = cli(tmp_path, "run", "broken", "--no-container")
    assert getattr(result, "returncode", None) == 1
    content = json.loads(ok(cli(tmp_path, "content", "broken", "--json")))
    assert content["status"] == "FAILED"
    assert "ZeroDivisionError" in content["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing", "--no-container"], "no dataset 'missing' is registered"),
        (["contents", "missing"], "no dataset 'missing' is registered"),
        (["export", "missing"], "no dataset 'missing' is registered"),
    ],
)
def test_unknown_datasets(tmp_path: Path, args: list[str], message: str) -> None:
    result = cli(tmp_path, *args)
    assert getattr(result, "returncode", None) == 2
    assert message in str(getattr(result, "stderr", ""))


def test_register_refuses_an_invalid_definition_and_keeps_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"datasetName": "bad", "actions": []}))
    result = cli(tmp_path, "register", "bad.json")
    assert getattr(result, "returncode", None) == 2
    assert "bad.json: $.actions" in str(getattr(result, "stderr", ""))
    assert ok(cli(tmp_path, "list")).strip() == ""
