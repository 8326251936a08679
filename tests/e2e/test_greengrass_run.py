"""A Greengrass recipe's lifecycle, run for real against the Docker engine.

No Greengrass nucleus runs here, so the test plays its part: it interpolates the recipe
variables ({work:path}, {artifacts:path}, {configuration:/...}), pulls the docker:
artifacts as the Docker application manager does, downloads s3: artifacts, sets the
environment the nucleus gives a component (AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN from the token exchange service, SVCUID and the IPC
socket path), and runs the lifecycle scripts with bash. The token exchange service is a
small HTTP server in the test that serves container credentials only for the right
token; the container uploads its outputs to the moto S3 server over the host network.
"""

from __future__ import annotations

import datetime
import http.server
import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_build_acceptance import analysis_notebook, registry_with_base  # noqa: F401
from tests.servers import MotoServer, header
from tests.support import run_cli

pytestmark = pytest.mark.e2e

TOKEN = "token-" + uuid.uuid4().hex


class TokenExchangeStandIn:
    """Serves container credentials at /2016-11-01/credentialprovider/ (the path the
    token exchange service uses) to requests whose Authorization is the token."""

    def __init__(self) -> None:
        self.requests: list[str | None] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                stand_in.requests.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != TOKEN:
                    self.send_response(403)
                    self.end_headers()
                    return
                expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
                body = json.dumps(
                    {
                        "AccessKeyId": "testing",
                        "SecretAccessKey": "testing",
                        "Token": "testing-session",
                        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.uri = f"http://localhost:{port}/2016-11-01/credentialprovider/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class NucleusStandIn:
    """Runs a recipe's lifecycle steps as the nucleus would, in `root`."""

    def __init__(self, recipe: dict[str, Any], root: Path, tes: TokenExchangeStandIn) -> None:
        self.recipe = recipe
        self.work = root / "work"
        self.artifacts = root / "artifacts"
        self.work.mkdir(parents=True)
        self.artifacts.mkdir(parents=True)
        socket = root / "ipc.socket"
        socket.touch()
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(root),
            "AWS_REGION": "us-east-1",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": tes.uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN,
            "SVCUID": "stand-in-svcuid",
            "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": str(socket),
        }
        if "DOCKER_HOST" in os.environ:
            self.env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.recipe["Manifests"][0])

    def interpolate(self, script: str) -> str:
        configuration = self.recipe["ComponentConfiguration"]["DefaultConfiguration"]

        def configuration_value(match: re.Match[str]) -> str:
            node: Any = configuration
            for part in match.group(1).strip("/").split("/"):
                node = node[part]
            # The nucleus writes an object node as its JSON text, a value node as text.
            return json.dumps(node, separators=(",", ":")) if isinstance(node, dict) else str(node)

        text = script.replace("{work:path}", str(self.work))
        text = text.replace("{artifacts:path}", str(self.artifacts))
        return re.sub(r"\{configuration:(/[^}]*)\}", configuration_value, text)

    def script(self, step: str) -> str:
        return self.interpolate(self.manifest["Lifecycle"][step]["Script"])

    def fetch_artifacts(self, moto: MotoServer) -> None:
        for artifact in self.manifest["Artifacts"]:
            uri = artifact["URI"]
            if uri.startswith("docker:"):  # what the Docker application manager does
                subprocess.run(["docker", "pull", uri[len("docker:") :]], check=True, env=self.env)
            else:
                bucket, key = uri[len("s3://") :].split("/", 1)
                moto.s3().download_file(bucket, key, str(self.artifacts / key.rsplit("/", 1)[-1]))

    def run_step(self, step: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", self.script(step)],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_step(self, step: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as handle:
            return subprocess.Popen(
                ["bash", "-c", self.script(step)],
                cwd=self.work,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )


@pytest.fixture
def tes() -> Iterator[TokenExchangeStandIn]:
    server = TokenExchangeStandIn()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    return moto.new_bucket("edge")


def built_image(registry: str, tmp_path: Path, name: str) -> str:
    notebook = analysis_notebook(tmp_path)
    target = f"{registry}/greengrass/{name}:v1"
    built = run_cli("build", str(notebook), "--repository", target, "--backend", "oci", "--json")
    assert built.returncode == 0, built.stderr
    return str(json.loads(built.stdout)["reference"])


def write_recipe(
    tmp_path: Path, reference: str, *options: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    recipe_file = tmp_path / "recipe.yaml"
    made = run_cli(
        "greengrass",
        "recipe",
        reference,
        "--component-name",
        "com.example.EdgeReport",
        "--component-version",
        "1.0.0",
        "-o",
        str(recipe_file),
        *options,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    checked = run_cli("greengrass", "validate", str(recipe_file))
    assert checked.returncode == 0, checked.stdout
    document: dict[str, Any] = yaml.safe_load(recipe_file.read_text())
    return document


def run_folders(moto: MotoServer, bucket: str) -> dict[str, dict[str, bytes]]:
    """Objects under edge/, by run folder (the @RUN_ID@ the Run step filled in)."""
    s3 = moto.s3()
    folders: dict[str, dict[str, bytes]] = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="edge/").get("Contents", []):
        _, run_id, name = item["Key"].split("/", 2)
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        folders.setdefault(run_id, {})[name] = body
    return folders


def run_options(bucket: str, moto: MotoServer) -> list[str]:
    root = f"s3://{bucket}/edge/@RUN_ID@"
    return [
        "--output-root",
        root,
        "--var",
        "rows=21",
        "--var",
        "label=edge",
        "--var",
        f"custom_output={root}/custom.txt",
        "--env",
        f"AWS_ENDPOINT_URL={moto.endpoint}",
    ]


def test_run_once_uploads_with_token_exchange_credentials(
    registry_with_base: str,  # noqa: F811
    moto: MotoServer,
    tes: TokenExchangeStandIn,
    bucket: str,
    tmp_path: Path,
) -> None:
    reference = built_image(registry_with_base, tmp_path, "once")
    recipe = write_recipe(tmp_path, reference, *run_options(bucket, moto), "--ipc")
    assert recipe["Manifests"][0]["Artifacts"] == [{"URI": f"docker:{reference}"}]
    nucleus = NucleusStandIn(recipe, tmp_path / "device", tes)
    nucleus.fetch_artifacts(moto)

    ran = nucleus.run_step("Run")
    assert ran.returncode == 0, ran.stdout + ran.stderr

    folders = run_folders(moto, bucket)
    assert len(folders) == 1, folders.keys()
    ((run_id, outputs),) = folders.items()
    assert re.fullmatch(r"\d{8}T\d{6}Z", run_id)
    assert outputs["custom.txt"] == b"edge:42"
    assert b"rows 21 label edge" in outputs["output.ipynb"]
    assert outputs["output.html"].startswith(b"<!DOCTYPE html>")
    writes = moto.object_writes()
    assert len(writes) == 3
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)
    # The container got its credentials from the token exchange service, with the token.
    assert tes.requests and set(tes.requests) == {TOKEN}
    params = json.loads((nucleus.work / "params.json").read_text())
    assert params["Variables"]["custom_output"] == f"s3://{bucket}/edge/{run_id}/custom.txt"
    assert nucleus.run_step("Recover").returncode == 0


def test_tarball_from_s3_runs_at_an_interval_and_stops_on_shutdown(
    registry_with_base: str,  # noqa: F811
    docker_client: Any,
    moto: MotoServer,
    tes: TokenExchangeStandIn,
    bucket: str,
    tmp_path: Path,
) -> None:
    reference = built_image(registry_with_base, tmp_path, "tarball")
    archive_uri = f"s3://{bucket}/images/edge-report.tar"
    recipe = write_recipe(
        tmp_path,
        reference,
        *run_options(bucket, moto),
        "--interval",
        "1",
        "--image-source",
        "s3",
        "--image-archive-uri",
        archive_uri,
        "--save-image",
        str(tmp_path / "edge-report.tar"),
        "--upload-image",
        env=moto.client_env(),
    )
    manifest = recipe["Manifests"][0]
    assert manifest["Artifacts"] == [{"URI": archive_uri}]
    image_id = docker_client.images.get(reference).id
    # The device has no copy of the image: only the tarball brings it.
    docker_client.images.remove(image_id, force=True)
    nucleus = NucleusStandIn(recipe, tmp_path / "device", tes)
    nucleus.fetch_artifacts(moto)
    installed = nucleus.run_step("Install")
    assert installed.returncode == 0, installed.stderr
    assert docker_client.images.get(image_id).id == image_id

    log = tmp_path / "run.log"
    running = nucleus.start_step("Run", log)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(complete_runs(moto, bucket)) < 2:
            assert running.poll() is None, log.read_text()
            time.sleep(1)
        assert len(complete_runs(moto, bucket)) >= 2, log.read_text()
        stopped = nucleus.run_step("Shutdown", timeout=60)
        assert stopped.returncode == 0
        assert running.wait(60) == 0  # the loop ends: no run starts after Shutdown
        assert not docker_client.containers.list(all=True, filters={"name": "iota-com.example"})
    finally:
        running.terminate()  # the nucleus ends the Run process when the component stops
        running.wait(30)
    assert "run ended with exit code 0" in log.read_text()


def complete_runs(moto: MotoServer, bucket: str) -> list[str]:
    return [
        run_id
        for run_id, outputs in run_folders(moto, bucket).items()
        if {"output.ipynb", "output.html", "custom.txt"} <= set(outputs)
    ]


def test_v1_compose_service_runs_the_analysis(
    registry_with_base: str,  # noqa: F811
    docker_client: Any,
    moto: MotoServer,
    bucket: str,
    tmp_path: Path,
) -> None:
    """The compose file's service, started as Docker Compose starts it (compose's `$$`
    read as `$`): the entrypoint writes the params it carries and runs the analysis."""
    reference = built_image(registry_with_base, tmp_path, "compose")
    compose_file = tmp_path / "docker-compose.yml"
    root = f"s3://{bucket}/edge/v1"
    made = run_cli(
        "greengrass", "compose", reference, "--output-root", root, "--var", "rows=5",
        "--var", "label=$HOME", "--var", f"custom_output={root}/custom.txt",
        "--env", f"AWS_ENDPOINT_URL={moto.endpoint}", "--env", "AWS_ACCESS_KEY_ID=testing",
        "--env", "AWS_SECRET_ACCESS_KEY=testing", "--env", "AWS_REGION=us-east-1",
        "--s3-bucket", "compose-files", "--s3-key", "edge/docker-compose.yml",
        "--destination-path", "/home/ggc/compose", "-o", str(compose_file),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    service = yaml.safe_load(compose_file.read_text())["services"]["analysis"]
    environment = {k: v.replace("$$", "$") for k, v in service["environment"].items()}
    entrypoint = [word.replace("$$", "$") for word in service["entrypoint"]]
    container = docker_client.containers.run(
        service["image"],
        entrypoint=entrypoint,
        environment=environment,
        network_mode=service["network_mode"],
        detach=True,
    )
    try:
        code = container.wait(timeout=300)["StatusCode"]
        logs = container.logs().decode()
    finally:
        container.remove(force=True)
    assert code == 0, logs
    body = moto.s3().get_object(Bucket=bucket, Key="edge/v1/custom.txt")["Body"].read()
    assert body == b"$HOME:10"  # the value arrived as written, not expanded
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in moto.object_writes())
