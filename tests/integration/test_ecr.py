"""ECR against a moto server: the control plane (repositories, authorization tokens,
paging, errors) over real HTTP, and the data plane by proxy.

moto has no registry behind its ECR, and a real ECR host name would need /etc/hosts and
port 443 on a machine other tests share, so the data-plane proof is the simpler one: a
real registry (distribution, htpasswd behind TLS) is given exactly the user and password
that moto's GetAuthorizationToken decodes to, and the Docker engine pushes to it with
EcrRegistry as the credential source. What the loop leaves out is only the host name."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests

from iota_container.image.docker_engine import DockerBackend
from iota_container.image.ecr import EcrError, EcrRegistry
from iota_container.image.reference import is_ecr_registry, parse_reference
from iota_container.image.spec import RegistryCredentials
from tests.docker_helpers import build_spec, served_manifest, trusted_by_docker
from tests.notebooks import write_notebook
from tests.oci_helpers import RecordingProgress
from tests.registry import RegistryServer, TlsFiles
from tests.servers import MotoServer

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

pytestmark = pytest.mark.integration

# moto's default account, in the moto fixture's region.
ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
TOKEN_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
CREATE_TARGET = "AmazonEC2ContainerRegistry_V20150921.CreateRepository"
# moto's tokens all expire at this fixed instant (in the past).
MOTO_TOKEN_EXPIRY = datetime(2015, 1, 1).astimezone(timezone.utc)


def ecr_client(server: MotoServer, key: str = "testing", secret: str = "testing") -> ECRClient:
    return boto3.client(
        "ecr",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def calls(server: MotoServer, target: str) -> int:
    return sum(1 for entry in server.recorded() if entry["headers"].get("X-Amz-Target") == target)


def test_ensure_repository_creates_a_missing_one_then_finds_it(moto: MotoServer) -> None:
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto))
    name = unique("team/analysis")
    moto.reset_recording()

    made = ecr.ensure_repository(name)
    found = ecr.ensure_repository(name)

    assert made == found
    assert (made.name, made.uri) == (name, f"{ECR_HOST}/{name}")
    assert calls(moto, CREATE_TARGET) == 1
    listed = ecr_client(moto).describe_repositories(repositoryNames=[name])["repositories"]
    assert [r["repositoryName"] for r in listed] == [name]


def test_no_create_names_the_repository_and_the_option(moto: MotoServer) -> None:
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto))
    name = unique("absent")
    with pytest.raises(EcrError) as caught:
        ecr.ensure_repository(name, create=False)
    message = str(caught.value)
    assert message.startswith(f"ECR repository {name!r} does not exist in {ECR_HOST}")
    assert message.endswith("or drop --no-create-repository")
    assert not any(
        r["repositoryName"] == name
        for r in ecr_client(moto).describe_repositories()["repositories"]
    )


@pytest.mark.parametrize("name", ["Upper_Case", "x", "trailing-/slash"])
def test_a_bad_repository_name_is_one_line_with_the_rule(moto: MotoServer, name: str) -> None:
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto))
    with pytest.raises(EcrError) as caught:
        ecr.ensure_repository(name)
    message = str(caught.value)
    assert f"rejects repository {name!r}" in message and "\n" not in message
    assert message.endswith(
        "use 2 to 256 lowercase letters, digits, and . _ - / between them (e.g. team/analysis)"
    )


def test_list_repositories_page_by_page_reaches_every_repository(moto: MotoServer) -> None:
    """moto 5 ignores maxResults (its docs say so) and answers one page; following
    nextToken until it is gone is right either way. Several pages: tests/unit/test_ecr.py."""
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto))
    names = {unique("listed") for _ in range(3)}
    for name in names:
        ecr.ensure_repository(name)

    seen: list[str] = []
    token: str | None = None
    for _ in range(100):
        page = ecr.list_repositories(page_token=token, max_results=2)
        seen += [repository.name for repository in page.repositories]
        token = page.next_token
        if token is None:
            break
    assert names <= set(seen)
    assert all(r.uri == f"{ECR_HOST}/{r.name}" for r in page.repositories)
    json.dumps([r.to_json() for r in page.repositories])  # what the Jupyter UI gets


def test_page_size_out_of_range_is_refused(moto: MotoServer) -> None:
    with pytest.raises(EcrError, match=r"^page size 0 is out of range: ask for 1 to 1000"):
        EcrRegistry.for_registry(ECR_HOST, ecr_client(moto)).list_repositories(max_results=0)


def test_credentials_decode_the_authorization_token(moto: MotoServer) -> None:
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto))

    credentials = ecr.credentials_for(ECR_HOST)

    assert credentials == RegistryCredentials(username="AWS", password="123456789012-auth-token")
    assert "auth-token" not in repr(credentials)
    assert ecr.credentials_for("127.0.0.1:5000") is None  # not ECR: another source answers


def test_token_is_cached_until_shortly_before_it_expires(moto: MotoServer) -> None:
    client = ecr_client(moto)
    moto.reset_recording()
    long_before = EcrRegistry(client, now=lambda: MOTO_TOKEN_EXPIRY - timedelta(hours=11))
    assert long_before.credentials_for(ECR_HOST) == long_before.credentials_for(ECR_HOST)
    assert calls(moto, TOKEN_TARGET) == 1

    moto.reset_recording()
    almost = EcrRegistry(client, now=lambda: MOTO_TOKEN_EXPIRY - timedelta(minutes=4))
    almost.credentials_for(ECR_HOST)
    almost.credentials_for(ECR_HOST)
    assert calls(moto, TOKEN_TARGET) == 2  # inside the renewal margin: fetched again


def test_refused_aws_credentials_are_one_line(moto_with_auth: MotoServer) -> None:
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto_with_auth, "AKIANOBODY", "nope"))
    for attempt in (lambda: ecr.ensure_repository("team/x"), lambda: ecr.credentials_for(ECR_HOST)):
        with pytest.raises(EcrError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith("AWS refused the credentials for ECR ")
        assert "InvalidClientTokenId" in message and "\n" not in message
        assert "nope" not in message


@pytest.fixture(scope="module")
def moto_with_iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoServer, Any]]:
    """A moto server that enforces IAM after three unauthenticated calls, which make a
    user allowed to read ECR but not to create repositories: (server, its access key)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3")
        server = MotoServer(tmp_path_factory.mktemp("moto-iam"))
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        iam.create_user(UserName="reader")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ecr:DescribeRepositories", "ecr:GetAuthorizationToken"],
                    "Resource": "*",
                }
            ],
        }
        iam.put_user_policy(
            UserName="reader", PolicyName="read-ecr", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        yield server, key
    finally:
        server.stop()


def test_access_denied_names_the_action_and_repository(
    moto_with_iam: tuple[MotoServer, Any],
) -> None:
    server, key = moto_with_iam
    client = ecr_client(server, key["AccessKeyId"], key["SecretAccessKey"])
    ecr = EcrRegistry.for_registry(ECR_HOST, client)
    assert ecr.credentials_for(ECR_HOST) is not None  # allowed
    with pytest.raises(EcrError) as caught:
        ecr.ensure_repository("team/denied")
    message = str(caught.value)
    assert message.startswith("AWS denied ecr:CreateRepository on repository 'team/denied' (")
    assert "user/reader is not authorized to perform: ecr:CreateRepository" in message
    assert message.endswith(
        "grant ecr:CreateRepository to this identity, or use a repository it may use"
    )


def test_client_is_made_from_the_environment_in_the_registry_region(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in moto.client_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # the host name's region wins
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    ecr = EcrRegistry.for_registry(ECR_HOST)
    name = unique("from-env")
    assert ecr.ensure_repository(name).uri == f"{ECR_HOST}/{name}"
    assert ecr.credentials_for(ECR_HOST) is not None


def test_an_injected_client_for_another_region_is_refused(moto: MotoServer) -> None:
    other = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert is_ecr_registry(other)
    ecr = EcrRegistry(ecr_client(moto))
    with pytest.raises(
        EcrError, match=r"client is for region us-east-1 but the registry is in eu-west-1"
    ):
        ecr.credentials_for(other)


class EcrTokenFor:
    """A CredentialSource answering a registry address with the credentials an ECR host's
    token decodes to: the loopback registry stands in for that host."""

    def __init__(self, address: str, ecr: EcrRegistry, ecr_host: str) -> None:
        self.address, self.ecr, self.ecr_host = address, ecr, ecr_host

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        return self.ecr.credentials_for(self.ecr_host) if registry == self.address else None


@pytest.fixture(scope="module")
def registry_with_ecr_users(
    moto: MotoServer, registry_tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A TLS registry whose only user is what moto's authorization token decodes to."""
    token = EcrRegistry(ecr_client(moto)).credentials_for(ECR_HOST)
    assert token is not None and token.username and token.password
    server = RegistryServer(
        tmp_path_factory.mktemp("ecr-registry"),
        users={token.username: token.password},
        tls=registry_tls,
    )
    with trusted_by_docker(server):
        yield server
    server.stop()


def test_the_decoded_token_is_what_a_registry_checks(
    moto: MotoServer, registry_with_ecr_users: RegistryServer
) -> None:
    token = EcrRegistry(ecr_client(moto)).credentials_for(ECR_HOST)
    assert token is not None and token.username and token.password
    assert registry_with_ecr_users.tls is not None
    url = f"{registry_with_ecr_users.url}/v2/"
    ca = str(registry_with_ecr_users.tls.certificate)
    assert requests.get(url, auth=(token.username, token.password), verify=ca, timeout=10).ok
    wrong = requests.get(url, auth=(token.username, "other"), verify=ca, timeout=10)
    assert wrong.status_code == 401


def test_docker_backend_pushes_with_the_ecr_token(
    moto: MotoServer,
    registry_with_ecr_users: RegistryServer,
    base_image: str,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    server = registry_with_ecr_users
    target = parse_reference(f"{server.address}/{unique('team/ecr-analysis')}:v1")
    ecr = EcrRegistry.for_registry(ECR_HOST, ecr_client(moto))
    ecr.ensure_repository(target.repository)  # what `build` does before pushing to ECR
    spec = build_spec(write_notebook(tmp_path / "a.ipynb", "print(1)"), target, base_image)
    try:
        result = DockerBackend().build_and_push(
            spec, EcrTokenFor(server.address, ecr, ECR_HOST), RecordingProgress()
        )
    finally:
        docker_client.images.remove(str(target), force=True)
    token = ecr.credentials_for(ECR_HOST)
    assert token is not None and token.username and token.password
    served, _ = served_manifest(server, target, auth=(token.username, token.password))
    assert result.digest == served
