"""Jobs outlive the Jupyter server: a real `jupyter server` process is stopped (politely,
then killed) and started again on the same engine home, and the jobs API still lists
what ran, with its log; a job cut short by the stop is failed, saying why."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from jupyter_ext.job_store import MAX_JOBS, STORE_NAME, JobStore
from tests.jupyter.helpers import local_dataset
from tests.notebooks import write_notebook
from tests.servers import free_port, stop_process, wait_for_http

API = "iota-container/api"


class JupyterServer:
    """`jupyter server` with the extension, its own config and runtime folders."""

    def __init__(self, root: Path, home: Path, workdir: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"jupyter-server-{self.port}.log"
        command = [
            str(Path(sys.executable).parent / "jupyter"),
            "server",
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions=jupyter_ext=True",
            f"--IotaContainerExtension.iota_home={home}",
            f"--IotaContainerExtension.output_root={(home / 'outputs').as_uri()}",
            "--IotaContainerExtension.run_in_container=process",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        env.update(
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root
            )
        wait_for_http(f"{self.url}/api/status", self.process, self.log, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method,
            f"{self.url}/{API}/{path}",
            headers={"Authorization": f"token {self.token}"},
            data=json.dumps(body if body is not None else {}) if method == "POST" else None,
            timeout=30,
        )
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def wait_for(self, job_id: str, wanted: tuple[str, ...], timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call("GET", f"jobs/{job_id}")
            if job["status"] in wanted:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} not {wanted} after {timeout} s: {job}")

    def jobs(self) -> dict[str, Any]:
        answer = self.call("GET", "jobs")
        listed = answer["jobs"] if isinstance(answer, dict) else answer
        return {job["id"]: job for job in listed}

    def log_of(self, job_id: str) -> list[str]:
        return list(self.call("GET", f"jobs/{job_id}/log")["lines"])

    def stop(self) -> None:
        stop_process(self.process, grace=20)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)


def test_jobs_survive_restarts(tmp_path: Path) -> None:
    root, home, workdir = tmp_path / "root", tmp_path / "home", tmp_path / "jupyter"
    root.mkdir()
    workdir.mkdir()
    write_notebook(root / "fast.ipynb", "print('fast')")
    write_notebook(root / "slow.ipynb", "import time\ntime.sleep(300)")

    server = JupyterServer(root, home, workdir)
    try:
        for name in ("fast", "slow", "slower"):
            notebook = "fast.ipynb" if name == "fast" else "slow.ipynb"
            body = {"path": f"{name}.dataset.json", "definition": local_dataset(name, notebook)}
            server.call("POST", "datasets", body)
        done = server.call("POST", "datasets/fast/runs")["id"]
        assert server.wait_for(done, ("succeeded", "failed"))["status"] == "succeeded"
        fast_log = server.log_of(done)
        running = server.call("POST", "datasets/slow/runs")["id"]
        server.wait_for(running, ("running",))
    finally:
        server.stop()  # SIGTERM: the extension stops the running job itself

    server = JupyterServer(root, home, workdir)
    try:
        jobs = server.jobs()
        assert jobs[done]["status"] == "succeeded"
        assert jobs[done]["datasetName"] == "fast"
        assert server.log_of(done) == fast_log and fast_log
        assert jobs[running]["status"] == "failed"
        assert "server stopped while this job was running" in jobs[running]["error"]
        assert any("server stopped" in line for line in server.log_of(running))
        # A run of the same dataset is not refused as a conflict with the dead job.
        killed = server.call("POST", "datasets/slower/runs")["id"]
        server.wait_for(killed, ("running",))
    finally:
        server.kill()  # no chance to save: the next start finds the job still running

    server = JupyterServer(root, home, workdir)
    try:
        jobs = server.jobs()
        assert jobs[killed]["status"] == "failed"
        assert "server stopped while this job was running" in jobs[killed]["error"]
        assert jobs[killed]["endedAt"]
        assert {done, running} <= set(jobs)
    finally:
        server.stop()
    saved = json.loads((home / STORE_NAME).read_text())
    assert (home / STORE_NAME).stat().st_mode & 0o077 == 0
    assert {job["id"] for job in saved["jobs"]} == {done, running, killed}


def test_store_keeps_the_newest_jobs_and_sets_aside_a_damaged_file(tmp_path: Path) -> None:
    store = JobStore(tmp_path / STORE_NAME)
    assert store.load() == []
    store.save([{"id": str(n), "kind": "run", "log": ["x"] * 5000} for n in range(MAX_JOBS + 5)])
    records = store.load()
    assert [r["id"] for r in records] == [str(n) for n in range(5, MAX_JOBS + 5)]
    assert len(records[0]["log"]) == 2000
    assert [p.name for p in tmp_path.iterdir()] == [STORE_NAME]  # no temporary file left
    (tmp_path / STORE_NAME).write_text('{"jobs": [')
    assert store.load() == []


def test_phases_are_kept_and_jobs_saved_before_them_still_load(tmp_path: Path) -> None:
    from jupyter_ext.jobs import Job, JobManager

    store = JobStore(tmp_path / STORE_NAME)
    job = Job("new", "containerize", "a.ipynb", {}, status="succeeded")
    for event in ({"phase": "checking"}, {"phase": "building"}, {"phase": "pushing"}):
        job.apply(event)
    job.apply({"transfer": "layer a.ipynb", "phase": "pushing", "done": 10, "total": 10})
    old = {"id": "old", "kind": "containerize", "status": "succeeded", "transfers": {}}
    store.save([old, job.to_record()])

    loaded = {job.id: job for job in JobManager(store=store).jobs()}
    assert loaded["old"].to_json()["phase"] is None and loaded["old"].phases == []
    again = loaded["new"].to_json()
    assert again["phase"] == "pushing"
    assert [entered["phase"] for entered in again["phases"]] == ["checking", "building", "pushing"]
    assert again["transfers"] == {"layer a.ipynb": {"phase": "pushing", "done": 10, "total": 10}}
