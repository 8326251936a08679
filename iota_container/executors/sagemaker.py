"""The `sagemaker` executor: each run is one SageMaker training job, named by its run id.

    executor = SageMakerExecutor()          # clients from the default session, lazily
    ended = executor.execute(run)           # params uploaded, job created, polled to its end

- The params file goes up through the project's S3 store (with its ACL) to the run's own
  prefix, the training job's input channel `iotanalytics` (sagemaker_job.py); the image
  runs unchanged, started by SageMaker as `IMAGE train`.
- A resubmission (after a crash, or a scheduler restart: `follow`) finds the job of that
  name and follows it instead of starting another: DescribeTrainingJob first, and a
  ResourceInUse answer to CreateTrainingJob read as "it exists". Only a job that ended by
  an infrastructure failure (CapacityError, InternalServerError) is submitted again, as
  `RUN_ID-retryN`, when the engine retries it (x-iota-infrastructure-retries).
- The run's log records the job's ARN, its status changes and its CloudWatch log stream
  (group /aws/sagemaker/TrainingJobs, stream JOB/algo-1-…), with the stream's events
  copied in when it can be read.
- Only container runs: there is no process to run on SageMaker's side.

Clients are injected (a boto3 SageMaker and CloudWatch Logs client, or a session to make
them from); by default they come from boto3's default session, which honours AWS_REGION
and AWS_ENDPOINT_URL (AWS_ENDPOINT_URL_SAGEMAKER, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS).
Settings: sagemaker_settings.py.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iota_container import storage
from iota_container.engine.records import MODE_CONTAINER
from iota_container.errors import IotaError
from iota_container.executors.base import AnalysisRun, RunEnded
from iota_container.executors.sagemaker_job import (
    LOG_GROUP,
    RUNNING,
    execution_role,
    infrastructure_failed,
    job_places,
    retry_name,
    run_ended,
    training_job_request,
)
from iota_container.executors.sagemaker_settings import SageMakerSettings
from iota_container.text import one_line

log = logging.getLogger("iota_container")

MAX_COPIED_LOG_EVENTS = 10_000  # a runaway analysis must not fill the engine's disk


class SageMakerExecutor:
    name = "sagemaker"

    def __init__(
        self,
        sagemaker: Any | None = None,
        logs: Any | None = None,
        *,
        session: Any | None = None,
        settings: SageMakerSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`sagemaker`, `logs`: boto3 clients; made from `session` (default: boto3's
        default session) on first need when not given. `settings`: by default from the
        environment (IOTA_SAGEMAKER_*), checked here."""
        self._sagemaker = sagemaker
        self._logs = logs
        self._session = session
        self.settings = settings or SageMakerSettings.from_environment()
        self._sleep = sleep

    def choose_mode(self, use_container: bool | None) -> str:
        if use_container is False:
            raise IotaError(
                "the sagemaker executor runs only containers (a training job runs the "
                "dataset's image): drop --no-container, or choose --executor local"
            )
        return MODE_CONTAINER

    def execute(self, run: AnalysisRun) -> RunEnded:
        role = execution_role(run)
        places = job_places(run)
        attempt, name, description = self._latest_attempt(run.run_id)
        if description is not None and not infrastructure_failed(description):
            _log_line(run.log_path, f"training job {name} exists: following it, not another")
            return self._wait(name, run.log_path, description)
        if description is not None:  # the last attempt's infrastructure failed: a retry
            name = retry_name(run.run_id, attempt + 1)
        storage.put(run.params_path, places.params_uri)
        description = self._create(training_job_request(run, self.settings, places, role, name))
        _log_line(run.log_path, f"training job {name} submitted: {_arn(description)}")
        return self._wait(name, run.log_path, description)

    def follow(self, run: AnalysisRun) -> RunEnded | None:
        _, name, description = self._latest_attempt(run.run_id)
        if description is None:
            return None
        _log_line(run.log_path, f"training job {name} found again: following it")
        return self._wait(name, run.log_path, description)

    def _latest_attempt(self, run_id: str) -> tuple[int, str, dict[str, Any] | None]:
        """The run's last job: its own, else the retry after each infrastructure failure
        (`RUN_ID-retryN`, since a job's name is never used twice); None when there is none."""
        attempt, name = 0, run_id
        description = self._describe(name)
        while description is not None and infrastructure_failed(description):
            following = retry_name(run_id, attempt + 1)
            later = self._describe(following)
            if later is None:
                break
            attempt, name, description = attempt + 1, following, later
        return attempt, name, description

    @property
    def sagemaker(self) -> Any:
        if self._sagemaker is None:
            self._sagemaker = _client(self._session, "sagemaker")
        return self._sagemaker

    @property
    def logs(self) -> Any:
        if self._logs is None:
            self._logs = _client(self._session, "logs")
        return self._logs

    def _describe(self, name: str) -> dict[str, Any] | None:
        """The job's description; None when SageMaker has no job of that name."""
        from botocore.exceptions import ClientError

        try:
            answer: dict[str, Any] = self.sagemaker.describe_training_job(TrainingJobName=name)
        except ClientError as e:
            if _is_missing_job(e):
                return None
            raise _sagemaker_error(e, f"describing training job {name}") from e
        except _connection_errors() as e:
            raise _sagemaker_error(e, f"describing training job {name}") from e
        return answer

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        name = request["TrainingJobName"]
        try:
            self.sagemaker.create_training_job(**request)
        except ClientError as e:
            # Another submitter created it between our describe and create: follow that one.
            if _code(e) != "ResourceInUse":
                raise _sagemaker_error(e, f"creating training job {name}") from e
        except _connection_errors() as e:
            raise _sagemaker_error(e, f"creating training job {name}") from e
        description = self._describe(name)
        if description is None:
            raise IotaError(
                f"SageMaker accepted training job {name} but does not describe it: check the "
                "region (AWS_REGION) and endpoint (AWS_ENDPOINT_URL) settings"
            )
        return description

    def _wait(self, name: str, log_path: Path, description: dict[str, Any]) -> RunEnded:
        """Poll the job until it leaves InProgress/Stopping; its log stream recorded."""
        seen = ""
        while True:
            status = f"{description['TrainingJobStatus']} ({description.get('SecondaryStatus')})"
            if status != seen:
                _log_line(log_path, f"training job {name}: {status}")
                seen = status
            if description["TrainingJobStatus"] not in RUNNING:
                break
            self._sleep(self.settings.poll_seconds)
            description = self._describe(name) or description
        self._record_log_stream(name, log_path)
        ended = run_ended(description, self.settings)
        log.info("training job %s ended %s", name, description["TrainingJobStatus"])
        return ended

    def _record_log_stream(self, name: str, log_path: Path) -> None:
        """The job's CloudWatch log stream in the run's log, with its events when it can be
        read; else the stream's prefix, where SageMaker writes it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            streams = self.logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/"
            ).get("logStreams", [])
        except (BotoCoreError, ClientError) as e:
            log.debug("no log streams of %s: %s", name, e)
            streams = []
        if not streams:
            _log_line(log_path, f"CloudWatch logs: group {LOG_GROUP}, streams {name}/algo-1-…")
            return
        for stream in streams:
            stream_name = stream["logStreamName"]
            _log_line(log_path, f"CloudWatch logs: group {LOG_GROUP}, stream {stream_name}")
            try:
                self._copy_log_events(stream_name, log_path)
            except (BotoCoreError, ClientError) as e:
                _log_line(log_path, f"the stream's events cannot be read here: {_reason(e)}")

    def _copy_log_events(self, stream: str, log_path: Path) -> None:
        token: str | None = None
        copied = 0
        with log_path.open("a", encoding="utf-8") as out:
            while copied < MAX_COPIED_LOG_EVENTS:
                page = self.logs.get_log_events(
                    logGroupName=LOG_GROUP,
                    logStreamName=stream,
                    startFromHead=True,
                    **({"nextToken": token} if token else {}),
                )
                events = page.get("events", [])
                for event in events[: MAX_COPIED_LOG_EVENTS - copied]:
                    out.write(f"{str(event.get('message', '')).rstrip()}\n")
                copied += len(events)
                # The forward token repeats once the stream's end is reached.
                if not events or page.get("nextForwardToken") in (None, token):
                    return
                token = page["nextForwardToken"]


def _client(session: Any | None, service: str) -> Any:
    import boto3
    from botocore.config import Config

    # botocore reads AWS_RETRY_MODE itself; without it, retry throttling as the stores do.
    config = None if os.environ.get("AWS_RETRY_MODE") else Config(retries={"mode": "standard"})
    chosen: Any = session or boto3.session.Session()
    return chosen.client(service, config=config)


def _log_line(log_path: Path, line: str) -> None:
    with log_path.open("a", encoding="utf-8") as out:
        out.write(f"iota-container: sagemaker: {line}\n")


def _arn(description: dict[str, Any]) -> str:
    return str(description.get("TrainingJobArn") or description["TrainingJobName"])


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_missing_job(error: Any) -> bool:
    """SageMaker answers a job it does not have with ValidationException ("Requested
    resource not found"; moto: "Could not find training job")."""
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return _code(error) in ("ValidationException", "ResourceNotFound") and (
        "not found" in message or "could not find" in message
    )


def _connection_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError

    return (BotoCoreError,)


def _reason(error: Exception) -> str:
    """The service's code and message (or the error's own words), on one line."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        detail = response.get("Error", {})
        text = f"{detail.get('Code', '')}: {detail.get('Message', '')}".strip(": ")
    else:
        text = f"{type(error).__name__}: {error}"
    return one_line(text)


def _sagemaker_error(error: Exception, doing: str) -> IotaError:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(error, NoCredentialsError):
        fix = "set AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile)"
    elif isinstance(error, NoRegionError):
        fix = "set AWS_REGION"
    elif isinstance(error, EndpointConnectionError):
        fix = "check AWS_ENDPOINT_URL and the network"
    else:
        fix = "fix the request's cause and run the dataset again"
    return IotaError(f"SageMaker failed {doing} ({_reason(error)}): {fix}")
