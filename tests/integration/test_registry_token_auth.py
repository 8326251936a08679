"""Bearer tokens: a docker-registry with `auth: token` verifying RS256 JWTs from a token
service in the test, as ECR, Docker Hub, GHCR and Harbor work."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from iota_container.image.auth import ChainedCredentials, StaticCredentials
from iota_container.image.oci import OciBackend
from iota_container.image.registry import RegistryClient, RegistryError
from iota_container.image.spec import RegistryCredentials
from tests.oci_helpers import RecordingProgress, digest, make_spec, push_base, write_notebook
from tests.servers import require
from tests.support import REGISTRY_USER
from tests.token_auth import REFRESH_TOKEN, TokenRegistryServer, TokenServer

pytestmark = pytest.mark.integration

USER, PASSWORD = REGISTRY_USER


class IdentityToken:
    """What `docker login` keeps for an SSO login: a refresh token, no password."""

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        return RegistryCredentials(identity_token=REFRESH_TOKEN)


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    server = TokenServer(tmp_path_factory.mktemp("token"), users=dict([REGISTRY_USER]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, token_server: TokenServer
) -> Iterator[TokenRegistryServer]:
    require(shutil.which("docker-registry") is not None, "docker-registry is not installed")
    server = TokenRegistryServer(tmp_path_factory.mktemp("token-registry"), token_server)
    yield server
    server.stop()


def user_client(registry: TokenRegistryServer) -> RegistryClient:
    return RegistryClient(registry.address, StaticCredentials(registry.address, USER, PASSWORD))


def test_a_build_with_tokens_asks_for_the_mount_source_scope(
    token_registry: TokenRegistryServer, token_server: TokenServer, tmp_path: Path
) -> None:
    base = push_base(user_client(token_registry), "base/tokened", "1")
    token_server.requests.clear()
    notebook = write_notebook(tmp_path / "report.ipynb")
    spec = make_spec(
        notebook,
        f"{token_registry.address}/analysis/tokened:1",
        f"{token_registry.address}/base/tokened:1",
    )
    credentials = StaticCredentials(token_registry.address, USER, PASSWORD)
    result = OciBackend().build_and_push(spec, credentials, RecordingProgress())

    assert (result.blobs_uploaded, result.blobs_reused) == (2, 2)  # base layers mounted
    mount_scopes = ["repository:analysis/tokened:pull,push", "repository:base/tokened:pull"]
    assert {"user": USER, "scopes": mount_scopes, "method": "GET"} in token_server.requests
    # One token per set of scopes, reused: not one per request.
    asked = [tuple(r["scopes"]) for r in token_server.requests]
    assert len(asked) == len(set(asked))
    client = user_client(token_registry)
    assert client.blob_exists("analysis/tokened", base.layer_digests[1])


def test_anonymous_tokens_read_but_cannot_push(
    token_registry: TokenRegistryServer, token_server: TokenServer
) -> None:
    image = push_base(user_client(token_registry), "base/public", "1")
    anonymous = RegistryClient(token_registry.address, ChainedCredentials([]))
    assert anonymous.get_image("base/public", "1").digest == image.manifest_digest
    assert {"user": None, "scopes": ["repository:base/public:pull"], "method": "GET"} in (
        token_server.requests
    )
    with pytest.raises(RegistryError, match="requires credentials for base/public"):
        anonymous.upload_blob("base/public", b"no", digest(b"no"))


def test_a_wrong_password_is_refused_by_the_token_service(
    token_registry: TokenRegistryServer,
) -> None:
    wrong = StaticCredentials(token_registry.address, USER, "not-the-password")
    client = RegistryClient(token_registry.address, wrong)
    with pytest.raises(RegistryError) as error:
        client.blob_exists("base/anything", digest(b"x"))
    message = str(error.value)
    assert message.startswith(
        f"registry {token_registry.address} refused the credentials for base/anything"
    )
    assert "not-the-password" not in message


def test_an_identity_token_is_exchanged_for_access(
    token_registry: TokenRegistryServer, token_server: TokenServer
) -> None:
    client = RegistryClient(token_registry.address, IdentityToken())
    client.upload_blob("sso/pushed", b"by refresh token", digest(b"by refresh token"))
    assert client.blob_exists("sso/pushed", digest(b"by refresh token"))
    assert any(r["method"] == "POST" for r in token_server.requests)
