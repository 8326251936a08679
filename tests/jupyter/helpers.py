"""Waiting for jobs, and the definitions the dataset tests write through the API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

TERMINAL = ("succeeded", "failed", "cancelled")


async def wait_for_job(api: Any, job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await api("GET", "jobs", job_id)
        assert status == 200, job
        if job["status"] in TERMINAL:
            return dict(job)
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s: {job}"
        await asyncio.sleep(0.2)


async def wait_for_status(api: Any, job_id: str, wanted: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        _, job = await api("GET", "jobs", job_id)
        if job["status"] == wanted:
            return
        assert job["status"] not in TERMINAL, job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


def local_dataset(name: str, notebook: str, **variables: str) -> dict[str, Any]:
    """A container dataset that also runs without a container (x-iota-notebook)."""
    return {
        "datasetName": name,
        "actions": [
            {
                "actionName": f"{name}_action",
                "containerAction": {
                    "image": "iota-container/local:latest",
                    "executionRoleArn": "arn:aws:iam::123456789012:role/iota-tests",
                    "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 1},
                    "variables": [{"name": k, "stringValue": v} for k, v in variables.items()],
                    "x-iota-notebook": notebook,
                },
            }
        ],
    }
