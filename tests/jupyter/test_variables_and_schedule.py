"""variables and schedule/preview: happy paths and each bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.notebooks import write_notebook


async def test_variables_of_a_notebook(api, jp_root_dir: Path) -> None:
    write_notebook(
        jp_root_dir / "analyses" / "temp.ipynb",
        "print(rows)",
        parameters="rows = 3  # how many\nout_path = 's3://b/k.csv'\nsites = ['north']",
    )
    status, answer = await api("GET", "variables", params={"path": "analyses/temp.ipynb"})
    assert status == 200, answer
    assert answer["path"] == "analyses/temp.ipynb"
    assert [(v["name"], v["type"], v["datasetType"], v["hint"]) for v in answer["variables"]] == [
        ("rows", "int", "double", None),
        ("out_path", "str", "string", "outputFileUri"),
        ("sites", "list", "string", None),
    ]
    assert set(answer["variables"][0]) == {
        "name",
        "type",
        "datasetType",
        "default",
        "defaultText",
        "description",
        "hint",
    }
    # The text the wizard edits is the SDK's encoding; the typed default comes with it.
    assert [(v["default"], v["defaultText"]) for v in answer["variables"]] == [
        (3, "3"),
        ("s3://b/k.csv", "s3://b/k.csv"),
        (["north"], '["north"]'),
    ]
    assert answer["variables"][0]["description"] == "how many"


async def test_variables_bad_inputs(api, jp_root_dir: Path) -> None:
    status, answer = await api("GET", "variables")
    assert (status, answer["field"]) == (400, "path")
    (jp_root_dir / "broken.ipynb").write_text("not json")
    status, answer = await api("GET", "variables", params={"path": "broken.ipynb"})
    assert (status, answer["field"]) == (400, "path")
    status, answer = await api("GET", "variables", params={"path": "missing.ipynb"})
    assert (status, answer) == (404, {"message": "no such file: missing.ipynb", "field": "path"})


async def test_schedule_preview(api) -> None:
    status, answer = await api(
        "GET", "schedule", "preview", params={"expression": "cron(0 12 * * ? *)", "count": "3"}
    )
    assert status == 200, answer
    assert answer["description"] == "at 12:00 UTC every day"
    moments = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in answer["next"]]
    assert len(moments) == 3 and all((m.hour, m.minute) == (12, 0) for m in moments)
    assert moments == sorted(moments)


async def test_schedule_preview_bad_inputs(api) -> None:
    for params, field in [
        ({}, "expression"),
        ({"expression": "cron(0 99 * * ? *)"}, "expression"),
        ({"expression": "rate(1 minutes)"}, "expression"),
        ({"expression": "rate(5 minutes)", "count": "0"}, "count"),
        ({"expression": "rate(5 minutes)", "count": "many"}, "count"),
    ]:
        status, answer = await api("GET", "schedule", "preview", params=params)
        assert (status, answer["field"]) == (400, field), (params, answer)
        assert answer["message"]
