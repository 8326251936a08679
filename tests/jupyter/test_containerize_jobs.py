"""A containerize job end to end through the API: the daemonless oci backend pushes to a
real registry, the definition is written, valid and registered; one job a notebook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from iota_container.engine.state_store import StateStore
from iota_container.image.auth import ChainedCredentials
from iota_container.image.registry import RegistryClient
from iota_container.image.spec import PHASES
from jupyter_ext.job_store import STORE_NAME
from tests.jupyter.helpers import wait_for_job
from tests.notebooks import write_notebook
from tests.oci_helpers import push_base
from tests.registry import RegistryServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> str:
    push_base(RegistryClient(registry.address, ChainedCredentials([])), "base/tiny", "1")
    return f"{registry.address}/base/tiny:1"


def job_body(registry: RegistryServer, base: str, **fields: Any) -> dict[str, Any]:
    return {
        "notebook": "analyses/temp.ipynb",
        "name": "temp-daily",
        "description": "Daily temperature summary",
        "image": {
            "repository": f"{registry.address}/analyses/temp:v1",
            "base": base,
            "backend": "oci",
        },
        "trigger": {"schedule": "cron(0 12 * * ? *)"},
        "resourceConfiguration": {"computeType": "ACU_2", "volumeSizeInGB": 3},
        **fields,
    }


async def test_containerize_end_to_end(
    api, jp_root_dir: Path, iota_home: Path, registry: RegistryServer, base: str
) -> None:
    write_notebook(
        jp_root_dir / "analyses" / "temp.ipynb",
        "print(rows, label)",
        parameters="rows = 3  # how many rows\nlabel = 'all'",
    )
    _, found = await api("GET", "variables", params={"path": "analyses/temp.ipynb"})
    variables = found["variables"]
    del variables[0]["default"]  # edited in the table, as the wizard sends it: text
    variables[0]["defaultText"] = "7"
    variables.append(  # and one added by hand
        {"name": "site", "type": "str", "default": "north", "datasetType": "string"}
    )

    status, job = await api("POST", "jobs", body=job_body(registry, base, variables=variables))
    assert status == 202, job
    assert (job["kind"], job["notebook"], job["datasetName"]) == (
        "containerize",
        "analyses/temp.ipynb",
        "temp_daily",
    )
    assert job["status"] in ("queued", "running")

    # One job a notebook: the second is refused while the first has not ended.
    status, refused = await api("POST", "jobs", body=job_body(registry, base, overwrite=True))
    assert status == 409, refused
    assert job["id"] in refused["message"] and refused["field"] == "notebook"

    done = await wait_for_job(api, job["id"])
    assert done["status"] == "succeeded", done
    result = done["result"]
    image = result["image"]
    assert image.startswith(f"{registry.address}/analyses/temp@sha256:")
    assert result["definition"] == "analyses/temp-daily.dataset.yaml"
    assert result["bytesUploaded"] > 0 and done["transfers"]
    assert done["startedAt"] and done["endedAt"] and done["error"] is None
    # The bytes the job showed pushed are the bytes the build says it uploaded.
    pushed = [t for t in done["transfers"].values() if t["phase"] == "pushing"]
    assert sum(t["done"] for t in pushed) == result["bytesUploaded"], done["transfers"]
    assert all(t["done"] == t["total"] for t in pushed)

    # Every phase, in order, as the job store kept them from the worker's events.
    saved = json.loads((iota_home / STORE_NAME).read_text())["jobs"]
    (record,) = [r for r in saved if r["id"] == job["id"]]
    assert [entered["phase"] for entered in record["phases"]] == list(PHASES)
    assert [entered["at"] for entered in record["phases"]] == sorted(
        entered["at"] for entered in record["phases"]
    )
    assert record["phase"] == done["phase"] == "done"
    assert done["phases"] == record["phases"]

    digest = image.split("@", 1)[1]
    head = requests.head(
        f"{registry.url}/v2/analyses/temp/manifests/{digest}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    assert head.status_code == 200

    document = yaml.safe_load((jp_root_dir / result["definition"]).read_text())
    action = document["actions"][0]["containerAction"]
    assert action["image"] == image
    assert action["resourceConfiguration"] == {"computeType": "ACU_2", "volumeSizeInGB": 3}
    assert action["variables"] == [
        {"name": "rows", "doubleValue": 7.0},
        {"name": "label", "stringValue": "all"},
        {"name": "site", "stringValue": "north"},
    ]
    assert action["x-iota-notebook"] == "temp.ipynb"
    status, checked = await api("POST", "datasets", "validate", body={"definition": document})
    assert (status, checked) == (200, {"valid": True, "problems": []})
    with StateStore.open(iota_home) as store:
        assert store.dataset("temp_daily").definition.container_action is not None

    status, log = await api("GET", "jobs", job["id"], "log", params={"since": "0"})
    assert status == 200 and any("registering dataset temp_daily" in line for line in log["lines"])
    status, rest = await api("GET", "jobs", job["id"], "log", params={"since": str(log["next"])})
    assert rest == {"lines": [], "next": log["next"]}

    status, listed = await api("GET", "jobs")
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]

    # Once it ended, the notebook takes a new job; the definition exists now.
    status, again = await api("POST", "jobs", body=job_body(registry, base))
    assert (status, again["field"]) == (400, "definitionPath")


async def test_a_failed_build_fails_the_job_with_its_reason(
    api, jp_root_dir: Path, registry: RegistryServer
) -> None:
    write_notebook(jp_root_dir / "analyses" / "temp.ipynb", "x = 1")
    missing_base = f"{registry.address}/base/missing:1"
    status, job = await api("POST", "jobs", body=job_body(registry, missing_base))
    assert status == 202, job
    done = await wait_for_job(api, job["id"])
    assert done["status"] == "failed"
    assert "base/missing" in done["error"]
    assert done["phase"] == "building"  # where it failed, not past it
    assert not (jp_root_dir / "analyses" / "temp-daily.dataset.yaml").exists()
