"""The containerize loop, end to end: `iota-container build` pushes an analysis image to
a real registry (daemonless `oci` backend, and the `docker` backend through the Docker
engine); the engine pulls what was pushed and runs it with a params file mounted, and
the container uploads its outputs to the moto S3 server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from iota_container import __version__
from iota_container.params_file import template_params, write_params
from tests.docker_helpers import run_with_params
from tests.notebooks import write_notebook
from tests.registry import RegistryServer
from tests.servers import MotoServer, header
from tests.support import run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def registry_with_base(
    docker_client: Any, base_image: str, registry: RegistryServer
) -> Iterator[str]:
    """The registry holding the base image where `build` looks for it by default."""
    repository = f"{registry.address}/iota-container/base"
    image = docker_client.images.get(base_image)
    image.tag(repository, tag=__version__)
    for line in docker_client.images.push(repository, tag=__version__, stream=True, decode=True):
        assert "error" not in line, line
    yield registry.address
    docker_client.images.remove(f"{repository}:{__version__}", noprune=True)


def analysis_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "acceptance.ipynb",
        "import iota_container as iota\n"
        "print('rows', rows, 'label', label)\n"
        "print('custom', iota.upload(f'{label}:{rows * 2}'.encode(), 'custom_output'))",
        parameters="rows = 1  # how many rows\nlabel = 'default'\ncustom_output = 'file:///tmp/x.txt'",
    )


def run_pulled_image(docker_client: Any, reference: str, moto: MotoServer, tmp_path: Path) -> str:
    bucket = moto.new_bucket("acc")
    root = f"s3://{bucket}/v1"
    # No Context.Analysis: the image's own NOTEBOOK_PATH names the notebook.
    params = write_params(
        template_params(root, {"rows": 21, "label": "acc", "custom_output": f"{root}/custom.txt"}),
        tmp_path / "params",
    )
    docker_client.images.pull(reference)
    code, logs = run_with_params(docker_client, reference, params, moto)
    assert code == 0, logs
    body = moto.s3().get_object(Bucket=bucket, Key="v1/output.ipynb")["Body"].read().decode()
    outputs = json.dumps([c.get("outputs", []) for c in nbformat.reads(body, as_version=4).cells])
    assert "rows 21 label acc" in outputs
    assert moto.s3().get_object(Bucket=bucket, Key="v1/custom.txt")["Body"].read() == b"acc:42"
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in moto.object_writes())
    return logs


@pytest.mark.parametrize("backend", ["oci", "docker"])
def test_build_push_pull_run(
    backend: str,
    registry_with_base: str,
    docker_client: Any,
    moto: MotoServer,
    tmp_path: Path,
) -> None:
    notebook = analysis_notebook(tmp_path)
    target = f"{registry_with_base}/acceptance/{backend}:v1"
    built = run_cli("build", str(notebook), "--repository", target, "--backend", backend, "--json")
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    reference = result["reference"]
    assert reference.startswith(f"{registry_with_base}/acceptance/{backend}@sha256:")

    described = run_cli("image", "inspect", reference, "--json")
    assert described.returncode == 0, described.stderr
    metadata = json.loads(described.stdout)
    assert metadata["notebook_path"] == "/home/iota/analysis/acceptance.ipynb"
    assert [(v["name"], v["datasetType"], v["description"]) for v in metadata["variables"]] == [
        ("rows", "double", "how many rows"),
        ("label", "string", ""),
        ("custom_output", "string", ""),
    ]
    run_pulled_image(docker_client, reference, moto, tmp_path)

    # A dataset definition written from the image alone.
    definition = tmp_path / f"{backend}.json"
    written = run_cli(
        "dataset",
        "new",
        f"acceptance_{backend}",
        "--from-image",
        reference,
        "--schedule",
        "cron(0 12 * * ? *)",
        "-o",
        str(definition),
    )
    assert written.returncode == 0, written.stderr
    action = json.loads(definition.read_text())["actions"][0]["containerAction"]
    assert action["image"] == reference
    assert action["variables"] == [
        {"name": "rows", "doubleValue": 1.0},
        {"name": "label", "stringValue": "default"},
        {"name": "custom_output", "outputFileUriValue": {"fileName": "custom_output.txt"}},
    ]

    rebuilt = run_cli(
        "build", str(notebook), "--repository", target, "--backend", backend, "--json"
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = json.loads(rebuilt.stdout)
    if backend == "oci":  # daemonless builds are reproducible and upload nothing twice
        assert again["reference"] == reference
        assert again["blobs_uploaded"] == 0
