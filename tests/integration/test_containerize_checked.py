"""A containerize request is checked once and the checked result carried on: the notebook
is inspected once for the server's check and the worker's build and definition together;
the image it pushes (daemonless backend, real registry) describes itself in typed metadata
whose variables have one JSON spelling."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import iota_container.notebook.inspect as inspect_module
from iota_container.engine.state_store import StateStore
from iota_container.image.auth import ChainedCredentials
from iota_container.image.build import inspect_image
from iota_container.image.metadata import NOTEBOOK_LABEL, VARIABLES_LABEL
from iota_container.image.registry import RegistryClient
from jupyter_ext.models import CreateJob
from jupyter_ext.worker import EventWriter, containerize_job, encode_containerize
from tests.notebooks import write_notebook
from tests.oci_helpers import push_base, push_image
from tests.registry import RegistryServer
from tests.support import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> str:
    push_base(RegistryClient(registry.address, ChainedCredentials([])), "base/tiny", "1")
    return f"{registry.address}/base/tiny:1"


@pytest.fixture(scope="module")
def built(
    registry: RegistryServer, base: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One containerize job, as the server checks it and its worker runs it, with every
    inspection of the notebook counted."""
    folder = tmp_path_factory.mktemp("containerize")
    notebook = write_notebook(
        folder / "temp.ipynb",
        "print(rows, sites, strict)",
        parameters="rows = 3  # how many rows\nsites = ['north']\nstrict = False",
    )
    calls: list[object] = []
    original = inspect_module.notebook_variables

    def counted(document: Any) -> Any:
        calls.append(document)
        return original(document)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inspect_module, "notebook_variables", counted)
        body = {
            "notebook": "temp.ipynb",
            "name": "temp-daily",
            "image": {"repository": f"{registry.address}/checked/temp:v1", "base": base},
            "trigger": {"schedule": "rate(1 day)"},
        }
        checked = CreateJob.from_json(body).containerize(
            notebook=notebook,
            definition_path=folder / "temp-daily.dataset.yaml",
            requirements=None,
            backend="oci",
            home=str(folder / "home"),
            output_root=(folder / "outputs").as_uri(),
        )
        inspected_by_server = len(calls)
        # The worker reads its job from a pipe, as JSON.
        request = json.loads(json.dumps(encode_containerize(checked.request)))
        events = io.StringIO()
        result = containerize_job({"request": request, "definition": "x"}, EventWriter(events))
    return {
        "folder": folder,
        "result": result,
        "inspected_by_server": inspected_by_server,
        "inspections": len(calls),
    }


def test_the_notebook_is_inspected_once_for_the_check_the_build_and_the_definition(
    built: dict[str, Any],
) -> None:
    assert built["inspected_by_server"] == 1
    assert built["inspections"] == 1  # the worker, its build and its definition: none more


def test_the_checked_definition_is_written_and_registered_with_the_pinned_image(
    built: dict[str, Any],
) -> None:
    folder, image = built["folder"], built["result"]["image"]
    document = yaml.safe_load((folder / "temp-daily.dataset.yaml").read_text())
    action = document["actions"][0]["containerAction"]
    assert action["image"] == image and "@sha256:" in image
    assert action["variables"] == [
        {"name": "rows", "doubleValue": 3.0},
        {"name": "sites", "stringValue": '["north"]'},
        {"name": "strict", "stringValue": "false"},
    ]
    with StateStore.open(str(folder / "home")) as store:
        registered = store.dataset("temp_daily").definition
    assert registered.container_action is not None
    assert registered.container_action.image == image


def test_image_inspect_gives_typed_metadata_and_one_spelling_of_variables(
    built: dict[str, Any], registry: RegistryServer
) -> None:
    image = built["result"]["image"]
    described = inspect_image(image)
    assert described.reference == image
    assert [(v.name, v.python_type, v.default) for v in described.metadata.variables] == [
        ("rows", "int", 3),
        ("sites", "list", ["north"]),
        ("strict", "bool", False),
    ]
    shown = run_cli("image", "inspect", image, "--json")
    assert shown.returncode == 0, shown.stderr
    answer = json.loads(shown.stdout)
    assert answer["reference"] == image
    assert answer["variables"][0] == {
        "name": "rows",
        "type": "int",
        "default": 3,
        "description": "how many rows",
        "datasetType": "double",
        "hint": None,
    }
    text = run_cli("image", "inspect", image)
    assert "variable:  rows (double, default 3) how many rows" in text.stdout, text.stderr


def test_dataset_new_from_the_image(built: dict[str, Any], tmp_path: Path) -> None:
    image = built["result"]["image"]
    target = tmp_path / "from-image.json"
    made = run_cli("dataset", "new", "from_image", "--from-image", image, "-o", str(target))
    assert made.returncode == 0, made.stderr
    action = json.loads(target.read_text())["actions"][0]["containerAction"]
    assert action["image"] == image
    assert {"name": "sites", "stringValue": '["north"]'} in action["variables"]


def test_an_image_labelled_in_the_old_spelling_still_reads(
    registry: RegistryServer, tmp_path: Path
) -> None:
    old_label = [
        {"name": "rows", "python_type": "int", "default": 3, "dataset_type": "double"},
        {"name": "note", "python_type": "str", "default": "x", "dataset_type": "string"},
    ]
    labels = {
        NOTEBOOK_LABEL: "/home/iota/analysis/old.ipynb",
        VARIABLES_LABEL: json.dumps(old_label),
    }
    client = RegistryClient(registry.address, ChainedCredentials([]))
    push_image(client, "checked/old", "1", [{"etc/old": b"1\n"}], labels=labels)
    described = inspect_image(f"{registry.address}/checked/old:1")
    assert [(v.name, v.python_type, v.dataset_type) for v in described.metadata.variables] == [
        ("rows", "int", "double"),
        ("note", "str", "string"),
    ]
    shown = json.loads(
        run_cli("image", "inspect", f"{registry.address}/checked/old:1", "--json").stdout
    )
    assert [set(v) for v in shown["variables"]] == [
        {"name", "type", "default", "description", "datasetType", "hint"}
    ] * 2
