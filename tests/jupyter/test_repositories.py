"""repositories: an OCI registry's catalog page by page, and ECR (moto) listed and
created; bad inputs name their field."""

from __future__ import annotations

import pytest

from iota_container.image.auth import ChainedCredentials
from iota_container.image.registry import RegistryClient
from tests.oci_helpers import push_image
from tests.registry import RegistryServer
from tests.servers import MotoServer, free_port

pytestmark = pytest.mark.integration

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def catalog(registry: RegistryServer) -> list[str]:
    client = RegistryClient(registry.address, ChainedCredentials([]))
    names = ["catalog/a", "catalog/b", "catalog/c"]
    for name in names:
        push_image(client, name, "1", [{"etc/name": name.encode()}])
    return names


async def test_registry_catalog_in_pages(api, registry: RegistryServer, catalog: list[str]) -> None:
    seen: list[str] = []
    token = None
    for _ in range(50):
        params = {"registry": registry.address, "maxResults": "1"}
        if token:
            params["nextToken"] = token
        status, page = await api("GET", "repositories", params=params)
        assert status == 200, page
        assert page["registry"] == registry.address and len(page["repositories"]) <= 1
        seen += [r["name"] for r in page["repositories"]]
        assert all(r["uri"] == f"{registry.address}/{r['name']}" for r in page["repositories"])
        token = page["nextToken"]
        if token is None:
            break
    assert set(catalog) <= set(seen) and seen == sorted(seen)


async def test_a_new_repository_in_a_registry_is_only_named(api, registry: RegistryServer) -> None:
    status, made = await api(
        "POST", "repositories", body={"registry": registry.address, "name": "team/new"}
    )
    assert (status, made) == (201, {"name": "team/new", "uri": f"{registry.address}/team/new"})


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    for key, value in moto.client_env().items():
        monkeypatch.setenv(key, value)
    return moto


async def test_ecr_create_then_list_in_pages(api, aws: MotoServer) -> None:
    names = ["jx/alpha", "jx/beta", "jx/gamma"]
    for name in names:
        status, made = await api("POST", "repositories", body={"registry": ECR, "name": name})
        assert (status, made) == (201, {"name": name, "uri": f"{ECR}/{name}"}), made
    seen: list[str] = []
    token = None
    for _ in range(50):
        params = {"registry": ECR, "maxResults": "2", **({"nextToken": token} if token else {})}
        status, page = await api("GET", "repositories", params=params)
        assert status == 200, page
        # moto 5 answers DescribeRepositories in one page whatever maxResults says; ECR's
        # own paging is covered by tests/unit/test_ecr.py.
        seen += [r["name"] for r in page["repositories"]]
        token = page["nextToken"]
        if token is None:
            break
    assert set(names) <= set(seen)


async def test_ecr_bad_name(api, aws: MotoServer) -> None:
    status, answer = await api("POST", "repositories", body={"registry": ECR, "name": "UP/per"})
    assert (status, answer["field"]) == (400, "name")


async def test_bad_inputs(api) -> None:
    unreachable = f"127.0.0.1:{free_port()}"
    for params, field in [
        ({}, "registry"),
        ({"registry": "localhost:5000", "maxResults": "0"}, "maxResults"),
        ({"registry": "localhost:5000", "maxResults": "1001"}, "maxResults"),
        ({"registry": "host/with/path"}, "registry"),
        ({"registry": unreachable}, "registry"),
    ]:
        status, answer = await api("GET", "repositories", params=params)
        assert (status, answer["field"]) == (400, field), (params, answer)
        assert answer["message"]
    for body, field in [
        ({"name": "a"}, "registry"),
        ({"registry": "localhost:5000"}, "name"),
        ({"registry": "localhost:5000", "name": "Bad Name"}, "name"),
    ]:
        status, answer = await api("POST", "repositories", body=body)
        assert (status, answer["field"]) == (400, field), (body, answer)
