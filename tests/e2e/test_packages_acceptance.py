"""A notebook's packages, end to end: a notebook that imports pandas and matplotlib (with a
plot), a helper module and a data file beside it is built with the daemonless backend
while no Docker engine is reachable for the build, then pulled and run by the Docker
engine with a params file mounted, and through `dataset run`. A second notebook with the
same imports reuses the dependency layer: nothing of it is uploaded again.

The packages come from the package index this machine reaches, through pip, as a user's
build would fetch them (pip's own cache makes later runs quick)."""

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
from tests.plots import cell_png
from tests.registry import RegistryServer
from tests.servers import MotoServer, header
from tests.support import run_cli

pytestmark = pytest.mark.e2e

# Where `build` finds no engine: the daemonless backend needs none.
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}

ANALYSIS = """\
import iota_container as iota
import pandas as pd
import matplotlib.pyplot as plt
from helpers import above

readings = pd.read_csv("readings.csv")
hot = above(readings, threshold)
print("hot hours", list(hot.hour))
iota.upload(hot.to_csv(index=False).encode(), "alerts_file")"""

PLOT = """\
%matplotlib inline
fig, ax = plt.subplots()
ax.plot(readings.hour, readings.temp)
ax.axhline(threshold, color="red")
plt.show()"""

HELPERS = '''\
def above(frame, threshold):
    """The rows of `frame` hotter than `threshold`."""
    return frame[frame.temp > threshold]
'''


def analysis_folder(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helpers.py").write_text(HELPERS)
    (folder / "readings.csv").write_text("hour,temp\n0,21.5\n1,26.0\n2,31.5\n3,29.0\n")
    return write_notebook(
        folder / f"{name}.ipynb",
        ANALYSIS,
        PLOT,
        parameters="threshold = 27.5\nalerts_file = 'file:///tmp/alerts.csv'",
    )


@pytest.fixture(scope="module")
def registry_with_base(
    docker_client: Any, base_image: str, registry: RegistryServer
) -> Iterator[str]:
    repository = f"{registry.address}/iota-container/base"
    docker_client.images.get(base_image).tag(repository, tag=__version__)
    for line in docker_client.images.push(repository, tag=__version__, stream=True, decode=True):
        assert "error" not in line, line
    yield registry.address
    docker_client.images.remove(f"{repository}:{__version__}", noprune=True)


@pytest.fixture(scope="module")
def built(registry_with_base: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    notebook = analysis_folder(tmp_path_factory.mktemp("first"), "sensors")
    target = f"{registry_with_base}/packages/sensors:v1"
    result = run_cli(
        "build", str(notebook), "-r", target, "--backend", "oci", "--json",
        env=NO_ENGINE, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_image_holds_the_packages_the_local_module_and_the_data_file(
    built: dict[str, Any], docker_client: Any, moto: MotoServer, tmp_path: Path
) -> None:
    pinned = {name.split("==")[0] for name in built["distributions"]}
    assert {"pandas", "matplotlib", "numpy"} <= pinned
    # The base's own distributions are not installed again.
    assert not pinned & {"boto3", "ipykernel", "nbclient", "iota-container"}

    bucket = moto.new_bucket("packages")
    root = f"s3://{bucket}/v1"
    params = write_params(
        template_params(root, {"threshold": 28.0, "alerts_file": f"{root}/alerts.csv"}),
        tmp_path / "params",
    )
    docker_client.images.pull(built["reference"])
    code, logs = run_with_params(docker_client, built["reference"], params, moto)
    assert code == 0, logs

    s3 = moto.s3()
    alerts = s3.get_object(Bucket=bucket, Key="v1/alerts.csv")["Body"].read().decode()
    assert alerts.splitlines() == ["hour,temp", "2,31.5", "3,29.0"]
    executed = nbformat.reads(
        s3.get_object(Bucket=bucket, Key="v1/output.ipynb")["Body"].read().decode(),
        as_version=4,
    )
    assert cell_png(executed, "plt.show()")  # the plot cell's own image/png output
    writes = moto.object_writes()
    assert writes and all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)


def test_pip_check_passes_in_the_image(built: dict[str, Any], docker_client: Any) -> None:
    output = docker_client.containers.run(
        built["reference"], entrypoint=["python", "-m", "pip", "check"], remove=True
    )
    assert b"No broken requirements found." in bytes(output)


def test_image_inspect_shows_the_lock(built: dict[str, Any]) -> None:
    described = run_cli("image", "inspect", built["reference"], "--json")
    assert described.returncode == 0, described.stderr
    lock = json.loads(described.stdout)["lock"]
    pins = {d["distribution"]: d for d in lock["distributions"]}
    assert pins["pandas"]["modules"] == ["pandas"]
    assert len(pins["pandas"]["sha256"]) == 64
    assert lock["python_version"] == "3.11"


def test_a_second_notebook_with_the_same_imports_uploads_nothing_of_the_dependency_layer(
    built: dict[str, Any], registry_with_base: str, tmp_path: Path
) -> None:
    notebook = analysis_folder(tmp_path / "second", "other")
    target = f"{registry_with_base}/packages/other:v1"
    result = run_cli(
        "build", str(notebook), "-r", target, "--backend", "oci", "--json", env=NO_ENGINE
    )
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout)
    assert second["distributions"] == built["distributions"]
    own_files = sum(p.stat().st_size for p in notebook.parent.iterdir())
    # The notebook layer, the config and the manifest: the dependency layer was mounted.
    assert second["bytes_uploaded"] <= own_files + 20_000, second
    assert second["blobs_uploaded"] == 2


def test_the_same_image_runs_through_dataset_run(
    built: dict[str, Any], tmp_path: Path, docker_client: Any
) -> None:
    home = tmp_path / "home"
    definition = tmp_path / "sensors.json"
    env = {"IOTA_HOME": str(home)}
    written = run_cli(
        "dataset", "new", "sensors", "--from-image", built["reference"],
        "--schedule", "cron(0 12 * * ? *)", "-o", str(definition), env=env,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    registered = run_cli("dataset", "register", str(definition), env=env)
    assert registered.returncode == 0, registered.stderr
    ran = run_cli("dataset", "run", "sensors", "--json", env=env, timeout=600)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    version = json.loads(ran.stdout)
    assert version["status"] == "SUCCEEDED", version
    alerts = Path(version["outputs"]["alerts_file"].removeprefix("file://"))
    assert alerts.read_text().splitlines() == ["hour,temp", "2,31.5", "3,29.0"]
