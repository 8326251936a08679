"""The IAM policies of a dataset's SageMaker execution role (`iota-container sagemaker
policy`): who may assume it (SageMaker), and what its training jobs do with it.

Under the output root s3://BUCKET/ROOT, a run of dataset NAME writes its outputs, its
params file and SageMaker's output under BUCKET/ROOT/NAME/VERSION/ (sagemaker_job.py):
- read the params file: s3:GetObject on BUCKET/ROOT/NAME/*/sagemaker-input/*, and
  s3:ListBucket for that prefix (File mode lists the channel's prefix);
- write the outputs and SageMaker's output, with their ACL: BUCKET/ROOT/NAME/*;
- read the content of each dataset a datasetContentVersionValue names: BUCKET/ROOT/OTHER/*;
- pull the image from its ECR repository;
- write the training job's logs (/aws/sagemaker/TrainingJobs) and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iota_container.definitions.model import DatasetDefinition
from iota_container.errors import IotaError
from iota_container.executors.sagemaker_job import INPUT_FOLDER, LOG_GROUP
from iota_container.iam_policy import (
    ECR_PULL_ACTIONS,
    S3_WRITE_ACTIONS,
    allow,
    ecr_pull_statements,
    partition_of,
    policy_document,
    s3_object_arns,
)
from iota_container.image.reference import parse_reference
from iota_container.storage.uri import parse_output_uri

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
LOG_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
)


@dataclass(frozen=True)
class ExecutionRolePolicies:
    dataset: str
    trust_policy: dict[str, Any]
    permissions_policy: dict[str, Any]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "trustPolicy": self.trust_policy,
            "permissionsPolicy": self.permissions_policy,
            "notes": list(self.notes),
        }


def execution_role_policies(
    definition: DatasetDefinition, output_root: str
) -> ExecutionRolePolicies:
    """The policies of the role that `definition`'s training jobs run as, its runs
    writing under `output_root` (an s3:// URI)."""
    action = definition.container_action
    name = definition.dataset_name
    if action is None:
        raise IotaError(
            f"dataset {name!r} is a SQL dataset, which runs no container and needs no "
            "execution role: give the definition of a container dataset"
        )
    bucket, root = _s3_root(output_root)
    image = parse_reference(action.image)
    partition = partition_of(image.registry)
    own = f"{bucket}/{root}{name}/"
    statements = [
        allow(
            "ReadRunParams",
            ["s3:GetObject"],
            [f"arn:{partition}:s3:::{own}*/{INPUT_FOLDER}/*"],
        ),
        allow(
            "ListRunParams",
            ["s3:ListBucket"],
            [f"arn:{partition}:s3:::{bucket}"],
            {"StringLike": {"s3:prefix": [f"{root}{name}/*"]}},
        ),
        allow("WriteAnalysisOutputs", S3_WRITE_ACTIONS, s3_object_arns(partition, [own])),
    ]
    upstream = sorted(
        {
            variable.dataset_content_version_value.dataset_name
            for variable in action.variables
            if variable.dataset_content_version_value is not None
        }
    )
    if upstream:
        folders = [f"{bucket}/{root}{dataset}/" for dataset in upstream]
        statements.append(
            allow("ReadDatasetContent", ["s3:GetObject"], s3_object_arns(partition, folders))
        )
    pull = ecr_pull_statements(image, (*ECR_PULL_ACTIONS, "ecr:BatchCheckLayerAvailability"))
    statements.extend(pull)
    log_group = f"arn:{partition}:logs:*:*:log-group:{LOG_GROUP}"
    statements.append(
        allow("WriteTrainingLogs", LOG_ACTIONS, [log_group, f"{log_group}:log-stream:*"])
    )
    statements.append(allow("PutTrainingMetrics", ["cloudwatch:PutMetricData"], ["*"]))
    notes = () if pull else (_not_in_ecr(action.image),)
    return ExecutionRolePolicies(name, _trust_policy(), policy_document(statements), notes)


def _trust_policy() -> dict[str, Any]:
    return policy_document(
        [
            {
                "Sid": "SageMakerAssumesRole",
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ]
    )


def _s3_root(output_root: str) -> tuple[str, str]:
    """(bucket, `key/` or ``) of an s3:// output root; IotaError for any other."""
    from iota_container.engine.home import OUTPUT_ROOT_ENV, normalize_output_root

    root = normalize_output_root(output_root)
    if not root.startswith("s3://"):
        raise IotaError(
            f"the output root {root} is not in S3, and SageMaker training jobs write only "
            f"there: set {OUTPUT_ROOT_ENV} (or --output-root) to s3://BUCKET/PREFIX"
        )
    target = parse_output_uri(f"{root}/_")
    folder = target.key[: -len("_")]
    return target.bucket, folder


def _not_in_ecr(image: str) -> str:
    return (
        f"image {image} is not in ECR, so the role gets no pull permissions: SageMaker pulls "
        "training images from ECR (push it there, e.g. with `iota-container build -r`)"
    )
