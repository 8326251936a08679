"""Dataset runs through the Docker engine: an analysis image built by `iota-container
build --backend oci` into a real registry, pulled by the engine on its first run, reading
a SQL dataset's content and writing its outputs to the moto S3 server or to local
folders; a memory limit exceeded, and an image that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iota_container.docker_host import DEFAULT_SOCKET, local_socket_path
from iota_container.engine.home import Home
from iota_container.engine.records import FAILED, MODE_CONTAINER, SUCCEEDED
from iota_container.engine.run import DatasetEngine, raise_for_status
from iota_container.engine.state_store import StateStore
from iota_container.executors.engine_socket import UnixSocketEngine
from iota_container.storage import register_store
from iota_container.storage.s3 import S3Store
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import (
    container_dataset,
    content_var,
    double_var,
    output_var,
    run_failure,
    sql_dataset,
    write_definition,
)
from tests.docker_helpers import analysis_image_in
from tests.notebooks import write_notebook
from tests.registry import RegistryServer
from tests.servers import MotoServer, header

pytestmark = pytest.mark.e2e

HOT_DEVICES = """\
import csv, iota_container as iota
from iota_container.content import dataset_content
ballast = b'x' * int(ballast_mib) * 1024 * 1024  # memory the analysis holds on to
rows = list(csv.DictReader(open(dataset_content('readings'))))
hot = [row['device'] for row in rows if float(row['temp']) > threshold]
iota.upload(','.join(hot).encode(), 'alerts')"""


@pytest.fixture(params=["socket", "docker-py"])
def engine_api(request: pytest.FixtureRequest, docker_client: Any) -> Any:
    """Both engine clients a run can use: the standard-library one on the local socket
    (what `dataset run` picks) and docker-py (what it picks for a remote engine)."""
    if request.param == "socket":
        return UnixSocketEngine(local_socket_path() or DEFAULT_SOCKET)
    return docker_client.api


@pytest.fixture(scope="module")
def analysis_image(
    docker_client: Any,
    base_image: str,
    registry: RegistryServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The digest-pinned reference of an analysis image in the registry (not pulled yet)."""
    notebook = write_notebook(
        tmp_path_factory.mktemp("analysis") / "hot_devices.ipynb",
        HOT_DEVICES,
        parameters="readings = ''\nthreshold = 30.0\nballast_mib = 0.0\nalerts = ''",
    )
    with analysis_image_in(docker_client, base_image, registry, "dataset-e2e", notebook) as ref:
        yield ref


def register_pair(store: StateStore, folder: Path, image: str, ballast_mib: float = 0) -> None:
    """A SQL dataset of readings, and the container dataset that reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "readings.csv").write_text("device,temp\nA,20\nB,35\nC,40\n")
    hot = container_dataset(
        "hot_devices",
        content_var("readings", "readings"),
        double_var("threshold", 30),
        double_var("ballast_mib", ballast_mib),
        output_var("alerts", "alerts.txt"),
        image=image,
        triggers=[{"dataset": {"name": "readings"}}],
    )
    store.register(
        write_definition(folder, sql_dataset("readings", file="readings.csv")),
        write_definition(folder, hot),
    )


def test_a_container_run_reads_s3_content_and_writes_s3_outputs(
    engine_api: Any,
    analysis_image: str,
    docker_client: Any,
    moto: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in moto.client_env().items():
        monkeypatch.setenv(key, value)  # for this process and, passed through, the container
    register_store("s3", S3Store)  # a client for these settings, not a cached one
    bucket = f"datasets-{uuid.uuid4().hex[:10]}"
    moto.s3().create_bucket(Bucket=bucket)
    moto.reset_recording()
    store = StateStore(Home.locate(tmp_path / "home", f"s3://{bucket}/runs"))
    register_pair(store, tmp_path / "defs", analysis_image)
    engine = DatasetEngine(store, docker=engine_api)

    readings = raise_for_status(engine.run("readings"))
    assert readings.content_uri == f"s3://{bucket}/runs/readings/{readings.id}/readings.csv"
    version = engine.run("hot_devices")

    assert (version.status, version.mode, version.exit_code) == (SUCCEEDED, MODE_CONTAINER, 0), (
        version.reason
    )
    prefix = f"runs/hot_devices/{version.id}"
    s3 = moto.s3()
    assert s3.get_object(Bucket=bucket, Key=f"{prefix}/alerts.txt")["Body"].read() == b"B,C"
    report = s3.get_object(Bucket=bucket, Key=f"{prefix}/output.html")["Body"].read()
    assert report.startswith(b"<!DOCTYPE html>")
    writes = moto.object_writes()
    assert len(writes) == 4  # the SQL content, then alerts, the notebook and the report
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)
    log = Path(str(version.log_path)).read_text()
    assert "execute (kernel python3): done" in log


def test_local_outputs_and_a_memory_limit_exceeded(
    engine_api: Any,
    analysis_image: str,
    docker_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOTA_MEMORY_LIMIT", "300m")
    store = StateStore(Home.locate(tmp_path / "home"))
    register_pair(store, tmp_path / "defs", analysis_image)
    engine = DatasetEngine(store, docker=engine_api)
    raise_for_status(engine.run("readings"))

    # file:// content and outputs are mounted at their own paths; the image's user writes.
    version = raise_for_status(engine.run("hot_devices"))
    alerts = parse_output_uri(version.outputs["alerts"]).path
    assert alerts is not None and alerts.read_text() == "B,C"

    register_pair(store, tmp_path / "defs", analysis_image, ballast_mib=1024)
    failed = engine.run("hot_devices")
    assert failed.status == FAILED
    assert failed.reason == (
        "container exceeded its memory limit of 300 MiB: use computeType ACU_2, "
        "or make the analysis use less memory"
    )
    assert run_failure(failed).exit_code == 1


def test_a_missing_image_fails_the_version_with_one_line(
    engine_api: Any, docker_client: Any, registry: RegistryServer, tmp_path: Path
) -> None:
    store = StateStore(Home.locate(tmp_path / "home"))
    image = f"{registry.address}/dataset-e2e/never-built:v1"
    store.register(write_definition(tmp_path / "defs", container_dataset("ghost", image=image)))

    version = DatasetEngine(store, docker=engine_api).run("ghost")

    assert (version.status, version.exit_code) == (FAILED, None)
    reason = str(version.reason)
    assert reason.startswith(f"image {image} is not on this machine and cannot be pulled (")
    assert reason.endswith("): push it with `iota-container build`, or fix containerAction.image")
    assert "\n" not in reason
    assert run_failure(version).exit_code == 2
