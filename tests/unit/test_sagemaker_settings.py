"""The sagemaker executor's settings: instance types per compute type, checked against
the TrainingInstanceType enum of botocore's SageMaker service model; the stopping
condition and the polling interval."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from iota_container.executors import executor_for
from iota_container.executors.base import run_id_for
from iota_container.executors.sagemaker_job import retry_name, run_ended
from iota_container.executors.sagemaker_settings import (
    SageMakerSettingError,
    SageMakerSettings,
    training_instance_types,
)


def test_defaults_match_the_service_compute_types() -> None:
    settings = SageMakerSettings.from_environment({})
    assert settings.instance_type_for("ACU_1") == "ml.m5.xlarge"
    assert settings.instance_type_for("ACU_2") == "ml.m5.2xlarge"
    assert (settings.max_runtime_seconds, settings.poll_seconds) == (86_400, 15.0)


def test_instance_types_are_configurable_one_compute_type_at_a_time() -> None:
    settings = SageMakerSettings.from_environment(
        {
            "IOTA_SAGEMAKER_INSTANCE_TYPES": " ACU_2 = ml.c5.2xlarge ",
            "IOTA_SAGEMAKER_POLL_SECONDS": "0.5",
        }
    )
    assert settings.instance_type_for("ACU_1") == "ml.m5.xlarge"
    assert settings.instance_type_for("ACU_2") == "ml.c5.2xlarge"
    assert settings.poll_seconds == 0.5


def test_the_accepted_types_are_botocores_training_instance_types() -> None:
    accepted = training_instance_types()
    assert {"ml.m5.xlarge", "ml.m5.2xlarge", "ml.g5.xlarge"} <= accepted
    assert "ml.t2.medium" not in accepted  # a notebook instance type, not a training one


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"IOTA_SAGEMAKER_INSTANCE_TYPES": "ACU_1=ml.m5.huge"},
            "instance type 'ml.m5.huge' for ACU_1 is not one SageMaker trains on: fix "
            "IOTA_SAGEMAKER_INSTANCE_TYPES (e.g. ACU_1=ml.m5.xlarge)",
        ),
        (
            {"IOTA_SAGEMAKER_INSTANCE_TYPES": "ACU_2=ml.t2.medium"},
            "instance type 'ml.t2.medium' for ACU_2 is not one SageMaker trains on",
        ),
        (
            {"IOTA_SAGEMAKER_INSTANCE_TYPES": "ACU_3=ml.m5.xlarge"},
            "IOTA_SAGEMAKER_INSTANCE_TYPES: 'ACU_3' is not a compute type: use ACU_1 or ACU_2",
        ),
        (
            {"IOTA_SAGEMAKER_INSTANCE_TYPES": "ml.m5.xlarge"},
            "IOTA_SAGEMAKER_INSTANCE_TYPES: 'ml.m5.xlarge' is not COMPUTE_TYPE=INSTANCE_TYPE",
        ),
        (
            {"IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS": "2419201"},
            "IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS=2419201 is not between 1 and 2419200 seconds",
        ),
        (
            {"IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS": "1.5"},
            "IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS='1.5' is not a whole number of seconds",
        ),
        (
            {"IOTA_SAGEMAKER_POLL_SECONDS": "nan"},
            "IOTA_SAGEMAKER_POLL_SECONDS=nan is not a number of seconds greater than 0",
        ),
    ],
)
def test_settings_sagemaker_would_refuse(environment: dict[str, str], message: str) -> None:
    with pytest.raises(SageMakerSettingError) as refused:
        SageMakerSettings.from_environment(environment)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_the_executor_by_name_refuses_a_bad_instance_type_when_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOTA_SAGEMAKER_INSTANCE_TYPES", "ACU_1=ml.m5.huge")
    with pytest.raises(SageMakerSettingError, match=r"'ml\.m5\.huge'"):
        executor_for("sagemaker")


def described(status: str, **fields: object) -> dict[str, object]:
    started = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    return {
        "TrainingJobName": "iota-a-1",
        "TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/iota-a-1",
        "TrainingJobStatus": status,
        "TrainingStartTime": started,
        "TrainingEndTime": started + timedelta(seconds=42),
        **fields,
    }


def test_how_a_training_job_ended() -> None:
    settings = SageMakerSettings(max_runtime_seconds=600)
    completed = run_ended(described("Completed"), settings)
    assert (completed.exit_code, completed.duration_seconds, completed.reason) == (0, 42.0, None)
    assert completed.node == "arn:aws:sagemaker:eu-west-1:123456789012:training-job/iota-a-1"
    failed = run_ended(described("Failed", FailureReason="AlgorithmError: cell 1 raised"), settings)
    assert (failed.exit_code, failed.infrastructure_failure) == (1, False)
    assert failed.reason == "training job iota-a-1 failed: AlgorithmError: cell 1 raised"
    capacity = run_ended(described("Failed", FailureReason="CapacityError: no ml.m5"), settings)
    assert capacity.infrastructure_failure
    timed_out = run_ended(described("Stopped", SecondaryStatus="MaxRuntimeExceeded"), settings)
    assert timed_out.reason == (
        "training job iota-a-1 ran longer than 600 s and was stopped: raise "
        "IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS, or make the analysis faster"
    )


def test_a_retry_name_fits_a_training_job_name() -> None:
    run_id = run_id_for("d" * 80, "20261201T120000Z-0123abcd")
    assert len(run_id) == 63
    assert retry_name(run_id, 1) == f"{run_id[:56]}-retry1"
    assert retry_name("iota-a-1", 12) == "iota-a-1-retry12"
