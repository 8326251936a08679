"""Helpers for the sagemaker executor's tests: clients of the moto server with the
CreateTrainingJob requests captured as they go over the wire, a claimed run with its
params file, and a container started the way SageMaker starts one (`IMAGE train` with
the /opt/ml layout)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iota_container.engine.home import LOG_NAME, PARAMS_NAME
from iota_container.engine.records import Trigger
from iota_container.engine.resolve import resolve_run_params
from iota_container.engine.run import ClaimedRun, DatasetEngine
from iota_container.executors.base import AnalysisRun
from iota_container.params_file import write_params
from tests.servers import MotoServer

ML = "/opt/ml"


@dataclass
class WireCapture:
    """The JSON bodies of the requests of one operation, read from the prepared HTTP
    request botocore is about to send (`before-send`), not from the call's arguments."""

    operation: str
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, client: Any) -> Any:
        client.meta.events.register(f"before-send.sagemaker.{self.operation}", self._record)
        return client

    def _record(self, request: Any, **_: Any) -> None:
        self.bodies.append(json.loads(request.body))


def aws_client(moto: MotoServer, service: str) -> Any:
    import boto3

    env = moto.client_env()
    session: Any = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    return session.client(service, endpoint_url=moto.endpoint)


@contextmanager
def claimed_analysis_run(engine: DatasetEngine, name: str) -> Iterator[AnalysisRun]:
    """A version of `name` claimed as the engine claims one, its params file written: what
    the engine hands an executor. Its dataset's lock is held while the block runs."""
    (claimed,) = engine.claim([(name, Trigger.manual())])
    assert isinstance(claimed, ClaimedRun), claimed
    try:
        store = engine.store
        folder = store.home.version_dir(name, claimed.version.id)
        folder.mkdir(parents=True, exist_ok=True)
        run_params = resolve_run_params(
            claimed.dataset.definition,
            claimed.version.output_prefix,
            store,
            trigger=claimed.version.trigger,
            output_root=store.home.output_root,
        )
        params = write_params(run_params.document, folder / PARAMS_NAME, overwrite=True)
        yield AnalysisRun(claimed.dataset, claimed.version, run_params, params, folder / LOG_NAME)
    finally:
        claimed.lock.release()


def training_layout(folder: Path, params: Path, job_name: str) -> dict[str, dict[str, str]]:
    """/opt/ml as SageMaker lays it out for a job with the one File channel `iotanalytics`
    (config files, the channel's data, an empty output folder the image's user can write):
    the volumes that mount it."""
    config = folder / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text("{}")
    (config / "resourceconfig.json").write_text(
        json.dumps(
            {
                "current_host": "algo-1",
                "current_instance_type": "ml.m5.xlarge",
                "hosts": ["algo-1"],
                "network_interface_name": "eth0",
            }
        )
    )
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                "iotanalytics": {
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                    "RecordWrapperType": "None",
                }
            }
        )
    )
    (config / "trainingjobconfig.json").write_text(json.dumps({"TrainingJobName": job_name}))
    channel = folder / "input" / "data" / "iotanalytics"
    channel.mkdir(parents=True)
    (channel / "params").write_bytes(params.read_bytes())
    for writable in ("output", "model"):
        (folder / writable).mkdir()
        os.chmod(folder / writable, 0o777)  # the image runs as its own user (uid 1000)
    return {
        str(folder / "input"): {"bind": f"{ML}/input", "mode": "ro"},
        str(folder / "output"): {"bind": f"{ML}/output", "mode": "rw"},
        str(folder / "model"): {"bind": f"{ML}/model", "mode": "rw"},
    }


def run_as_training_job(
    docker_client: Any,
    image: str,
    volumes: dict[str, dict[str, str]],
    environment: dict[str, str],
    words: tuple[str, ...] = ("train",),
) -> tuple[int, str]:
    """`docker run IMAGE train` as SageMaker starts a training container: (exit code, logs)."""
    container = docker_client.containers.run(
        image,
        list(words),
        detach=True,
        network_mode="host",  # the moto server on the host's loopback
        environment=environment,
        volumes=volumes,
    )
    try:
        code = container.wait(timeout=300)["StatusCode"]
        return int(code), container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)
