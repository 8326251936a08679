"""`iota-container sagemaker policy` (the execution role's policies), `run train` (the
way SageMaker starts the image) and `dataset run --executor sagemaker` against the moto
server, as the CLI's own processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.dataset_helpers import (
    ROLE,
    container_dataset,
    content_var,
    sql_dataset,
    write_definition,
)
from tests.sagemaker import aws_client
from tests.servers import MotoServer
from tests.support import run_cli

pytestmark = pytest.mark.integration

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/iota/hot-devices:v1"


def test_the_policy_of_the_execution_role(tmp_path: Path) -> None:
    definition = write_definition(
        tmp_path,
        container_dataset("hot_devices", content_var("readings", "readings"), image=ECR_IMAGE),
    )
    printed = run_cli(
        "sagemaker", "policy", str(definition), "--json", env={"IOTA_OUTPUT_ROOT": "s3://bkt/runs/"}
    )

    assert printed.returncode == 0, printed.stderr
    policies = json.loads(printed.stdout)
    assert policies["trustPolicy"]["Statement"] == [
        {
            "Sid": "SageMakerAssumesRole",
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    statements = {s["Sid"]: s for s in policies["permissionsPolicy"]["Statement"]}
    assert statements["ReadRunParams"]["Resource"] == [
        "arn:aws:s3:::bkt/runs/hot_devices/*/sagemaker-input/*"
    ]
    assert statements["ListRunParams"]["Condition"] == {
        "StringLike": {"s3:prefix": ["runs/hot_devices/*"]}
    }
    assert statements["WriteAnalysisOutputs"] == {
        "Sid": "WriteAnalysisOutputs",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:PutObjectAcl"],
        "Resource": ["arn:aws:s3:::bkt/runs/hot_devices/*"],
    }
    assert statements["ReadDatasetContent"]["Resource"] == ["arn:aws:s3:::bkt/runs/readings/*"]
    assert statements["PullAnalysisImage"]["Action"] == [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
    ]
    assert statements["PullAnalysisImage"]["Resource"] == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/iota/hot-devices"
    ]
    assert statements["GetEcrAuthorizationToken"]["Action"] == ["ecr:GetAuthorizationToken"]
    assert statements["WriteTrainingLogs"]["Resource"] == [
        "arn:aws:logs:*:*:log-group:/aws/sagemaker/TrainingJobs",
        "arn:aws:logs:*:*:log-group:/aws/sagemaker/TrainingJobs:log-stream:*",
    ]
    assert policies["notes"] == []


def test_the_policy_of_an_image_outside_ecr_and_bad_input(tmp_path: Path) -> None:
    definition = write_definition(tmp_path, container_dataset("report", image="localhost/r:v1"))
    printed = run_cli("sagemaker", "policy", str(definition), "--output-root", "s3://bkt")
    assert printed.returncode == 0, printed.stderr
    assert "# permissions policy" in printed.stdout
    assert "PullAnalysisImage" not in printed.stdout
    assert "arn:aws:s3:::bkt/report/*" in printed.stdout
    assert "note: image localhost/r:v1 is not in ECR" in printed.stderr

    local = run_cli("sagemaker", "policy", str(definition), "--output-root", "file:///tmp/out")
    assert local.returncode == 2
    assert local.stderr == (
        "error: the output root file:///tmp/out is not in S3, and SageMaker training jobs "
        "write only there: set IOTA_OUTPUT_ROOT (or --output-root) to s3://BUCKET/PREFIX\n"
    )
    sql = write_definition(tmp_path, sql_dataset("readings", file="readings.csv"))
    refused = run_cli("sagemaker", "policy", str(sql), "--output-root", "s3://bkt")
    assert refused.returncode == 2
    assert "error: dataset 'readings' is a SQL dataset" in refused.stderr


def test_run_takes_the_word_train_and_no_other(tmp_path: Path) -> None:
    refused = run_cli("run", "train", "extra", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: `iota-container run` takes no words but 'train' (how SageMaker starts a "
        "training container), not 'train extra': give options (--params, --notebook) instead\n"
    )
    # `train` itself is accepted: the run goes on to its params (none here).
    missing = run_cli("run", "train", "--params", str(tmp_path / "params"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "takes no words" not in missing.stderr
    assert "params" in missing.stderr.splitlines()[-1]


def dataset_cli(
    tmp_path: Path, moto: MotoServer, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`iota-container dataset ARGS` against the moto server (SageMaker, S3, Logs)."""
    settings = moto.client_env() | {"IOTA_HOME": str(tmp_path / "home")} | env
    return run_cli("dataset", *args, env=settings, cwd=tmp_path)


def test_dataset_run_with_the_sagemaker_executor(moto: MotoServer, tmp_path: Path) -> None:
    bucket = moto.new_bucket("sagemaker-cli")
    definition = write_definition(tmp_path, container_dataset("report", image=ECR_IMAGE))
    root = {"IOTA_OUTPUT_ROOT": f"s3://{bucket}/runs", "IOTA_SAGEMAKER_POLL_SECONDS": "0.05"}
    registered = dataset_cli(tmp_path, moto, "register", str(definition))
    assert registered.returncode == 0, registered.stderr

    ran = dataset_cli(tmp_path, moto, "run", "report", "--executor", "sagemaker", "--json", **root)

    assert ran.returncode == 0, ran.stderr
    version = json.loads(ran.stdout)
    assert version["status"] == "SUCCEEDED"
    job = f"iota-report-{version['versionId']}"
    described = aws_client(moto, "sagemaker").describe_training_job(TrainingJobName=job)
    assert (version["executor"], version["runId"]) == ("sagemaker", job)
    shown = json.loads(dataset_cli(tmp_path, moto, "content", "report", "--json", **root).stdout)
    assert shown["node"] == described["TrainingJobArn"]
    assert described["AlgorithmSpecification"]["TrainingImage"] == ECR_IMAGE
    assert described["RoleArn"] == ROLE
    assert described["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    channel = f"runs/report/{version['versionId']}/sagemaker-input/iotanalytics/params"
    assert moto.s3().head_object(Bucket=bucket, Key=channel)["ContentLength"] > 0

    # Bad input, each refused in one line before anything is submitted.
    huge = dataset_cli(
        tmp_path,
        moto,
        "run",
        "report",
        "--executor",
        "sagemaker",
        **root,
        IOTA_SAGEMAKER_INSTANCE_TYPES="ACU_1=ml.m5.huge",
    )
    assert huge.returncode == 2
    assert huge.stderr.startswith("error: instance type 'ml.m5.huge' for ACU_1 is not one")
    assert huge.stderr.count("\n") == 1
    no_container = dataset_cli(
        tmp_path, moto, "run", "report", "--executor", "sagemaker", "--no-container", **root
    )
    assert no_container.returncode == 2
    assert no_container.stderr == (
        "error: the sagemaker executor runs only containers (a training job runs the "
        "dataset's image): drop --no-container, or choose --executor local\n"
    )
    local = dataset_cli(tmp_path, moto, "run", "report", "--executor", "sagemaker")
    assert local.returncode == 2
    assert "which a SageMaker training job cannot reach: set IOTA_OUTPUT_ROOT" in local.stderr
    jobs = aws_client(moto, "sagemaker").list_training_jobs()["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in jobs if "report" in j["TrainingJobName"]] == [job]
