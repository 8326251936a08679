"""The whole contract end to end: the base image built from Dockerfile.base (by the test
script, with a real Docker engine), run with a params file mounted read-only at
/opt/ml/input/data/iotanalytics/params, uploading to the moto S3 server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from iota_container.params_file import DEFAULT_PARAMS_PATH, template_params, write_params
from tests.notebooks import write_notebook
from tests.servers import MotoServer, header

pytestmark = pytest.mark.e2e


def run_container(
    docker_client: Any, image: str, params: Path, analysis_dir: Path, moto: MotoServer
) -> tuple[int, str]:
    container = docker_client.containers.run(
        image,
        detach=True,
        network_mode="host",  # reaches the moto server on the host's loopback
        environment=moto.client_env(),
        volumes={
            str(params): {"bind": DEFAULT_PARAMS_PATH, "mode": "ro"},
            str(analysis_dir): {"bind": "/home/iota/analysis", "mode": "ro"},
        },
    )
    try:
        status = container.wait(timeout=300)
        return int(status["StatusCode"]), container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)


def object_text(moto: MotoServer, uri: str) -> str:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return str(moto.s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode())


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    return moto.new_bucket("e2e")


def test_container_runs_the_analysis_and_uploads(
    docker_client: Any, base_image: str, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    analysis = tmp_path / "analysis"
    write_notebook(
        analysis / "report.ipynb",
        "import os, iota_container as iota\n"
        "print('uid', os.getuid(), 'site', site, 'limit', limit)\n"
        "print('custom', iota.upload(f'{site}: {limit}'.encode(), 'custom_output'))",
        parameters="site = 'lab'\nlimit = 1",
    )
    root = f"s3://{bucket}/dataset/version-1"
    document = template_params(
        root,
        {"site": "Zürich", "limit": 7, "custom_output": f"{root}/custom.txt"},
        analysis="analysis/report.ipynb",
    )
    params = write_params(document, tmp_path / "params")

    code, logs = run_container(docker_client, base_image, params, analysis, moto)
    assert code == 0, logs
    executed = nbformat.reads(object_text(moto, f"{root}/output.ipynb"), as_version=4)
    printed = json.dumps([cell.get("outputs", []) for cell in executed.cells], ensure_ascii=False)
    assert "uid 1000 site Zürich limit 7" in printed  # non-root, variables injected
    assert object_text(moto, f"{root}/custom.txt") == "Zürich: 7"
    assert object_text(moto, f"{root}/output.html").startswith("<!DOCTYPE html>")
    writes = moto.object_writes()
    assert len(writes) == 3
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)
    assert "iota-container: execute (kernel python3): done in" in logs


def test_failing_analysis_exits_1_and_still_uploads(
    docker_client: Any, base_image: str, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    analysis = tmp_path / "analysis"
    write_notebook(analysis / "broken.ipynb", "rows = 0", "print(10 / rows)")
    root = f"s3://{bucket}/failed"
    params = write_params(
        template_params(root, {"rows": 0}, analysis="analysis/broken.ipynb"), tmp_path / "params"
    )
    code, logs = run_container(docker_client, base_image, params, analysis, moto)
    assert code == 1, logs
    assert "error: cell 1 (In [2]) raised ZeroDivisionError: division by zero" in logs
    assert "ZeroDivisionError" in object_text(moto, f"{root}/output.html")


def test_missing_params_file_is_a_one_line_error(docker_client: Any, base_image: str) -> None:
    container = docker_client.containers.run(base_image, detach=True)
    try:
        code = container.wait(timeout=120)["StatusCode"]
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    assert code == 2
    assert output.strip() == (
        "error: params file '/opt/ml/input/data/iotanalytics/params' does not exist: "
        "mount it there, or point IOTA_PARAMS_PATH at it "
        "(`iota-container params init` writes a template)"
    )
