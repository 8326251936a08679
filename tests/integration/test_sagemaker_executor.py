"""Runs as SageMaker training jobs against the moto server out of process: its SageMaker
control plane (CreateTrainingJob, DescribeTrainingJob), S3 and CloudWatch Logs.

What moto cannot cover: it runs no container (every job is Completed as soon as it is
created, and its log stream is never written), so tests/e2e/test_sagemaker_container.py
starts the image the way SageMaker does; and its jobs never fail nor stay InProgress, so
the one test of those answers changes DescribeTrainingJob's parsed answer at the client
(said there). It also overwrites a job created twice instead of answering ResourceInUse:
what the executor must never do is send that second CreateTrainingJob, which is checked
on the wire."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from iota_container.engine.executor_runs import record_submission
from iota_container.engine.home import Home
from iota_container.engine.records import CREATING, FAILED, MODE_CONTAINER, SUCCEEDED
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from iota_container.errors import IotaError
from iota_container.executors import executor_for
from iota_container.executors.sagemaker import SageMakerExecutor
from iota_container.executors.sagemaker_settings import SageMakerSettings
from iota_container.storage import register_store
from iota_container.storage.s3 import S3Store
from tests.dataset_helpers import ROLE, container_dataset, output_var, string_var, write_definition
from tests.sagemaker import WireCapture, aws_client, claimed_analysis_run
from tests.servers import MotoServer, header

pytestmark = pytest.mark.integration

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/iota/hot-devices@sha256:" + "ab" * 32
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture
def bucket(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in moto.client_env().items():
        monkeypatch.setenv(key, value)
    register_store("s3", S3Store)  # a client for these settings, not a cached one
    return moto.new_bucket("sagemaker")


@pytest.fixture
def creates() -> WireCapture:
    return WireCapture("CreateTrainingJob")


def executor_on(moto: MotoServer, creates: WireCapture, **settings: Any) -> SageMakerExecutor:
    return SageMakerExecutor(
        creates.attach(aws_client(moto, "sagemaker")),
        aws_client(moto, "logs"),
        settings=SageMakerSettings(poll_seconds=0.01, **settings),
    )


def register_hot_devices(
    store: StateStore, folder: Path, role: str = ROLE, compute_type: str = "ACU_2"
) -> None:
    document = container_dataset(
        "hot_devices",
        string_var("site", "Zürich"),
        output_var("alerts", "alerts.txt"),
        image=IMAGE,
        compute_type=compute_type,
        versioningConfiguration={"maxVersions": 10},  # a followed version is kept
    )
    document["actions"][0]["containerAction"]["executionRoleArn"] = role
    document["actions"][0]["containerAction"]["resourceConfiguration"]["volumeSizeInGB"] = 7
    store.register(write_definition(folder, document))


def s3_engine(tmp_path: Path, bucket: str, executor: SageMakerExecutor) -> DatasetEngine:
    store = StateStore(Home.locate(tmp_path / "home", f"s3://{bucket}/runs"))
    register_hot_devices(store, tmp_path / "defs")
    return DatasetEngine(store, executor=executor)


def test_a_run_is_one_training_job_with_every_field_sent(
    moto: MotoServer,
    bucket: str,
    creates: WireCapture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOTA_SAGEMAKER_INSTANCE_TYPES", "ACU_2=ml.c5.2xlarge")
    monkeypatch.setenv("IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS", "3600")
    monkeypatch.setenv("IOTA_SAGEMAKER_POLL_SECONDS", "0.01")
    monkeypatch.setenv("IOTA_S3_MAX_CONCURRENCY", "3")
    executor = executor_for("sagemaker")  # by name, its settings from the environment
    assert isinstance(executor, SageMakerExecutor)
    creates.attach(executor.sagemaker)
    engine = s3_engine(tmp_path, bucket, executor)

    version = engine.run("hot_devices")

    assert (version.status, version.mode) == (SUCCEEDED, MODE_CONTAINER), version.reason
    prefix = f"runs/hot_devices/{version.id}"
    job = f"iota-hot-devices-{version.id}"
    assert creates.bodies == [
        {
            "TrainingJobName": job,
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [
                {
                    "ChannelName": "iotanalytics",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{bucket}/{prefix}/sagemaker-input/iotanalytics/",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "InputMode": "File",
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/sagemaker-output"},
            "ResourceConfig": {
                "InstanceType": "ml.c5.2xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 7,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Tags": [
                {"Key": "iota-container:dataset", "Value": "hot_devices"},
                {"Key": "iota-container:version", "Value": version.id},
            ],
            "Environment": {"IOTA_S3_MAX_CONCURRENCY": "3"},
        }
    ]
    described = aws_client(moto, "sagemaker").describe_training_job(TrainingJobName=job)
    assert described["RoleArn"] == ROLE
    assert (version.executor, version.run_id) == ("sagemaker", job)
    assert version.node == described["TrainingJobArn"]
    assert described["ResourceConfig"]["InstanceType"] == "ml.c5.2xlarge"
    # The channel's prefix holds exactly the params object, the file the engine wrote.
    s3 = moto.s3()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/sagemaker-input/iotanalytics/")
    assert [item["Key"] for item in listed["Contents"]] == [
        f"{prefix}/sagemaker-input/iotanalytics/params"
    ]
    uploaded = s3.get_object(Bucket=bucket, Key=f"{prefix}/sagemaker-input/iotanalytics/params")
    params = json.loads(uploaded["Body"].read())
    assert params["Variables"]["site"] == "Zürich"
    assert params["Variables"]["alerts"] == f"s3://{bucket}/{prefix}/alerts.txt"
    assert params["Context"]["OutputUris"]["html"] == f"s3://{bucket}/{prefix}/output.html"
    (write,) = moto.object_writes()
    assert write["url"].endswith(f"{prefix}/sagemaker-input/iotanalytics/params")
    assert header(write, "x-amz-acl") == "bucket-owner-full-control"
    log = Path(str(version.log_path)).read_text()
    assert f"training job {job} submitted: {described['TrainingJobArn']}" in log
    assert f"CloudWatch logs: group {LOG_GROUP}, streams {job}/algo-1-…" in log


def test_a_resubmission_finds_the_job_and_follow_after_a_restart(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    engine = s3_engine(tmp_path, bucket, executor_on(moto, creates))
    with claimed_analysis_run(engine, "hot_devices") as run:
        assert executor_on(moto, creates).follow(run) is None  # never submitted: nothing
        first = executor_on(moto, creates).execute(run)
        # The process that submitted it is gone; a new one submits the same run again.
        again = executor_on(moto, creates).execute(run)
        followed = executor_on(moto, creates).follow(run)

    assert len(creates.bodies) == 1  # one CreateTrainingJob on the wire, not two
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{run.run_id}"
    assert first.exit_code == again.exit_code == 0
    assert first.node == again.node == arn
    assert followed is not None and (followed.exit_code, followed.node) == (0, arn)
    log = run.log_path.read_text()
    assert f"training job {run.run_id} exists: following it, not another" in log
    assert f"training job {run.run_id} found again: following it" in log


def test_the_log_stream_is_found_and_its_events_copied(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    engine = s3_engine(tmp_path, bucket, executor_on(moto, creates))
    with claimed_analysis_run(engine, "hot_devices") as run:
        # What SageMaker's agent writes for the job's host (moto runs none).
        logs = aws_client(moto, "logs")
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=LOG_GROUP)
        now = int(time.time())
        stream = f"{run.run_id}/algo-1-{now}"
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[
                {"timestamp": now * 1000, "message": "iota-container: read params: done"},
                {"timestamp": now * 1000 + 1, "message": "iota-container: execute: done"},
            ],
        )
        executor_on(moto, creates).execute(run)
    log = run.log_path.read_text()
    assert f"CloudWatch logs: group {LOG_GROUP}, stream {stream}\n" in log
    assert "iota-container: read params: done\niota-container: execute: done\n" in log


def test_a_failed_job_fails_the_version_with_its_failure_reason(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    """moto's jobs complete at once: DescribeTrainingJob's parsed answer is changed at the
    client (a botocore after-call hook) to InProgress twice, then Failed with the reason
    the runtime writes to /opt/ml/output/failure (the e2e test checks that file)."""
    executor = executor_on(moto, creates)
    answers = iter(["InProgress", "InProgress", "Failed"])

    def as_sagemaker_would(parsed: dict[str, Any], **_: Any) -> None:
        status = next(answers, "Failed")
        parsed["TrainingJobStatus"] = status
        parsed["SecondaryStatus"] = "Training" if status == "InProgress" else "Failed"
        if status == "Failed":
            parsed["FailureReason"] = "AlgorithmError: cell 2 raised ZeroDivisionError"

    # DescribeTrainingJob is called first to find an existing job: moto has none yet.
    engine = s3_engine(tmp_path, bucket, executor)
    executor.sagemaker.meta.events.register(
        "before-call.sagemaker.CreateTrainingJob",
        lambda **_: executor.sagemaker.meta.events.register(
            "after-call.sagemaker.DescribeTrainingJob", as_sagemaker_would
        ),
    )
    version = engine.run("hot_devices")

    assert version.status == FAILED
    job = f"iota-hot-devices-{version.id}"
    assert version.reason == (
        f"training job {job} failed: AlgorithmError: cell 2 raised ZeroDivisionError"
    )
    assert version.exit_code == 1
    log = Path(str(version.log_path)).read_text()
    assert f"training job {job}: InProgress (Training)\n" in log
    assert f"training job {job}: Failed (Failed)\n" in log


def test_bad_input_is_refused_before_anything_is_submitted(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    from iota_container.definitions.new import LOCAL_ROLE_ARN

    executor = executor_on(moto, creates)
    # A file:// output root: a training job cannot write this machine's files.
    local = StateStore(Home.locate(tmp_path / "local-home"))
    register_hot_devices(local, tmp_path / "local-defs")
    version = DatasetEngine(local, executor=executor).run("hot_devices")
    assert version.status == FAILED
    assert version.reason is not None and "IOTA_OUTPUT_ROOT to s3://" in version.reason
    assert "\n" not in version.reason
    # The local placeholder role (`dataset new` without --role-arn): nothing to assume.
    store = StateStore(Home.locate(tmp_path / "home", f"s3://{bucket}/runs"))
    register_hot_devices(store, tmp_path / "defs", role=LOCAL_ROLE_ARN)
    engine = DatasetEngine(store, executor=executor)
    version = engine.run("hot_devices")
    assert version.status == FAILED
    assert version.reason == (
        f"dataset 'hot_devices' has the local placeholder {LOCAL_ROLE_ARN!r} as "
        "executionRoleArn, and a SageMaker training job needs a role to assume: set "
        f"containerAction.executionRoleArn in {tmp_path / 'defs' / 'hot_devices.json'} "
        "(`iota-container sagemaker policy` prints its permissions)"
    )
    # Without a container: a training job is one.
    with pytest.raises(IotaError, match=r"runs only containers.*drop --no-container"):
        engine.run("hot_devices", use_container=False)
    assert creates.bodies == []
    assert moto.object_writes() == []


def test_an_infrastructure_failure_is_retried_as_a_new_job(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    """moto cannot run out of capacity: the first job's DescribeTrainingJob answer is
    changed at the client (a botocore after-call hook) to SageMaker's CapacityError."""
    engine = s3_engine(tmp_path, bucket, executor_on(moto, creates))

    def without_capacity(moto: MotoServer, creates: WireCapture, run_id: str) -> Any:
        executor = executor_on(moto, creates)

        def first_job_failed(parsed: dict[str, Any], **_: Any) -> None:
            if parsed.get("TrainingJobName") == run_id:
                parsed["TrainingJobStatus"] = "Failed"
                parsed["FailureReason"] = "CapacityError: Unable to provision ML compute"

        executor.sagemaker.meta.events.register(
            "after-call.sagemaker.DescribeTrainingJob", first_job_failed
        )
        return executor

    with claimed_analysis_run(engine, "hot_devices") as run:
        failed = without_capacity(moto, creates, run.run_id).execute(run)
        retried = without_capacity(moto, creates, run.run_id).execute(run)
        followed = without_capacity(moto, creates, run.run_id).follow(run)

    assert (failed.exit_code, failed.infrastructure_failure) == (1, True)
    assert failed.reason == (
        f"training job {run.run_id} failed: CapacityError: Unable to provision ML compute"
    )
    retry = f"{run.run_id}-retry1"
    assert [body["TrainingJobName"] for body in creates.bodies] == [run.run_id, retry]
    assert (retried.exit_code, retried.infrastructure_failure) == (0, False)
    assert retried.node is not None and retried.node.endswith(f"training-job/{retry}")
    assert followed is not None and followed.node == retried.node


