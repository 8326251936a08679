"""`iota-container sagemaker policy` (the execution role's policies) and `run train`, the
way SageMaker starts the image, as the CLI's own processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dataset_helpers import container_dataset, content_var, sql_dataset, write_definition
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
