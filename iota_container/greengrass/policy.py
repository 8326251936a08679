"""The statements the Greengrass device role needs for a recipe: pull the image, upload the
outputs (with their ACL), fetch an image archive."""

from __future__ import annotations

import posixpath
from typing import Any

from iota_container.greengrass.recipe import RecipeSpec
from iota_container.iam_policy import (
    S3_WRITE_ACTIONS,
    allow,
    ecr_pull_statements,
    outermost_folders,
    partition_of,
    policy_document,
    s3_object_arns,
)
from iota_container.storage.uri import parse_output_uri


def device_role_policy(spec: RecipeSpec) -> dict[str, Any] | None:
    """An IAM policy document for the device role, or None when it needs nothing more."""
    partition = partition_of(spec.image.registry)
    statements = ecr_pull_statements(spec.image) if spec.private_ecr else []
    prefixes = _output_prefixes(spec)
    if prefixes:
        resources = s3_object_arns(partition, prefixes)
        statements.append(allow("WriteAnalysisOutputs", S3_WRITE_ACTIONS, resources))
    if spec.image_archive_uri:
        archive = parse_output_uri(spec.image_archive_uri)
        statements.append(
            allow(
                "GetImageArchive",
                ["s3:GetObject"],
                [f"arn:{partition}:s3:::{archive.bucket}/{archive.key}"],
            )
        )
    if not statements:
        return None
    return policy_document(statements)


def _output_prefixes(spec: RecipeSpec) -> list[str]:
    """`bucket/folder/` of each S3 output, folders inside another one left out. A folder,
    not the key: a configuration update may rename the files, or put @RUN_ID@ in them."""
    folders = set()
    for output in spec.outputs:
        if output.scheme == "s3":
            folder = posixpath.dirname(output.key.split("@RUN_ID@", 1)[0])
            folders.add(f"{output.bucket}/{folder}/" if folder else f"{output.bucket}/")
    return outermost_folders(folders)
