"""What a dataset's container sees of the engine's environment, through the real Docker
engine: an analysis image built by `iota-container build --backend oci` into a real
registry writes down every variable its notebook's kernel sees. The engine's secrets
are not there; the allow-listed AWS and runtime settings are, and the CA bundle they
name is readable inside."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iota_container.engine.home import Home
from iota_container.engine.records import MODE_CONTAINER
from iota_container.engine.run import DatasetEngine, raise_for_status
from iota_container.engine.state_store import StateStore
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import container_dataset, output_var, write_definition
from tests.docker_helpers import analysis_image_in
from tests.notebooks import write_notebook
from tests.registry import RegistryServer

pytestmark = pytest.mark.e2e

ENVIRONMENT_CELL = """\
import json, os, iota_container as iota
seen = dict(os.environ)
bundle = os.environ.get('AWS_CA_BUNDLE')
seen['ca bundle content'] = open(bundle).read() if bundle else None
iota.upload(json.dumps(seen).encode(), 'environment')"""

SECRETS = {
    "IOTA_REGISTRY_PASSWORD": "correct horse battery staple",
    "IOTA_REGISTRY_USERNAME": "deployer",
    "IOTA_SOMETHING_TOKEN": "tok-123",
    "IOTA_HOME": "/srv/engine-home",
    "IOTA_MEMORY_LIMIT": "2g",
    "DOCKER_AUTH_CONFIG": '{"auths": {"reg.example": {"auth": "c2VjcmV0"}}}',
    "GITHUB_TOKEN": "ghp_secret",
    "AWS_PROFILE": "engine-profile",  # names a file of the engine's machine
    "AWS_SHARED_CREDENTIALS_FILE": "/root/.aws/credentials",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
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


@pytest.fixture(scope="module")
def probe_image(
    docker_client: Any,
    base_image: str,
    registry: RegistryServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The digest-pinned reference of the probe's analysis image in the registry."""
    notebook = write_notebook(
        tmp_path_factory.mktemp("probe") / "probe.ipynb",
        ENVIRONMENT_CELL,
        parameters="environment = ''",
    )
    with analysis_image_in(docker_client, base_image, registry, "environment-e2e", notebook) as ref:
        yield ref


def test_the_container_gets_the_allow_list_and_no_secret(
    probe_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nexample\n-----END CERTIFICATE-----\n")
    for key, value in {**SECRETS, **ALLOWED, "AWS_CA_BUNDLE": str(bundle)}.items():
        monkeypatch.setenv(key, value)
    store = StateStore(Home.locate(tmp_path / "home", (tmp_path / "outputs").as_uri()))
    store.register(
        write_definition(
            tmp_path / "defs",
            container_dataset(
                "probe", output_var("environment", "environment.json"), image=probe_image
            ),
        )
    )

    version = raise_for_status(DatasetEngine(store).run("probe", use_container=True))

    assert version.mode == MODE_CONTAINER
    path = parse_output_uri(version.outputs["environment"]).path
    assert path is not None
    seen = json.loads(path.read_text())
    assert sorted(set(SECRETS) & set(seen)) == []
    assert not any(value in json.dumps(seen) for value in SECRETS.values())
    assert {key: seen.get(key) for key in ALLOWED} == ALLOWED
    assert seen["AWS_CA_BUNDLE"] == str(bundle)
    assert seen["ca bundle content"] == bundle.read_text()
    # The image's own settings, and the params path the runtime gives its kernel.
    assert sorted(k for k in seen if k.startswith("IOTA_")) == sorted(
        ["IOTA_MULTIPART_THRESHOLD", "IOTA_S3_MAX_CONCURRENCY", "IOTA_PARAMS_PATH"]
    )
