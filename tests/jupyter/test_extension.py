"""The extension is found the way Jupyter finds it, and its traits configure it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import jupyter_ext
from jupyter_ext.app import IotaContainerExtension
from tests.jupyter.helpers import local_dataset, wait_for_status
from tests.notebooks import write_notebook
from tests.support import ROOT


def test_entry_points_and_enabling_config() -> None:
    assert jupyter_ext._jupyter_server_extension_points() == [
        {"module": "jupyter_ext.app", "app": IotaContainerExtension}
    ]
    assert jupyter_ext._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "iota-container-jupyter"}
    ]
    config = ROOT / "jupyter-config" / "jupyter_server_config.d" / "jupyter_ext.json"
    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"jupyter_ext": True}}
    }


def test_the_default_backend_is_one_the_registry_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    from traitlets import TraitError

    from iota_container.image import backends

    with pytest.raises(
        TraitError, match=r"default_backend 'kaniko' is unknown: use one of docker, oci"
    ):
        IotaContainerExtension(default_backend="kaniko")
    monkeypatch.setattr(backends, "_factories", dict(backends._factories))
    backends.register_backend("kaniko", lambda settings: None)  # type: ignore[arg-type,return-value]
    assert IotaContainerExtension(default_backend="kaniko").default_backend == "kaniko"
    assert IotaContainerExtension().default_backend == ""


def test_the_server_loaded_it(jp_serverapp: Any) -> None:
    extension = jp_serverapp.extension_manager.extension_apps["jupyter_ext"]
    (app,) = extension
    assert isinstance(app, IotaContainerExtension)
    # This module configures max_running_jobs = 2 (below).
    assert app.run_in_container == "process" and app.max_running_jobs == 2


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["IotaContainerExtension"]["max_running_jobs"] = 2
    return jp_server_config


async def test_max_running_jobs(api, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "slow.ipynb", "import time\ntime.sleep(120)")
    ids = []
    for name in ("slow_a", "slow_b", "slow_c"):
        body = {"path": f"{name}.json", "definition": local_dataset(name, "slow.ipynb")}
        assert (await api("POST", "datasets", body=body))[0] == 201
        _, job = await api("POST", "datasets", name, "runs")
        ids.append(job["id"])
    await wait_for_status(api, ids[0], "running")
    await wait_for_status(api, ids[1], "running")
    _, third = await api("GET", "jobs", ids[2])
    assert third["status"] == "queued"
    for job_id in reversed(ids):
        _, stopped = await api("POST", "jobs", job_id, "cancel")
        assert stopped["status"] == "cancelled"
