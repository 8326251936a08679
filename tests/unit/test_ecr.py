"""What moto's ECR cannot show: several pages of repositories (moto answers one), and
authorization tokens that do not decode."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber

from iota_container.image.ecr import EcrError, EcrRegistry, decode_authorization_token

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture
def stubbed() -> Iterator[tuple[ECRClient, Stubber]]:
    client = boto3.client(
        "ecr", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def repository(name: str) -> dict[str, str]:
    return {"repositoryName": name, "repositoryUri": f"{ECR_HOST}/{name}"}


def test_pages_follow_next_token_with_the_registry_and_page_size(
    stubbed: tuple[ECRClient, Stubber],
) -> None:
    client, stubber = stubbed
    asked = {"registryId": "123456789012", "maxResults": 2}
    stubber.add_response(
        "describe_repositories",
        {"repositories": [repository("a1"), repository("b1")], "nextToken": "page-2"},
        asked,
    )
    stubber.add_response(
        "describe_repositories",
        {"repositories": [repository("c1")]},
        {**asked, "nextToken": "page-2"},
    )
    ecr = EcrRegistry.for_registry(ECR_HOST, client)

    first = ecr.list_repositories(max_results=2)
    second = ecr.list_repositories(page_token=first.next_token, max_results=2)

    assert [r.name for r in first.repositories] == ["a1", "b1"]
    assert first.next_token == "page-2"
    assert [r.uri for r in second.repositories] == [f"{ECR_HOST}/c1"]
    assert second.next_token is None


def test_a_stale_page_token_says_to_start_again(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_repositories", "InvalidParameterException", "Invalid NextToken"
    )
    with pytest.raises(EcrError, match=r"list again from the first page \(no page token\)$"):
        EcrRegistry(client).list_repositories(page_token="stale")


@pytest.mark.parametrize(
    "token",
    [
        "not base64 at all!",
        base64.b64encode(b"no-colon-here").decode(),
        base64.b64encode(b"AWS:").decode(),
    ],
)
def test_an_undecodable_token_is_refused_without_quoting_it(token: str) -> None:
    with pytest.raises(EcrError) as caught:
        decode_authorization_token(token, "us-east-1")
    assert token not in str(caught.value)
    assert str(caught.value).startswith("ECR in us-east-1 answered an authorization token")
