"""Jobs of the server: a queue, each job in a child process (`python -m jupyter_ext.worker`)
the server can stop, its progress and log kept on the Job.

One job at a time by default (`max_running_jobs`); a second job on a notebook (or dataset)
that has one queued or running is refused (JobConflict, 409); others wait their turn.
Jobs live in the server, not in a page: closing the browser changes nothing. With a
JobStore they outlive the server too: a restart shows the jobs that ended, and those
that were queued or running as failed, saying that the server stopped (job_store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from iota_container.errors import IotaError
from jupyter_ext.job_store import INTERRUPTED, JobStore

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
ACTIVE = (QUEUED, RUNNING)
STOP_GRACE_SECONDS = 5.0
WORKER_MODULE = "jupyter_ext.worker"


class JobConflict(IotaError):
    """The notebook (or dataset) already has a job queued or running."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


class UnknownJob(IotaError):
    """No job has that id."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kind: str  # containerize | run
    key: str  # what one job at a time is kept per: the notebook, or run:DATASET
    spec: dict[str, Any]  # what the worker gets on stdin
    notebook: str | None = None
    dataset_name: str | None = None
    status: str = QUEUED
    created_at: str = field(default_factory=_now)
    started_at: str | None = None
    ended_at: str | None = None
    step: str | None = None
    phase: str | None = None  # image.spec.PHASES: where the job is, as the UI follows it
    phases: list[dict[str, str]] = field(default_factory=list)  # {"phase", "at"}, in order
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    log: list[str] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    cancelling: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "notebook": self.notebook,
            "datasetName": self.dataset_name,
            "status": self.status,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "step": self.step,
            "phase": self.phase,
            "phases": [dict(entered) for entered in self.phases],
            "transfers": {label: dict(t) for label, t in self.transfers.items()},
            "result": self.result,
            "error": self.error,
        }

    def to_record(self) -> dict[str, Any]:
        """What the job store keeps: the JSON view plus what a restart needs."""
        return {**self.to_json(), "key": self.key, "spec": self.spec, "log": list(self.log)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        job = cls(
            str(record["id"]),
            str(record["kind"]),
            str(record.get("key") or ""),
            dict(record.get("spec") or {}),
            notebook=record.get("notebook"),
            dataset_name=record.get("datasetName"),
            status=str(record.get("status") or FAILED),
            created_at=str(record.get("createdAt") or _now()),
            started_at=record.get("startedAt"),
            ended_at=record.get("endedAt"),
            step=record.get("step"),
            phase=record.get("phase"),  # absent from jobs saved before phases existed
            phases=[dict(entered) for entered in record.get("phases") or []],
            transfers=dict(record.get("transfers") or {}),
            result=record.get("result"),
            error=record.get("error"),
            log=[str(line) for line in record.get("log") or []],
        )
        if job.status in ACTIVE:  # its worker went with the server that stopped
            job.error = INTERRUPTED.format(status=job.status)
            job.log.append(f"error: {job.error}")
            job.status = FAILED
            job.ended_at = job.ended_at or _now()
        job.done.set()
        return job

    def apply(self, event: dict[str, Any]) -> bool:
        """One event the worker wrote (see worker.py); True when it changed what the job
        store keeps beyond the log (a transfer changes only bytes, many times a second)."""
        if "step" in event:
            self.step = str(event["step"])
            self.log.append(self.step)
        elif "transfer" in event:
            self.transfers[str(event["transfer"])] = {
                "phase": event.get("phase"),
                "done": int(event["done"]),
                "total": int(event["total"]),
            }
            return False
        elif "phase" in event:
            self.phase = str(event["phase"])
            at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            self.phases.append({"phase": self.phase, "at": at})  # ms: phases can be short
        elif "log" in event:
            self.log.append(str(event["log"]))
        elif "result" in event:
            self.result = dict(event["result"])
        elif "error" in event:
            self.error = str(event["error"])
            self.log.append(f"error: {self.error}")
        else:
            return False
        return "log" not in event


class JobManager:
    def __init__(
        self,
        *,
        max_running_jobs: int = 1,
        worker_command: Sequence[str] = (sys.executable, "-m", WORKER_MODULE),
        environment: dict[str, str] | None = None,
        log: logging.Logger | None = None,
        store: JobStore | None = None,
    ) -> None:
        self.max_running_jobs = max(1, max_running_jobs)
        self.worker_command = list(worker_command)
        self.environment = environment
        self.log = log or logging.getLogger(__name__)
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.store = store
        if store is not None:
            for record in store.load():
                try:
                    job = Job.from_record(record)
                except (KeyError, TypeError, ValueError) as e:
                    self.log.warning("iota-container: skipping a saved job: %s", e)
                    continue
                self._jobs[job.id] = job
            if self._jobs:  # the jobs marked failed above stay failed after the next restart
                self._save()

    # -- asking ------------------------------------------------------------------------------

    def submit(
        self,
        kind: str,
        spec: dict[str, Any],
        *,
        notebook: str | None = None,
        dataset_name: str | None = None,
    ) -> Job:
        key = notebook if kind == "containerize" and notebook else f"run:{dataset_name}"
        for other in self._jobs.values():
            if other.key == key and other.status in ACTIVE:
                what = (
                    f"notebook {notebook}" if kind == "containerize" else f"dataset {dataset_name}"
                )
                raise JobConflict(
                    f"{what} already has job {other.id} {other.status}: wait for it to end, "
                    "or cancel it",
                    "notebook" if kind == "containerize" else None,
                )
        job = Job(uuid.uuid4().hex, kind, key, spec, notebook=notebook, dataset_name=dataset_name)
        self._jobs[job.id] = job
        self._start_next()
        self._save()
        return job

    def jobs(self) -> list[Job]:
        """Newest first."""
        return list(reversed(self._jobs.values()))

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"no such job: {job_id}")
        return job

    def log_lines(self, job_id: str, since: int) -> tuple[list[str], int]:
        lines = self.get(job_id).log
        return lines[since:], len(lines)

    async def cancel(self, job_id: str) -> Job:
        """Stop a job: a queued one never starts, a running one's process group is sent
        SIGTERM, then SIGKILL when it has not stopped after the grace period."""
        job = self.get(job_id)
        if job.status == QUEUED:
            self._end(job, CANCELLED)
        elif job.status == RUNNING and job.process is not None:
            job.cancelling = True
            _signal_group(job.process, signal.SIGTERM)
            try:
                await asyncio.wait_for(job.done.wait(), STOP_GRACE_SECONDS)
            except asyncio.TimeoutError:
                _signal_group(job.process, signal.SIGKILL)
                await job.done.wait()
        return job

    async def stop(self) -> None:
        """When the server stops: every job that has not ended is stopped, and ends as
        failed because the server stopped (not as cancelled: nobody asked for it)."""
        self._stopping = True
        for job in list(self._jobs.values()):
            if job.status in ACTIVE:
                await self.cancel(job.id)

    # -- running -----------------------------------------------------------------------------

    def _start_next(self) -> None:
        running = sum(1 for job in self._jobs.values() if job.status == RUNNING)
        queued = [job for job in self._jobs.values() if job.status == QUEUED]  # oldest first
        for job in queued[: self.max_running_jobs - running]:
            job.status = RUNNING
            job.started_at = _now()
            task = asyncio.ensure_future(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job) -> None:
        try:
            job.process = await asyncio.create_subprocess_exec(
                *self.worker_command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.environment,
                start_new_session=True,  # its own process group: cancel stops its children too
            )
            assert job.process.stdin is not None
            job.process.stdin.write(json.dumps(job.spec).encode() + b"\n")
            await job.process.stdin.drain()
            job.process.stdin.close()
            await asyncio.gather(self._read_events(job), self._read_stderr(job))
            code = await job.process.wait()
        except Exception as e:  # the worker could not be started or read: say so on the job
            self.log.exception("job %s", job.id)
            job.error = f"internal error: {type(e).__name__}: {e}"
            code = -1
        if job.cancelling:
            self._end(job, CANCELLED)
        elif code == 0 and job.error is None:
            self._end(job, SUCCEEDED)
        else:
            job.error = job.error or f"the job's process ended with code {code}"
            self._end(job, FAILED)

    async def _read_events(self, job: Job) -> None:
        assert job.process is not None and job.process.stdout is not None
        async for raw in job.process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                job.log.append(raw.decode(errors="replace").rstrip())
                continue
            if isinstance(event, dict) and job.apply(event):
                self._save()

    async def _read_stderr(self, job: Job) -> None:
        assert job.process is not None and job.process.stderr is not None
        async for raw in job.process.stderr:
            job.log.append(raw.decode(errors="replace").rstrip())

    def _end(self, job: Job, status: str) -> None:
        if self._stopping and status == CANCELLED:
            job.error = INTERRUPTED.format(status="running" if job.started_at else "queued")
            job.log.append(f"error: {job.error}")
            status = FAILED
        job.status = status
        job.ended_at = _now()
        if status == CANCELLED:
            job.error = job.error or "cancelled"
        job.done.set()
        if not self._stopping:
            self._start_next()
        self._save()

    def _save(self) -> None:
        if self.store is not None:
            self.store.save([job.to_record() for job in self._jobs.values()])


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
