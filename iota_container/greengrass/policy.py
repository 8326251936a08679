"""The statements the Greengrass device role needs for a recipe: pull the image, upload the
outputs (with their ACL), fetch an image archive."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from iota_container.greengrass.recipe import RecipeSpec
from iota_container.storage.uri import parse_output_uri

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def partition_of(spec: RecipeSpec) -> str:
    match = _ECR_HOST.match(spec.image.registry)
    return "aws-cn" if match and match.group(3) else "aws"


def device_role_policy(spec: RecipeSpec) -> dict[str, Any] | None:
    """An IAM policy document for the device role, or None when it needs nothing more."""
    partition = partition_of(spec)
    statements: list[dict[str, Any]] = []
    match = _ECR_HOST.match(spec.image.registry)
    if spec.private_ecr and match:
        account, region = match.group(1), match.group(2)
        repository = f"arn:{partition}:ecr:{region}:{account}:repository/{spec.image.repository}"
        statements.append(
            _allow(
                "PullAnalysisImage",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                [repository],
            )
        )
        statements.append(_allow("GetEcrAuthorizationToken", ["ecr:GetAuthorizationToken"], ["*"]))
    prefixes = _output_prefixes(spec)
    if prefixes:
        resources = [f"arn:{partition}:s3:::{prefix}*" for prefix in prefixes]
        statements.append(
            _allow("WriteAnalysisOutputs", ["s3:PutObject", "s3:PutObjectAcl"], resources)
        )
    if spec.image_archive_uri:
        archive = parse_output_uri(spec.image_archive_uri)
        statements.append(
            _allow(
                "GetImageArchive",
                ["s3:GetObject"],
                [f"arn:{partition}:s3:::{archive.bucket}/{archive.key}"],
            )
        )
    if not statements:
        return None
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _output_prefixes(spec: RecipeSpec) -> list[str]:
    """`bucket/folder/` of each S3 output, folders inside another one left out. A folder,
    not the key: a configuration update may rename the files, or put @RUN_ID@ in them."""
    folders = set()
    for output in spec.outputs:
        if output.scheme == "s3":
            folder = posixpath.dirname(output.key.split("@RUN_ID@", 1)[0])
            folders.add(f"{output.bucket}/{folder}/" if folder else f"{output.bucket}/")
    return sorted(
        folder
        for folder in folders
        if not any(other != folder and folder.startswith(other) for other in folders)
    )
