"""Greengrass v1: a docker-compose file for the Docker application deployment connector,
and the connector's parameters, checked against the documented patterns.

The connector downloads only the compose file, so the params document travels in it: an
environment variable the entrypoint writes to a file before `iota-container run`. Compose
would expand `$` in it, so each `$` is written `$$`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from iota_container.greengrass.errors import ConnectorParameterError
from iota_container.greengrass.recipe import output_uris
from iota_container.image.reference import ImageReference

CONNECTOR_ARN = "arn:aws:greengrass:{region}::/connectors/DockerApplicationDeployment/versions/7"
PARAMS_FILE_IN_CONTAINER = "/tmp/iota-params.json"
_BOOLEAN = re.compile(r"(?i)^(true|false)$")
_SECRET_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[a-zA-Z0-9/_+=,.@-]+-[a-zA-Z0-9]+$"
)
# name: (documented pattern, required)
PATTERNS: dict[str, tuple[str, bool]] = {
    "DockerComposeFileS3Bucket": (r"[a-zA-Z0-9\-\.]{3,63}", True),
    "DockerComposeFileS3Key": (r".+", True),
    "DockerComposeFileS3Version": (r".+", False),
    "DockerComposeFileDestinationPath": (r"\/.*\/?", True),
    "DockerUserId": (r"^[0-9]{1,5}$", False),
    "AWSSecretsArnList": ("a JSON array of Secrets Manager secret ARNs", False),
    "DockerContainerStatusLogFrequency": (r"^[1-9]{1}[0-9]{0,3}$", False),
    "ForceDeploy": ("True|False", False),
    "DockerPullBeforeUp": ("True|False", False),
    "StopContainersOnNewDeployment": ("True|False", False),
}
BOOLEAN_PARAMETERS = ("ForceDeploy", "DockerPullBeforeUp", "StopContainersOnNewDeployment")


def check_connector_parameters(parameters: Mapping[str, Any]) -> None:
    """Raise ConnectorParameterError for the first parameter that breaks its pattern.
    Booleans are accepted in any case: the documentation's own example writes `True`."""
    for name, given in parameters.items():
        if name not in PATTERNS:
            close = difflib.get_close_matches(name, PATTERNS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(PATTERNS)}"
            raise ConnectorParameterError(f"connector parameter {name!r} is unknown: {hint}")
        if not isinstance(given, str):
            raise ConnectorParameterError(
                f"connector parameter {name}={given!r} is not a string: every connector "
                "parameter is a string (write booleans as 'True' or 'False')"
            )
        pattern, _ = PATTERNS[name]
        if not _matches(name, given):
            raise ConnectorParameterError(
                f"connector parameter {name}={given!r} does not match its pattern {pattern}"
            )
    for name, (_, required) in PATTERNS.items():
        if required and name not in parameters:
            raise ConnectorParameterError(f"connector parameter {name} is required: set it")


def _matches(name: str, given: str) -> bool:
    if name in BOOLEAN_PARAMETERS:
        return _BOOLEAN.match(given) is not None
    if name == "AWSSecretsArnList":
        try:
            arns = json.loads(given)
        except ValueError:
            return False
        return isinstance(arns, list) and all(
            isinstance(arn, str) and _SECRET_ARN.match(arn) for arn in arns
        )
    return re.fullmatch(PATTERNS[name][0], given) is not None


def connector_parameters(
    bucket: str,
    key: str,
    destination_path: str,
    object_version: str | None = None,
    docker_user_id: str | None = None,
    secret_arns: Sequence[str] = (),
    status_log_frequency: str | None = None,
    flags: Mapping[str, bool | None] | None = None,
) -> dict[str, str]:
    """The connector's Parameters map, checked."""
    parameters = {
        "DockerComposeFileS3Bucket": bucket,
        "DockerComposeFileS3Key": key,
        "DockerComposeFileDestinationPath": destination_path,
    }
    optional = {
        "DockerComposeFileS3Version": object_version,
        "DockerUserId": docker_user_id,
        "AWSSecretsArnList": json.dumps(list(secret_arns)) if secret_arns else None,
        "DockerContainerStatusLogFrequency": status_log_frequency,
    }
    parameters |= {name: text for name, text in optional.items() if text is not None}
    for name, flag in (flags or {}).items():
        if flag is not None:
            parameters[name] = "True" if flag else "False"
    check_connector_parameters(parameters)
    return parameters


def compose_document(
    image: ImageReference,
    params: Mapping[str, Any],
    service: str = "analysis",
    env: Sequence[tuple[str, str | None]] = (),
) -> dict[str, Any]:
    """A compose file (format 3.3) that runs the analysis once with these params."""
    if not image.digest:
        raise ConnectorParameterError(
            f"image reference {str(image)!r} has no digest: the connector would run whatever "
            "the tag names; give REPO@sha256:..."
        )
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", service):
        raise ConnectorParameterError(
            f"service name {service!r} is not a compose service name: use letters, digits, "
            "'_', '.' and '-'"
        )
    text = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    environment: dict[str, str | None] = {
        "IOTA_PARAMS_JSON": text.replace("$", "$$"),
        "IOTA_PARAMS_PATH": PARAMS_FILE_IN_CONTAINER,
    }
    for name, given in env:
        environment[name] = None if given is None else given.replace("$", "$$")
    definition: dict[str, Any] = {
        "image": image.pinned(),
        "network_mode": "host",
        "restart": "no",
        "entrypoint": [
            "/bin/sh",
            "-c",
            'printf "%s" "$$IOTA_PARAMS_JSON" > "$$IOTA_PARAMS_PATH" && exec iota-container run',
        ],
        "environment": environment,
    }
    volumes = _file_output_volumes(params)
    if volumes:
        definition["volumes"] = volumes
    return {"version": "3.3", "services": {service: definition}}


def _file_output_volumes(params: Mapping[str, Any]) -> list[str]:
    folders = {str(output.path.parent) for output in output_uris(params) if output.path}
    return [f"{folder}:{folder}" for folder in sorted(folders)]
