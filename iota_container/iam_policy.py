"""IAM policy documents shared by every role this project prints a policy for (the
Greengrass device role, the SageMaker execution role): statements, the partition of an
ECR registry, pulling an image from ECR, writing outputs under S3 folders."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from iota_container.image.reference import ImageReference

POLICY_VERSION = "2012-10-17"
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# With its ACL: the bucket's owner reads what the analysis wrote (storage/s3.py).
S3_WRITE_ACTIONS = ("s3:PutObject", "s3:PutObjectAcl")

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": statements}


def allow(
    sid: str,
    actions: Iterable[str],
    resources: Iterable[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def partition_of(registry: str) -> str:
    """`aws-cn` for an ECR registry in China, `aws` otherwise."""
    match = _ECR_HOST.match(registry)
    return "aws-cn" if match and match.group(3) else "aws"


def ecr_pull_statements(
    image: ImageReference, actions: Iterable[str] = ECR_PULL_ACTIONS
) -> list[dict[str, Any]]:
    """Pulling `image` from its ECR repository (none when it is not in ECR): the
    repository's layers, and the registry's token, which has no narrower resource."""
    match = _ECR_HOST.match(image.registry)
    if not match:
        return []
    account, region = match.group(1), match.group(2)
    partition = partition_of(image.registry)
    repository = f"arn:{partition}:ecr:{region}:{account}:repository/{image.repository}"
    return [
        allow("PullAnalysisImage", actions, [repository]),
        allow("GetEcrAuthorizationToken", ["ecr:GetAuthorizationToken"], ["*"]),
    ]


def outermost_folders(folders: Iterable[str]) -> list[str]:
    """`bucket/folder/` prefixes without those inside another one, sorted."""
    unique = set(folders)
    return sorted(
        folder
        for folder in unique
        if not any(other != folder and folder.startswith(other) for other in unique)
    )


def s3_object_arns(partition: str, folders: Iterable[str]) -> list[str]:
    """The objects under each `bucket/folder/` prefix."""
    return [f"arn:{partition}:s3:::{folder}*" for folder in folders]
