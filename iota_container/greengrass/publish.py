"""`greengrass publish`: CreateComponentVersion with the inline recipe, then a deployment
that revises the target's current one instead of replacing it.

A deployment to a thing or thing group *replaces* the components of the target's previous
deployment: a new one that names only this component would remove every other component
from the devices. So the current deployment's components, policies and job configuration
are read and kept, and only this component's entry is set.

The client is passed in (boto3 `greengrassv2`), never made here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iota_container.greengrass.errors import PublishError
from iota_container.text import one_line

TARGET_ARN = re.compile(r"^arn:[^:]*:iot:[^:]*:[0-9]+:(thing|thinggroup)/.+$")
_KEPT_FIELDS = ("deploymentPolicies", "iotJobConfiguration")


@dataclass(frozen=True)
class Published:
    arn: str
    name: str
    version: str
    state: str
    deployment_id: str | None = None
    kept_components: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "componentVersionArn": self.arn,
            "componentName": self.name,
            "componentVersion": self.version,
            "state": self.state,
            "deploymentId": self.deployment_id,
            "keptComponents": list(self.kept_components),
        }


def check_target_arn(target_arn: str) -> None:
    if not TARGET_ARN.match(target_arn):
        raise PublishError(
            f"deployment target {target_arn!r} is not a thing or thing group ARN: write "
            "arn:aws:iot:REGION:ACCOUNT:thing/NAME or arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME"
        )


def create_component_version(
    client: Any,
    recipe_bytes: bytes,
    wait_seconds: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> Published:
    """Create the component version and wait until the service can deploy it."""
    created = _call(
        client.create_component_version, "CreateComponentVersion", inlineRecipe=recipe_bytes
    )
    arn = created["arn"]
    state = created.get("status", {}).get("componentState", "REQUESTED")
    deadline = time.monotonic() + wait_seconds
    while state in ("REQUESTED", "INITIATED"):
        if time.monotonic() > deadline:
            raise PublishError(
                f"component version {arn} is still {state} after {wait_seconds:.0f} s: "
                "check it with `aws greengrassv2 describe-component`"
            )
        sleep(2)
        described = _call(client.describe_component, "DescribeComponent", arn=arn)
        status = described.get("status", {})
        state = status.get("componentState", state)
        if state == "FAILED":
            raise PublishError(
                f"component version {arn} FAILED: {status.get('message', 'no message')}: "
                "fix the recipe or its artifacts (the device role and the service must read "
                "s3:// artifacts)"
            )
    return Published(arn, created["componentName"], created["componentVersion"], state)


def deploy_component(
    client: Any,
    target_arn: str,
    name: str,
    version: str,
    reset_paths: list[str],
    deployment_name: str | None = None,
) -> tuple[str, tuple[str, ...]]:
    """Revise the target's current deployment with `name` at `version`; returns the new
    deployment's ID and the other components it kept."""
    check_target_arn(target_arn)
    current = current_deployment(client, target_arn)
    components: dict[str, Any] = dict(current.get("components") or {}) if current else {}
    kept = tuple(sorted(other for other in components if other != name))
    entry: dict[str, Any] = {"componentVersion": version}
    if reset_paths:
        # The device keeps a component's configuration across versions; reset what the
        # recipe's DefaultConfiguration sets so that this version's defaults apply.
        entry["configurationUpdate"] = {"reset": reset_paths}
    components[name] = entry
    request: dict[str, Any] = {
        "targetArn": target_arn,
        "deploymentName": deployment_name
        or (current or {}).get("deploymentName")
        or f"{name} {version}",
        "components": components,
    }
    for kept_field in _KEPT_FIELDS:
        if current and current.get(kept_field):
            request[kept_field] = current[kept_field]
    created = _call(client.create_deployment, "CreateDeployment", **request)
    return str(created["deploymentId"]), kept


def current_deployment(client: Any, target_arn: str) -> Mapping[str, Any] | None:
    """The target's latest deployment that was not canceled, in full, or None."""
    listed = _call(
        client.list_deployments,
        "ListDeployments",
        targetArn=target_arn,
        historyFilter="LATEST_ONLY",
    )
    for summary in listed.get("deployments", []):
        if summary.get("targetArn") == target_arn and summary.get("deploymentStatus") != "CANCELED":
            deployment: Mapping[str, Any] = _call(
                client.get_deployment, "GetDeployment", deploymentId=summary["deploymentId"]
            )
            return deployment
    return None


def reset_paths_for(recipe: Mapping[str, Any]) -> list[str]:
    """JSON pointers to the keys of the recipe's DefaultConfiguration (RFC 6901 escaped)."""
    from iota_container.greengrass.rules import value

    defaults = value(value(recipe, "ComponentConfiguration"), "DefaultConfiguration") or {}
    return ["/" + str(k).replace("~", "~0").replace("/", "~1") for k in defaults]


def _call(method: Any, operation: str, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return method(**kwargs)
    except ClientError as e:
        error = e.response.get("Error", {})
        raise PublishError(
            f"{operation} was refused: {error.get('Code', 'error')}: "
            f"{one_line(str(error.get('Message', '')))}"
        ) from e
    except BotoCoreError as e:
        raise PublishError(f"{operation} failed: {e}: check the region and credentials") from e
