"""An analysis image started the way SageMaker starts a training container, which the
moto server cannot do (it runs no container): `docker run IMAGE train` with /opt/ml laid
out as for a job with the channel `iotanalytics` (config files, the params file the
engine resolved, a writable /opt/ml/output), writing its outputs to the moto S3 server.
A failed run leaves its one-line reason in /opt/ml/output/failure, which SageMaker shows
as the job's FailureReason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iota_container.engine.home import Home
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from iota_container.executors.sagemaker import SageMakerExecutor
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import (
    container_dataset,
    double_var,
    output_var,
    string_var,
    write_definition,
)
from tests.docker_helpers import analysis_image_in
from tests.notebooks import write_notebook
from tests.registry import RegistryServer
from tests.sagemaker import claimed_analysis_run, run_as_training_job, training_layout
from tests.servers import MotoServer, header

pytestmark = pytest.mark.e2e

REPORT = """\
import iota_container as iota
print('site', site)
iota.upload(site.encode(), 'alerts')
ratio = 1 / divisor"""


@pytest.fixture(scope="module")
def analysis_image(
    docker_client: Any,
    base_image: str,
    registry: RegistryServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    notebook = write_notebook(
        tmp_path_factory.mktemp("analysis") / "site_report.ipynb",
        REPORT,
        parameters="site = ''\nalerts = ''\ndivisor = 1.0",
    )
    with analysis_image_in(docker_client, base_image, registry, "sagemaker-e2e", notebook) as ref:
        yield ref


def start_as_training_job(
    tmp_path: Path,
    image: str,
    moto: MotoServer,
    docker_client: Any,
    divisor: float,
    words: tuple[str, ...] = ("train",),
) -> tuple[int, str, Path, dict[str, str]]:
    """A version resolved by the engine for the sagemaker executor, its params file laid
    at /opt/ml/input/data/iotanalytics/params: (exit code, logs, /opt/ml, outputs)."""
    bucket = moto.new_bucket("sagemaker-e2e")
    store = StateStore(Home.locate(tmp_path / "home", f"s3://{bucket}/runs"))
    definition = container_dataset(
        "site_report",
        string_var("site", "Zürich"),
        double_var("divisor", divisor),
        output_var("alerts", "alerts.txt"),
        image=image,
    )
    store.register(write_definition(tmp_path / "defs", definition))
    engine = DatasetEngine(store, executor=SageMakerExecutor())
    ml = tmp_path / "ml"
    with claimed_analysis_run(engine, "site_report") as run:
        volumes = training_layout(ml, run.params_path, run.run_id)
        # SageMaker gives the job's name; the moto endpoint stands in for the role's S3.
        environment = moto.client_env() | {"TRAINING_JOB_NAME": run.run_id}
        moto.reset_recording()
        code, logs = run_as_training_job(docker_client, image, volumes, environment, words)
    return code, logs, ml, run.run_params.outputs


def object_bytes(moto: MotoServer, uri: str) -> bytes:
    target = parse_output_uri(uri)
    return bytes(moto.s3().get_object(Bucket=target.bucket, Key=target.key)["Body"].read())


def test_the_image_runs_as_a_training_job_and_uploads(
    analysis_image: str, docker_client: Any, moto: MotoServer, tmp_path: Path
) -> None:
    code, logs, ml, outputs = start_as_training_job(
        tmp_path, analysis_image, moto, docker_client, divisor=4
    )

    assert code == 0, logs
    assert "started by SageMaker: training job iota-site-report-" in logs
    assert "host algo-1" in logs
    assert object_bytes(moto, outputs["alerts"]) == "Zürich".encode()
    assert object_bytes(moto, outputs["html"]).startswith(b"<!DOCTYPE html>")
    writes = moto.object_writes()
    assert len(writes) == 3  # alerts, the notebook and the report
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)
    assert not (ml / "output" / "failure").exists()


def test_a_failed_analysis_leaves_its_reason_in_the_failure_file(
    analysis_image: str, docker_client: Any, moto: MotoServer, tmp_path: Path
) -> None:
    code, logs, ml, outputs = start_as_training_job(
        tmp_path, analysis_image, moto, docker_client, divisor=0
    )

    assert code == 1, logs
    failure = (ml / "output" / "failure").read_text()
    assert failure.count("\n") == 1 and failure.endswith("\n")
    assert "ZeroDivisionError" in failure and "outputs uploaded" in failure
    # A failed analysis still leaves its executed notebook and report.
    assert object_bytes(moto, outputs["html"]).startswith(b"<!DOCTYPE html>")


def test_a_second_word_is_refused_into_the_failure_file(
    analysis_image: str, docker_client: Any, moto: MotoServer, tmp_path: Path
) -> None:
    code, logs, ml, _ = start_as_training_job(
        tmp_path, analysis_image, moto, docker_client, divisor=1, words=("train", "extra")
    )

    assert code == 2, logs
    reason = "`iota-container run` takes no words but 'train'"
    assert f"error: {reason}" in logs
    failure = (ml / "output" / "failure").read_text()
    assert failure.startswith(reason) and "'train extra'" in failure
    assert moto.object_writes() == []  # nothing ran
