"""One version's CreateTrainingJob request, and how a DescribeTrainingJob answer ended.

Where a run's files go, under the version's own output prefix (s3:// only: a training
job cannot reach this machine's files):

  PREFIX/sagemaker-input/iotanalytics/params   the params file, the only object under the
                                               channel's S3Prefix, so SageMaker lays it at
                                               /opt/ml/input/data/iotanalytics/params
  PREFIX/sagemaker-output/                     OutputDataConfig.S3OutputPath

The image runs unchanged: SageMaker starts it as `IMAGE train`, which the runtime accepts
(cli/run_commands.py), and reads /opt/ml/output/failure as the job's FailureReason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iota_container.errors import EXIT_ANALYSIS_FAILED, IotaError
from iota_container.executors.base import RUN_ID_LENGTH, AnalysisRun, RunEnded
from iota_container.executors.sagemaker_settings import MAX_RUNTIME_ENV, SageMakerSettings
from iota_container.storage.s3 import MAX_CONCURRENCY_ENV, MULTIPART_THRESHOLD_ENV

CHANNEL_NAME = "iotanalytics"
PARAMS_OBJECT = "params"
INPUT_FOLDER = "sagemaker-input"
OUTPUT_FOLDER = "sagemaker-output"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
RUNNING = frozenset(("InProgress", "Stopping"))
# FailureReason prefixes of a failure of SageMaker's side, not of the analysis.
INFRASTRUCTURE_FAILURES = ("CapacityError", "InternalServerError")
# What the container gets of this machine's environment: how it uploads, never credentials
# (the execution role gives it its own) nor endpoints (SageMaker's region is its own).
PASSED_ENVIRONMENT = (
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
    MULTIPART_THRESHOLD_ENV,
    MAX_CONCURRENCY_ENV,
)
TAG_DATASET = "iota-container:dataset"
TAG_VERSION = "iota-container:version"


@dataclass(frozen=True)
class JobPlaces:
    """The S3 places of one run's training job."""

    params_uri: str
    channel_prefix: str
    output_path: str


def job_places(run: AnalysisRun) -> JobPlaces:
    """The run's S3 places; IotaError when its outputs (or inputs) are not in S3."""
    prefix = run.version.output_prefix
    if not prefix.startswith("s3://"):
        from iota_container.engine.home import OUTPUT_ROOT_ENV

        raise IotaError(
            f"dataset {run.dataset.name!r} would write its outputs to {prefix}, which a "
            f"SageMaker training job cannot reach: set {OUTPUT_ROOT_ENV} to s3://BUCKET/PREFIX "
            "or run it with --executor local"
        )
    for variable, uri in run.run_params.inputs.items():
        if not uri.startswith("s3://"):
            raise IotaError(
                f"variable {variable!r} of dataset {run.dataset.name!r} reads {uri}, which a "
                "SageMaker training job cannot reach: run the dataset it reads with an s3:// "
                "output root, then run this one again"
            )
    channel = f"{prefix}/{INPUT_FOLDER}/{CHANNEL_NAME}/"
    return JobPlaces(f"{channel}{PARAMS_OBJECT}", channel, f"{prefix}/{OUTPUT_FOLDER}")


def execution_role(run: AnalysisRun) -> str:
    """The definition's executionRoleArn; IotaError when it is missing or is the local
    placeholder (`dataset new` without --role-arn), which no training job can assume."""
    from iota_container.definitions.new import LOCAL_ROLE_ARN

    dataset = run.dataset
    action = dataset.definition.container_action
    role = action.execution_role_arn.strip() if action is not None else ""
    if not role or role == LOCAL_ROLE_ARN:
        what = "no executionRoleArn" if not role else f"the local placeholder {role!r}"
        raise IotaError(
            f"dataset {dataset.name!r} has {what} as executionRoleArn, and a SageMaker training "
            f"job needs a role to assume: set containerAction.executionRoleArn in "
            f"{dataset.source_file} (`iota-container sagemaker policy` prints its permissions)"
        )
    return role


def retry_name(run_id: str, attempt: int) -> str:
    """The job name of a run's `attempt`th retry (within the 63 characters of a name)."""
    suffix = f"-retry{attempt}"
    return f"{run_id[: RUN_ID_LENGTH - len(suffix)].rstrip('-')}{suffix}"


def infrastructure_failed(description: dict[str, Any]) -> bool:
    """The job failed because SageMaker's side did, not the analysis."""
    failure = str(description.get("FailureReason") or "").strip()
    return description["TrainingJobStatus"] == "Failed" and failure.startswith(
        INFRASTRUCTURE_FAILURES
    )


def training_job_request(
    run: AnalysisRun, settings: SageMakerSettings, places: JobPlaces, role: str, name: str
) -> dict[str, Any]:
    """The CreateTrainingJob request of one run (`name`: its run id, or a retry's)."""
    action = run.dataset.definition.container_action
    assert action is not None
    resources = action.resource_configuration
    environment = {key: os.environ[key] for key in PASSED_ENVIRONMENT if os.environ.get(key)}
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": action.image, "TrainingInputMode": "File"},
        "RoleArn": role,
        "InputDataConfig": [
            {
                "ChannelName": CHANNEL_NAME,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": places.channel_prefix,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": places.output_path},
        "ResourceConfig": {
            "InstanceType": settings.instance_type_for(resources.compute_type),
            "InstanceCount": 1,
            "VolumeSizeInGB": resources.volume_size_in_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "Tags": [
            {"Key": TAG_DATASET, "Value": run.dataset.name},
            {"Key": TAG_VERSION, "Value": run.version.id},
        ],
    }
    if environment:
        request["Environment"] = environment
    return request


def run_ended(description: dict[str, Any], settings: SageMakerSettings) -> RunEnded:
    """How a finished training job ended, as a run's end."""
    name = description["TrainingJobName"]
    status = description["TrainingJobStatus"]
    node = description.get("TrainingJobArn") or name
    duration = _duration(description.get("TrainingStartTime"), description.get("TrainingEndTime"))
    if status == "Completed":
        return RunEnded(0, duration, node=node)
    failure = str(description.get("FailureReason") or "").strip()
    if status == "Stopped" and description.get("SecondaryStatus") == "MaxRuntimeExceeded":
        reason = (
            f"training job {name} ran longer than {settings.max_runtime_seconds} s and was "
            f"stopped: raise {MAX_RUNTIME_ENV}, or make the analysis faster"
        )
    elif status == "Stopped":
        reason = f"training job {name} was stopped before it ended: run the dataset again"
    else:
        reason = f"training job {name} {status.lower()}: {failure or 'no FailureReason given'}"
    return RunEnded(
        EXIT_ANALYSIS_FAILED,
        duration,
        reason,
        node=node,
        infrastructure_failure=infrastructure_failed(description),
    )


def _duration(started: datetime | None, ended: datetime | None) -> float:
    if started is None or ended is None:
        return 0.0
    return max(0.0, (ended - started).total_seconds())