def test_a_job_left_by_a_process_that_died_is_followed_not_submitted_again(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    engine = s3_engine(tmp_path, bucket, executor_on(moto, creates))
    store = engine.store
    with claimed_analysis_run(engine, "hot_devices") as run:
        # What the engine records before it hands a run over, then the job submitted; the
        # process that submitted it stops before it records the end (as under SIGKILL).
        store.record_start(run.version, outputs=run.run_params.outputs, log_path=run.log_path)
        record_submission(
            store, run.version, executor="sagemaker", run_id=run.run_id, followable=True
        )
        executor_on(moto, creates).execute(run)
    assert store.version("hot_devices", run.version.id).status == CREATING

    restarted = DatasetEngine(store, executor=executor_on(moto, creates))
    version = restarted.run("hot_devices")

    followed = store.version("hot_devices", run.version.id)
    assert followed.status == SUCCEEDED, followed.reason
    assert followed.node == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{run.run_id}"
    assert version.status == SUCCEEDED and version.id != followed.id
    assert [body["TrainingJobName"] for body in creates.bodies] == [run.run_id, version.run_id]
    assert f"training job {run.run_id} found again: following it" in run.log_path.read_text()


def test_a_job_another_submitter_created_meanwhile_is_followed(
    moto: MotoServer, bucket: str, creates: WireCapture, tmp_path: Path
) -> None:
    """Another submitter creates the job between this one's DescribeTrainingJob and its
    CreateTrainingJob. SageMaker answers the second create ResourceInUse; moto replaces the
    job instead, so that answer is given at the client (a botocore before-call hook that
    short-circuits the request), after the other submitter's job really is in moto."""
    from botocore.awsrequest import AWSResponse

    executor = executor_on(moto, creates)
    engine = s3_engine(tmp_path, bucket, executor)
    other = aws_client(moto, "sagemaker")

    def created_by_the_other(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        request = json.loads(params["body"])  # the request as serialized for the wire
        other.create_training_job(**(request | {"Tags": [{"Key": "by", "Value": "other"}]}))
        response = AWSResponse("https://sagemaker", 400, {}, None)
        error = {"Code": "ResourceInUse", "Message": f"{request['TrainingJobName']} exists"}
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    executor.sagemaker.meta.events.register(
        "before-call.sagemaker.CreateTrainingJob", created_by_the_other
    )
    with claimed_analysis_run(engine, "hot_devices") as run:
        ended = executor.execute(run)

    assert ended.exit_code == 0
    assert ended.node == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{run.run_id}"
    tags = other.list_tags(ResourceArn=ended.node)["Tags"]
    assert {"Key": "by", "Value": "other"} in tags  # the other submitter's job, kept
