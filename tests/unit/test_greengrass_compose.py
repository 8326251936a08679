"""Greengrass v1: the compose file and the Docker application deployment connector's
parameters, against the patterns its documentation gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iota_container.greengrass.compose import (
    check_connector_parameters,
    compose_document,
    connector_parameters,
)
from iota_container.greengrass.errors import ConnectorParameterError
from iota_container.image.reference import parse_reference
from iota_container.params_file import template_params

DIGEST = "sha256:" + "ab" * 32
SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:greengrass-secret1-hash"

# The documentation's example (AWS CLI create-connector-definition), placeholders filled in.
DOCUMENTED_EXAMPLE = {
    "DockerComposeFileS3Bucket": "myS3Bucket",
    "DockerComposeFileS3Key": "production-docker-compose.yml",
    "DockerComposeFileS3Version": "123",
    "DockerComposeFileDestinationPath": "/home/username/myCompose",
    "DockerUserId": "1000",
    "AWSSecretsArnList": json.dumps([SECRET, SECRET.replace("secret1", "secret2")]),
    "DockerContainerStatusLogFrequency": "30",
    "ForceDeploy": "True",
    "DockerPullBeforeUp": "True",
    "StopContainersOnNewDeployment": "False",
}


def test_the_documented_example_is_valid() -> None:
    check_connector_parameters(DOCUMENTED_EXAMPLE)


@pytest.mark.parametrize("word", ["True", "true", "TRUE", "False", "false", "fAlSe"])
def test_booleans_in_any_case(word: str) -> None:
    for name in ("ForceDeploy", "DockerPullBeforeUp", "StopContainersOnNewDeployment"):
        check_connector_parameters(DOCUMENTED_EXAMPLE | {name: word})


@pytest.mark.parametrize(
    ("name", "given", "message"),
    [
        ("DockerComposeFileS3Bucket", "ab", "DockerComposeFileS3Bucket='ab' does not match"),
        ("DockerComposeFileS3Bucket", "my_bucket", "does not match its pattern"),
        ("DockerComposeFileS3Key", "", "DockerComposeFileS3Key='' does not match its pattern .+"),
        ("DockerComposeFileS3Version", "", "DockerComposeFileS3Version='' does not match"),
        ("DockerComposeFileDestinationPath", "home/x", "DestinationPath='home/x' does not match"),
        ("DockerUserId", "123456", "DockerUserId='123456' does not match its pattern ^[0-9]{1,5}$"),
        ("DockerUserId", "ggc_user", "DockerUserId='ggc_user' does not match"),
        ("AWSSecretsArnList", SECRET, "AWSSecretsArnList="),
        ("AWSSecretsArnList", '["arn:aws:s3:::bucket"]', "a JSON array of Secrets Manager"),
        ("DockerContainerStatusLogFrequency", "0", "Frequency='0' does not match"),
        ("DockerContainerStatusLogFrequency", "10000", "Frequency='10000' does not match"),
        ("ForceDeploy", "yes", "ForceDeploy='yes' does not match its pattern True|False"),
        ("DockerPullBeforeUp", "1", "DockerPullBeforeUp='1' does not match"),
        ("StopContainersOnNewDeployment", "Truee", "StopContainersOnNewDeployment='Truee'"),
        ("ForceDeploy", True, "ForceDeploy=True is not a string"),
        ("ForceDeplay", "True", "'ForceDeplay' is unknown: did you mean 'ForceDeploy'?"),
    ],
)
def test_each_parameter_breaking_its_pattern(name: str, given: Any, message: str) -> None:
    with pytest.raises(ConnectorParameterError) as raised:
        check_connector_parameters(DOCUMENTED_EXAMPLE | {name: given})
    assert message in str(raised.value)


def test_required_parameters() -> None:
    parameters = dict(DOCUMENTED_EXAMPLE)
    del parameters["DockerComposeFileS3Key"]
    with pytest.raises(ConnectorParameterError, match="DockerComposeFileS3Key is required"):
        check_connector_parameters(parameters)


def test_connector_parameters_from_options() -> None:
    parameters = connector_parameters(
        "my-bucket",
        "edge/compose.yml",
        "/home/ggc/compose",
        secret_arns=[SECRET],
        flags={
            "ForceDeploy": True,
            "DockerPullBeforeUp": False,
            "StopContainersOnNewDeployment": None,
        },
    )
    assert parameters == {
        "DockerComposeFileS3Bucket": "my-bucket",
        "DockerComposeFileS3Key": "edge/compose.yml",
        "DockerComposeFileDestinationPath": "/home/ggc/compose",
        "AWSSecretsArnList": json.dumps([SECRET]),
        "ForceDeploy": "True",
        "DockerPullBeforeUp": "False",
    }


def test_compose_document_carries_the_params_escaped_for_compose() -> None:
    params = template_params("s3://bucket/v1", {"price": "$5", "n": 2})
    document = compose_document(parse_reference(f"reg.example.com/r@{DIGEST}"), params)
    service = document["services"]["analysis"]
    assert service["image"] == f"reg.example.com/r@{DIGEST}"
    assert service["network_mode"] == "host"
    assert service["restart"] == "no"
    carried = service["environment"]["IOTA_PARAMS_JSON"]
    assert json.loads(carried.replace("$$", "$")) == params
    assert '"$$5"' in carried  # compose would otherwise expand $5
    assert service["entrypoint"][-1].endswith("exec iota-container run")


def test_compose_mounts_file_outputs_and_refuses_tags() -> None:
    params = template_params("file:///srv/iota/out")
    document = compose_document(parse_reference(f"r@{DIGEST}"), params, service="report")
    assert document["services"]["report"]["volumes"] == ["/srv/iota/out:/srv/iota/out"]
    with pytest.raises(ConnectorParameterError, match="has no digest"):
        compose_document(parse_reference("r:v1"), params)
    with pytest.raises(ConnectorParameterError, match="service name 'a b' is not"):
        compose_document(parse_reference(f"r@{DIGEST}"), params, service="a b")
