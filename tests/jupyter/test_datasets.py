"""datasets: validate, write (inside the root, registered), "Run now" through the engine
in a local process, and the version's HTML report."""

from __future__ import annotations

from pathlib import Path

from iota_container.engine.state_store import StateStore
from tests.jupyter.helpers import local_dataset, wait_for_job
from tests.notebooks import write_notebook


async def test_validate_reports_problems_with_their_paths(api) -> None:
    document = local_dataset("ok_name", "nb.ipynb")
    status, answer = await api("POST", "datasets", "validate", body={"definition": document})
    assert (status, answer) == (200, {"valid": True, "problems": []})
    document["datasetName"] = "bad-name"
    document["actions"][0]["containerAction"]["resourceConfiguration"]["volumeSizeInGB"] = 99
    status, answer = await api("POST", "datasets", "validate", body={"definition": document})
    assert status == 200 and answer["valid"] is False
    paths = {p["path"] for p in answer["problems"]}
    assert "$.datasetName" in paths
    assert "$.actions[0].containerAction.resourceConfiguration.volumeSizeInGB" in paths
    assert all(p["rule"] and p["message"] for p in answer["problems"])


async def test_validate_bad_inputs(api) -> None:
    for body in ({}, {"definition": "text"}, {"definition": None}):
        status, answer = await api("POST", "datasets", "validate", body=body)
        assert (status, answer["field"]) == (400, "definition"), body
    status, answer = await api("POST", "datasets", "validate", body=["not", "an", "object"])
    assert (status, answer["field"]) == (400, None)


async def test_write_registers_the_definition(api, jp_root_dir: Path, iota_home: Path) -> None:
    write_notebook(jp_root_dir / "reports" / "nb.ipynb", "x = 1")
    body = {
        "path": "reports/sensor.dataset.yaml",
        "definition": local_dataset("sensor", "nb.ipynb"),
    }
    status, answer = await api("POST", "datasets", body=body)
    assert (status, answer) == (201, {"path": "reports/sensor.dataset.yaml", "name": "sensor"})
    assert (jp_root_dir / "reports" / "sensor.dataset.yaml").is_file()
    with StateStore.open(iota_home) as store:
        assert (
            store.dataset("sensor").source_file == jp_root_dir / "reports" / "sensor.dataset.yaml"
        )

    status, answer = await api("POST", "datasets", body=body)
    assert (status, answer["field"]) == (400, "path")
    status, answer = await api("POST", "datasets", body={**body, "overwrite": True})
    assert status == 201, answer


async def test_write_bad_inputs(api, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", "x = 1")
    good = local_dataset("sensor", "nb.ipynb")
    bad_volume = local_dataset("sensor", "nb.ipynb")
    bad_volume["actions"][0]["containerAction"]["resourceConfiguration"]["volumeSizeInGB"] = 0
    cases = [
        ({"definition": good}, 400, "path"),
        ({"path": "d.txt", "definition": good}, 400, "path"),
        ({"path": "d.yaml"}, 400, "definition"),
        ({"path": "d.yaml", "definition": good, "overwrite": "yes"}, 400, "overwrite"),
        (
            {"path": "d.yaml", "definition": bad_volume},
            400,
            "definition.actions.0.containerAction.resourceConfiguration.volumeSizeInGB",
        ),
        ({"path": "../d.yaml", "definition": good}, 404, "path"),
        ({"path": "/tmp/d.yaml", "definition": good}, 404, "path"),
        # The notebook a local run would run must be inside the root too.
        ({"path": "d.yaml", "definition": local_dataset("s", "../x.ipynb")}, 404, "path"),
    ]
    for body, code, field in cases:
        status, answer = await api("POST", "datasets", body=body)
        assert (status, answer["field"]) == (code, field), (body, answer)
        assert answer["message"]
    assert not (jp_root_dir / "d.yaml").exists()


async def test_run_now_then_the_report(api, jp_root_dir: Path, jp_base_url: str) -> None:
    write_notebook(
        jp_root_dir / "nb.ipynb",
        "print('greeting is', greeting)",
        parameters="greeting = 'hello'",
    )
    body = {
        "path": "hello.dataset.json",
        "definition": local_dataset("hello", "nb.ipynb", greeting="bonjour"),
    }
    status, answer = await api("POST", "datasets", body=body)
    assert status == 201, answer

    status, job = await api("POST", "datasets", "hello", "runs", body={})
    assert status == 202, job
    assert (job["kind"], job["datasetName"], job["notebook"]) == ("run", "hello", None)
    status, refused = await api("POST", "datasets", "hello", "runs", body={})
    assert status == 409, refused

    done = await wait_for_job(api, job["id"])
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["status"] == "SUCCEEDED"
    report_url = result["reportUrl"]
    prefix = f"{jp_base_url.rstrip('/')}/iota-container/api/"
    assert report_url == f"{prefix}datasets/hello/contents/{result['version']}/report"

    status, html = await api("GET", *report_url[len(prefix) :].split("/"))
    assert status == 200
    assert "<html" in html and "greeting is bonjour" in html


async def test_report_headers_keep_scripts_away_from_the_server(
    api, jp_fetch, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", "print(1)")
    await api(
        "POST",
        "datasets",
        body={"path": "one.json", "definition": local_dataset("one", "nb.ipynb")},
    )
    _, job = await api("POST", "datasets", "one", "runs")
    done = await wait_for_job(api, job["id"])
    response = await jp_fetch(
        "iota-container", "api", "datasets", "one", "contents", done["result"]["version"], "report"
    )
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in response.headers["Content-Security-Policy"]


async def test_run_and_report_of_what_does_not_exist(api) -> None:
    status, answer = await api("POST", "datasets", "nothing", "runs")
    assert status == 404 and "nothing" in answer["message"]
    status, answer = await api("GET", "datasets", "nothing", "contents", "v1", "report")
    assert status == 404


async def test_a_definition_the_engine_refuses_leaves_no_file_behind(
    api, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", "x = 1")
    # A rule only the engine can check, against what is registered: a container dataset
    # cannot trigger another one.
    upstream = {"path": "up.yaml", "definition": local_dataset("upstream", "nb.ipynb")}
    assert (await api("POST", "datasets", body=upstream))[0] == 201
    orphan = local_dataset("downstream", "nb.ipynb")
    orphan["triggers"] = [{"dataset": {"name": "upstream"}}]
    status, answer = await api("POST", "datasets", body={"path": "d.yaml", "definition": orphan})
    assert (status, answer["field"]) == (400, "definition"), answer
    assert "upstream cannot be triggered by a container dataset" in answer["message"]
    assert not (jp_root_dir / "d.yaml").exists()

    # Overwriting a good definition with a refused one keeps the good one, byte for byte.
    good = {"path": "d.yaml", "definition": local_dataset("downstream", "nb.ipynb")}
    assert (await api("POST", "datasets", body=good))[0] == 201
    before = (jp_root_dir / "d.yaml").read_bytes()
    body = {"path": "d.yaml", "definition": orphan, "overwrite": True}
    assert (await api("POST", "datasets", body=body))[0] == 400
    assert (jp_root_dir / "d.yaml").read_bytes() == before
