"""The job queue: one running at a time by default, others wait; a queued job is
cancelled before it starts, a running one has its process group stopped."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from iota_container.engine.state_store import StateStore
from tests.jupyter.helpers import local_dataset, wait_for_job, wait_for_status
from tests.notebooks import write_notebook


async def wait_for_version(home: Path, name: str, timeout: float = 60) -> None:
    """Until the engine has created a version of `name` (the run is under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with StateStore.open(home) as store:
            if store.versions(name):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no version of {name} after {timeout} s")


async def _register(api, name: str, notebook: str) -> None:
    body = {"path": f"{name}.dataset.json", "definition": local_dataset(name, notebook)}
    status, answer = await api("POST", "datasets", body=body)
    assert status == 201, answer


async def test_queue_and_cancel(api, jp_root_dir: Path, iota_home: Path) -> None:
    write_notebook(jp_root_dir / "slow.ipynb", "import time\ntime.sleep(120)")
    write_notebook(jp_root_dir / "fast.ipynb", "print('fast')")
    write_notebook(jp_root_dir / "other.ipynb", "x = 1")
    await _register(api, "slow", "slow.ipynb")
    await _register(api, "fast", "fast.ipynb")

    _, running = await api("POST", "datasets", "slow", "runs")
    await wait_for_status(api, running["id"], "running")
    await wait_for_version(iota_home, "slow")
    containerize = {
        "notebook": "other.ipynb",
        "name": "other",
        "image": {"repository": "localhost:5000/other/image", "backend": "oci"},
    }
    status, queued = await api("POST", "jobs", body=containerize)
    assert (status, queued["status"]) == (202, "queued"), queued
    _, waiting = await api("POST", "datasets", "fast", "runs")
    assert waiting["status"] == "queued"

    status, cancelled = await api("POST", "jobs", queued["id"], "cancel")
    assert (status, cancelled["status"]) == (200, "cancelled")
    assert cancelled["startedAt"] is None and cancelled["endedAt"]
    # Cancelled, the notebook takes a new job at once.
    status, replaced = await api("POST", "jobs", body=containerize)
    assert status == 202, replaced
    await api("POST", "jobs", replaced["id"], "cancel")

    # Still running after all that: the queue kept its one slot.
    _, slow = await api("GET", "jobs", running["id"])
    assert slow["status"] == "running"
    status, stopped = await api("POST", "jobs", running["id"], "cancel")
    assert (status, stopped["status"]) == (200, "cancelled"), stopped

    # The slot is free: the queued run starts and ends.
    done = await wait_for_job(api, waiting["id"])
    assert done["status"] == "succeeded", done
    with StateStore.open(iota_home) as store:
        interrupted = store.versions("slow")[0]
    assert interrupted.status == "FAILED" and "interrupted" in (interrupted.reason or "")

    status, listed = await api("GET", "jobs")
    assert [j["id"] for j in listed["jobs"]] == [
        replaced["id"],
        waiting["id"],
        queued["id"],
        running["id"],
    ]


async def test_cancel_of_an_ended_job_changes_nothing(api, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "fast.ipynb", "print('fast')")
    await _register(api, "fast", "fast.ipynb")
    _, job = await api("POST", "datasets", "fast", "runs")
    done = await wait_for_job(api, job["id"])
    status, again = await api("POST", "jobs", job["id"], "cancel")
    assert (status, again["status"]) == (200, done["status"])


async def test_unknown_jobs(api) -> None:
    for method, path in [("GET", ("jobs", "abc123")), ("POST", ("jobs", "abc123", "cancel"))]:
        status, answer = await api(method, *path)
        assert (status, answer) == (404, {"message": "no such job: abc123", "field": None})
    status, answer = await api("GET", "jobs", "abc123", "log")
    assert status == 404


async def test_log_bad_inputs(api, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "fast.ipynb", "print('fast')")
    await _register(api, "fast", "fast.ipynb")
    _, job = await api("POST", "datasets", "fast", "runs")
    for since in ("-1", "x"):
        status, answer = await api("GET", "jobs", job["id"], "log", params={"since": since})
        assert (status, answer["field"]) == (400, "since")
    await wait_for_job(api, job["id"])
