"""A run without a container gets the engine's environment without its secrets: the
notebook (a real kernel in the engine's child process) writes down every variable it
sees, and the test reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iota_container.engine.home import Home
from iota_container.engine.run import DatasetEngine, raise_for_status
from iota_container.engine.state_store import StateStore
from iota_container.executors.run_environment import container_environment, process_environment
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import container_dataset, output_var, write_definition
from tests.notebooks import write_notebook

pytestmark = pytest.mark.integration

ENVIRONMENT_CELL = """\
import json, os, iota_container as iota
iota.upload(json.dumps(dict(os.environ)).encode(), 'environment')"""

SECRETS = {
    "IOTA_REGISTRY_PASSWORD": "correct horse battery staple",
    "IOTA_REGISTRY_USERNAME": "deployer",
    "IOTA_SOMETHING_TOKEN": "tok-123",
    "IOTA_HOME": "/srv/engine-home",
    "DOCKER_AUTH_CONFIG": '{"auths": {"reg.example": {"auth": "c2VjcmV0"}}}',
    "DOCKER_CONFIG": "/root/.docker",
    "GITHUB_TOKEN": "ghp_secret",
    "TWINE_PASSWORD": "pypi-secret",
    "HF_API_KEY": "hf-secret",
    "my_service_secret": "lower-case secret",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
}
ALLOWED = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "AWS_SESSION_TOKEN": "aws-session",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_RETRY_MODE": "adaptive",
    "AWS_MAX_ATTEMPTS": "3",
    "IOTA_MULTIPART_THRESHOLD": "16777216",
    "IOTA_S3_MAX_CONCURRENCY": "2",
}


def environment_seen_by_the_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    for key, value in {**SECRETS, **ALLOWED, "AWS_PROFILE": "engine-profile"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NOTEBOOK_PATH", str(tmp_path / "not-this.ipynb"))
    store = StateStore(Home.locate(tmp_path / "home", (tmp_path / "outputs").as_uri()))
    store.register(
        write_definition(
            tmp_path / "defs",
            container_dataset("probe", output_var("environment", "environment.json")),
        )
    )
    notebook = write_notebook(
        tmp_path / "probe.ipynb", ENVIRONMENT_CELL, parameters="environment = ''"
    )
    version = raise_for_status(
        DatasetEngine(store).run("probe", use_container=False, notebook=notebook)
    )
    path = parse_output_uri(version.outputs["environment"]).path
    assert path is not None
    seen: dict[str, str] = json.loads(path.read_text())
    return seen


def test_a_process_run_sees_no_secret_of_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = environment_seen_by_the_notebook(tmp_path, monkeypatch)

    assert sorted(set(SECRETS) & set(seen)) == []
    assert not any(value in json.dumps(seen) for value in SECRETS.values())
    assert {key: seen.get(key) for key in ALLOWED} == ALLOWED
    # The process runs on the engine's machine: its AWS profile and PATH still apply.
    assert seen["AWS_PROFILE"] == "engine-profile"
    assert seen["PATH"]
    # Only the runtime's own params path, set by the runtime for its kernel.
    assert sorted(k for k in seen if k.startswith("IOTA_")) == sorted(
        ["IOTA_MULTIPART_THRESHOLD", "IOTA_S3_MAX_CONCURRENCY", "IOTA_PARAMS_PATH"]
    )


def test_the_allow_list_of_a_container_and_what_a_process_keeps() -> None:
    engine = {**SECRETS, **ALLOWED, "PATH": "/usr/bin", "AWS_PROFILE": "p", "NOTEBOOK_PATH": "x"}
    assert container_environment(engine) == ALLOWED
    kept = process_environment(engine)
    assert kept == {**ALLOWED, "PATH": "/usr/bin", "AWS_PROFILE": "p"}
