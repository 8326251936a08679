"""`greengrass publish`: CreateComponentVersion, then a deployment that keeps the target's
other components.

moto has no Greengrass v2, and no Greengrass service can run here, so these tests use
botocore's Stubber: a real boto3 client whose requests and responses are checked against
the real greengrassv2 service model (a request with a wrong parameter name or type, or a
target ARN that breaks the model's pattern, fails the test), with the service's answers
given by the test.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from iota_container.cli import greengrass_commands, main
from iota_container.greengrass import publish
from iota_container.greengrass.errors import PublishError
from iota_container.greengrass.recipe import RecipeSpec, build_recipe, dump_recipe
from iota_container.image.reference import parse_reference
from iota_container.params_file import template_params

THING_GROUP = "arn:aws:iot:eu-west-1:123456789012:thinggroup/edge-sites"
COMPONENT_ARN = (
    "arn:aws:greengrass:eu-west-1:123456789012:components:com.example.Report:versions:1.1.0"
)
NOW = datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def client() -> Iterator[Any]:
    made = boto3.client(
        "greengrassv2",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield made


def recipe_bytes() -> bytes:
    spec = RecipeSpec(
        image=parse_reference("reg.example.com/report@sha256:" + "ab" * 32),
        component_name="com.example.Report",
        component_version="1.1.0",
        params=template_params("s3://bucket/edge", {"site": "lab"}),
        interval_seconds=600,
    )
    return dump_recipe(build_recipe(spec), "json").encode()


def created(state: str = "REQUESTED") -> dict[str, Any]:
    return {
        "arn": COMPONENT_ARN,
        "componentName": "com.example.Report",
        "componentVersion": "1.1.0",
        "creationTimestamp": NOW,
        "status": {"componentState": state, "message": "NONE", "errors": {}},
    }


def described(state: str, message: str = "NONE") -> dict[str, Any]:
    return {
        "arn": COMPONENT_ARN,
        "componentName": "com.example.Report",
        "componentVersion": "1.1.0",
        "status": {"componentState": state, "message": message, "errors": {}},
    }


CURRENT_COMPONENTS = {
    "aws.greengrass.Nucleus": {"componentVersion": "2.12.0"},
    "com.example.Other": {
        "componentVersion": "3.0.0",
        "configurationUpdate": {"merge": '{"Level": "high"}'},
    },
    "com.example.Report": {"componentVersion": "1.0.0"},
}
POLICIES = {
    "failureHandlingPolicy": "ROLLBACK",
    "componentUpdatePolicy": {"timeoutInSeconds": 60, "action": "NOTIFY_COMPONENTS"},
}


def stub_current(stub: Stubber, deployments: list[dict[str, Any]]) -> None:
    stub.add_response(
        "list_deployments",
        {"deployments": deployments},
        {"targetArn": THING_GROUP, "historyFilter": "LATEST_ONLY"},
    )


def summary(deployment_id: str, status: str) -> dict[str, Any]:
    return {
        "targetArn": THING_GROUP,
        "deploymentId": deployment_id,
        "deploymentName": "edge fleet",
        "deploymentStatus": status,
        "isLatestForTarget": True,
        "creationTimestamp": NOW,
        "revisionId": "4",
    }


def test_publish_waits_until_deployable(client: Any) -> None:
    data = recipe_bytes()
    with Stubber(client) as stub:
        stub.add_response("create_component_version", created(), {"inlineRecipe": data})
        stub.add_response("describe_component", described("INITIATED"), {"arn": COMPONENT_ARN})
        stub.add_response("describe_component", described("DEPLOYABLE"), {"arn": COMPONENT_ARN})
        done = publish.create_component_version(client, data, sleep=lambda _: None)
        stub.assert_no_pending_responses()
    assert (done.arn, done.state) == (COMPONENT_ARN, "DEPLOYABLE")


def test_failed_component_version_is_one_line(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("create_component_version", created(), {"inlineRecipe": b"{}"})
        stub.add_response(
            "describe_component",
            described("FAILED", "The artifact s3://b/x.tar\ncould not be found"),
            {"arn": COMPONENT_ARN},
        )
        with pytest.raises(PublishError, match=r"FAILED: The artifact s3://b/x\.tar"):
            publish.create_component_version(client, b"{}", sleep=lambda _: None)


def test_refused_request_is_one_line(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "create_component_version",
            service_error_code="ConflictException",
            service_message="Component com.example.Report version 1.1.0 already exists.",
            http_status_code=409,
        )
        with pytest.raises(PublishError) as raised:
            publish.create_component_version(client, b"{}")
    assert str(raised.value) == (
        "CreateComponentVersion was refused: ConflictException: "
        "Component com.example.Report version 1.1.0 already exists."
    )


def test_deploy_keeps_the_other_components_of_the_current_deployment(client: Any) -> None:
    with Stubber(client) as stub:
        stub_current(stub, [summary("dep-4", "ACTIVE")])
        stub.add_response(
            "get_deployment",
            {
                "targetArn": THING_GROUP,
                "deploymentId": "dep-4",
                "deploymentName": "edge fleet",
                "deploymentStatus": "ACTIVE",
                "components": CURRENT_COMPONENTS,
                "deploymentPolicies": POLICIES,
                "iotJobConfiguration": {"timeoutConfig": {"inProgressTimeoutInMinutes": 30}},
            },
            {"deploymentId": "dep-4"},
        )
        stub.add_response(
            "create_deployment",
            {"deploymentId": "dep-5"},
            {
                "targetArn": THING_GROUP,
                "deploymentName": "edge fleet",
                "components": CURRENT_COMPONENTS
                | {
                    "com.example.Report": {
                        "componentVersion": "1.1.0",
                        "configurationUpdate": {"reset": ["/Params", "/RunIntervalSeconds"]},
                    }
                },
                "deploymentPolicies": POLICIES,
                "iotJobConfiguration": {"timeoutConfig": {"inProgressTimeoutInMinutes": 30}},
            },
        )
        deployment_id, kept = publish.deploy_component(
            client,
            THING_GROUP,
            "com.example.Report",
            "1.1.0",
            publish.reset_paths_for(json.loads(recipe_bytes())),
        )
        stub.assert_no_pending_responses()
    assert deployment_id == "dep-5"
    assert kept == ("aws.greengrass.Nucleus", "com.example.Other")


def test_first_deployment_and_a_canceled_one_are_not_merged(client: Any) -> None:
    with Stubber(client) as stub:
        stub_current(stub, [summary("dep-9", "CANCELED")])
        stub.add_response(
            "create_deployment",
            {"deploymentId": "dep-10"},
            {
                "targetArn": THING_GROUP,
                "deploymentName": "com.example.Report 1.1.0",
                "components": {"com.example.Report": {"componentVersion": "1.1.0"}},
            },
        )
        deployment_id, kept = publish.deploy_component(
            client, THING_GROUP, "com.example.Report", "1.1.0", []
        )
    assert (deployment_id, kept) == ("dep-10", ())


def test_target_must_be_a_thing_or_thing_group(client: Any) -> None:
    with pytest.raises(PublishError, match="'arn:aws:iot:eu-west-1:1:policy/x' is not a thing"):
        publish.deploy_component(client, "arn:aws:iot:eu-west-1:1:policy/x", "c", "1.0.0", [])


def test_cli_publish_and_deploy(client: Any, tmp_path: Path, monkeypatch: Any) -> None:
    recipe = tmp_path / "report.json"
    recipe.write_bytes(recipe_bytes())
    monkeypatch.setattr(greengrass_commands, "greengrass_client", lambda region: client)
    with Stubber(client) as stub:
        stub.add_response(
            "create_component_version", created("DEPLOYABLE"), {"inlineRecipe": recipe_bytes()}
        )
        stub_current(stub, [])
        stub.add_response(
            "create_deployment",
            {"deploymentId": "dep-1"},
            {
                "targetArn": THING_GROUP,
                "deploymentName": "com.example.Report 1.1.0",
                "components": {"com.example.Report": {"componentVersion": "1.1.0"}},
            },
        )
        result = CliRunner().invoke(
            main,
            ["greengrass", "publish", str(recipe), "--deploy-to", THING_GROUP, "--json",
             "--keep-configuration"],
        )  # fmt: skip
        stub.assert_no_pending_responses()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deploymentId"] == "dep-1"


def test_cli_publish_refuses_an_invalid_recipe_before_calling(tmp_path: Path) -> None:
    recipe = tmp_path / "bad.json"
    recipe.write_text(json.dumps({"RecipeFormatVersion": "2020-01-25", "ComponentName": "x"}))
    result = CliRunner().invoke(main, ["greengrass", "publish", str(recipe)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {recipe}: $: recipe schema: ")
    assert result.stderr.count("\n") == 1
