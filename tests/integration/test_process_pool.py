"""Process runs through the pool of pre-started workers (executors/process_pool.py): real
worker processes, real kernels, the engine and the scheduler around them. Nothing is
mocked; each notebook writes down what its own kernel saw (its pid, its globals, its
environment), and the tests read that."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import psutil
import pytest

from iota_container.engine.records import FAILED, SUCCEEDED
from iota_container.engine.run import DatasetEngine, raise_for_status
from iota_container.executors.local import LocalExecutor
from iota_container.executors.process_pool import ProcessPool
from iota_container.scheduler.loop import EngineRunner, Scheduler
from tests.dataset_helpers import output_var, string_var
from tests.integration.test_run_boundaries_environment import ALLOWED, ENVIRONMENT_CELL, SECRETS
from tests.notebooks import write_notebook
from tests.process_pools import (
    EVERY_MINUTE,
    open_store,
    output_json,
    pool_processes,
    register_notebook_dataset,
)

pytestmark = pytest.mark.integration

# What the kernel saw: its pid and parent (the worker), whether the previous run's global
# and module are there, its folder, and when the first cell began.
STATE_CELL = """\
import json, os, sys, time, iota_container as iota
seen = {
    "first_cell_at": time.time(),
    "kernel_pid": os.getpid(),
    "worker_pid": os.getppid(),
    "leaked_global": "LEFT_BY_FIRST_RUN" in globals(),
    "leaked_module": "pool_marker" in sys.modules,
    "cwd": os.getcwd(),
    "client_session": get_ipython().kernel.get_parent()["header"]["session"],
}
if label == "first":
    LEFT_BY_FIRST_RUN = True
    import pool_marker  # beside the notebook: the kernel's folder and sys.path are the run's
    seen["marker"] = pool_marker.VALUE
iota.upload(json.dumps(seen).encode(), "state")"""


@pytest.fixture
def pool() -> Iterator[ProcessPool]:
    with ProcessPool(1) as started:
        yield started


def state_notebook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pool_marker.py").write_text("VALUE = 'beside the notebook'\n")
    return write_notebook(folder / "state.ipynb", STATE_CELL, parameters="label = ''")


def run_state(tmp_path: Path, executor: LocalExecutor, label: str) -> dict[str, object]:
    store = open_store(tmp_path)
    notebook = state_notebook(tmp_path / "analysis")
    name = f"state_{label}"
    register_notebook_dataset(
        store,
        tmp_path / "defs",
        name,
        notebook,
        string_var("label", label),
        output_var("state", "state.json"),
    )
    version = raise_for_status(DatasetEngine(store, executor=executor).run(name, False))
    seen: dict[str, object] = output_json(version.outputs["state"])
    return {**seen, "outputs": version.outputs}


def test_a_pool_run_leaves_what_a_one_shot_run_leaves(tmp_path: Path, pool: ProcessPool) -> None:
    pooled = run_state(tmp_path / "pooled", LocalExecutor(pool=pool), "first")
    one_shot = run_state(tmp_path / "one-shot", LocalExecutor(), "first")

    assert len(pool.handovers) == 1  # the pooled run went through the pool, the other not
    shapes = []
    for seen in (pooled, one_shot):
        assert seen["marker"] == "beside the notebook"
        outputs = seen["outputs"]
        assert isinstance(outputs, dict)
        assert sorted(outputs) == ["html", "ipynb", "state"]
        executed = nbformat.reads(_read(outputs["ipynb"]), as_version=4)
        assert "label = 'first'" in executed.cells[1].source  # the injected cell
        assert "LEFT_BY_FIRST_RUN" in _read(outputs["html"])
        shapes.append([(c.cell_type, c.get("execution_count")) for c in executed.cells])
    assert shapes[0] == shapes[1] == [("code", 1), ("code", 2), ("code", 3)]
    assert pooled["cwd"] == str(tmp_path / "pooled" / "analysis")
    assert one_shot["cwd"] == str(tmp_path / "one-shot" / "analysis")


def test_two_runs_in_the_pool_share_no_state(tmp_path: Path, pool: ProcessPool) -> None:
    executor = LocalExecutor(pool=pool)
    first = run_state(tmp_path, executor, "first")
    second = run_state(tmp_path, executor, "second")

    assert first["marker"] == "beside the notebook"
    assert second["leaked_global"] is False
    assert second["leaked_module"] is False
    assert second["kernel_pid"] != first["kernel_pid"]
    assert second["worker_pid"] != first["worker_pid"]
    assert [h.kernel_pid for h in pool.handovers] == [first["kernel_pid"], second["kernel_pid"]]


def test_a_warm_workers_kernel_started_before_the_handover_runs_the_cells(
    tmp_path: Path, pool: ProcessPool
) -> None:
    pool.warm(1)
    seen = run_state(tmp_path, LocalExecutor(pool=pool), "second")

    (handover,) = pool.handovers
    # The cells ran in the kernel the worker had started and named when it said it was
    # ready, before the run was handed over: the kernel's start was not on the run's path.
    # (Its process start time is no proof: /proc counts it from a boot time in seconds.)
    assert seen["kernel_pid"] == handover.kernel_pid
    assert handover.ready_at <= handover.handed_at
    assert isinstance(seen["first_cell_at"], float)
    assert handover.handed_at < seen["first_cell_at"]
    # The cells came from the client the worker connected, and whose handshake it did,
    # while it waited: nbclient made no client (and no handshake) of its own for the run.
    assert handover.client_session is not None
    assert seen["client_session"] == handover.client_session


def test_a_run_that_kills_its_worker_fails_with_a_reason_and_the_pool_goes_on(
    tmp_path: Path, pool: ProcessPool
) -> None:
    store = open_store(tmp_path)
    # The kernel's parent is the pool worker: the analysis takes down its whole process.
    killer = write_notebook(
        tmp_path / "killer.ipynb", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"
    )
    register_notebook_dataset(store, tmp_path / "defs", "killer", killer)
    engine = DatasetEngine(store, executor=LocalExecutor(pool=pool))

    failed = engine.run("killer", False)

    assert failed.status == FAILED
    assert failed.reason is not None
    assert "pool worker" in failed.reason and "SIGKILL" in failed.reason
    seen = run_state(tmp_path, LocalExecutor(pool=pool), "second")
    assert seen["worker_pid"] != pool.handovers[0].worker_pid
    assert len(pool.handovers) == 2


HELD_CELL = """\
import os, pathlib, time
marks = pathlib.Path(marks_dir)
(marks / "started").write_text(str(os.getppid()))  # the kernel's parent: the pool worker
while (marks / "hold").exists():
    time.sleep(0.1)
(marks / "finished").touch()"""


def test_a_pool_run_ends_with_the_process_that_owns_the_pool(tmp_path: Path) -> None:
    """A killed owner (a scheduler, a Ray node's agent) takes its runs with it: its
    version is failed as interrupted, so a run going on would write its outputs after."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "hold").touch()
    notebook = write_notebook(
        tmp_path / "held.ipynb", HELD_CELL, parameters=f"marks_dir = {str(marks)!r}"
    )
    owner = subprocess.Popen(
        [sys.executable, "-m", "tests.pool_owner", str(tmp_path), str(notebook)],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert _eventually(lambda: (marks / "started").exists() or owner.poll() is not None)
        assert owner.poll() is None, "the owner ended before its run started"
        worker = psutil.Process(int((marks / "started").read_text()))
        owner.kill()  # the owner alone: the worker is a session of its own
        owner.wait()
        assert _eventually(lambda: not _alive(worker), timeout=20), "the worker outlived it"
    finally:
        (marks / "hold").unlink()
        owner.kill()
    time.sleep(2)  # a kernel left running would finish now
    assert not (marks / "finished").exists()


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_run_whose_kernel_exits_fails_with_the_cell_that_ended_it(
    tmp_path: Path, pool: ProcessPool
) -> None:
    store = open_store(tmp_path)
    exits = write_notebook(tmp_path / "exits.ipynb", "import os\nos._exit(3)")
    register_notebook_dataset(store, tmp_path / "defs", "exits", exits)

    failed = DatasetEngine(store, executor=LocalExecutor(pool=pool)).run("exits", False)

    assert failed.status == FAILED
    assert failed.reason is not None and "DeadKernelError" in failed.reason


def test_a_pool_run_sees_no_secret_of_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**SECRETS, **ALLOWED}.items():
        monkeypatch.setenv(key, value)
    store = open_store(tmp_path)
    notebook = write_notebook(
        tmp_path / "probe.ipynb", ENVIRONMENT_CELL, parameters="environment = ''"
    )
    register_notebook_dataset(
        store, tmp_path / "defs", "probe", notebook, output_var("environment", "environment.json")
    )
    with ProcessPool(1) as pool:  # started with the secrets in this process's environment
        engine = DatasetEngine(store, executor=LocalExecutor(pool=pool))
        version = raise_for_status(engine.run("probe", False))
        assert len(pool.handovers) == 1

    seen: dict[str, str] = output_json(version.outputs["environment"])
    assert sorted(set(SECRETS) & set(seen)) == []
    assert not any(value in json.dumps(seen) for value in SECRETS.values())
    assert {key: seen.get(key) for key in ALLOWED} == ALLOWED
    assert seen["IOTA_PARAMS_PATH"].endswith("params")  # set for this run, at the handover


def test_the_scheduler_runs_a_due_window_once_in_its_pool_and_stops_its_workers(
    tmp_path: Path,
) -> None:
    now = [datetime.now(timezone.utc).replace(second=30, microsecond=0)]
    store = open_store(tmp_path, clock=lambda: now[0])
    notebook = state_notebook(tmp_path / "analysis")
    register_notebook_dataset(
        store,
        tmp_path / "defs",
        "minutely",
        notebook,
        string_var("label", "second"),
        output_var("state", "state.json"),
        triggers=[EVERY_MINUTE],
    )
    runner = EngineRunner(DatasetEngine(store), use_container=False)
    scheduler = Scheduler(store, runner, clock=lambda: now[0], workers=2, poll_seconds=0.05)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    try:
        # The window at the next minute is within the warm-up horizon: a worker and its
        # kernel are started before it is due.
        pool = _pool_of(runner)
        assert _eventually(lambda: len(pool_processes(pool)) >= 2)
        assert store.versions("minutely") == []
        now[0] += timedelta(seconds=31)  # one window due
        assert _eventually(lambda: scheduler.counts[SUCCEEDED] == 1)
        time.sleep(0.5)  # passes of the loop with the window still due: none runs it again
        waiting = pool_processes(pool)
        assert waiting  # the replacement, warm for the next window
    finally:
        scheduler.stop()
        thread.join(60)
    assert not thread.is_alive()

    (version,) = store.versions("minutely")
    assert version.status == SUCCEEDED
    assert scheduler.counts == {SUCCEEDED: 1}
    (handover,) = pool.handovers
    assert output_json(version.outputs["state"])["kernel_pid"] == handover.kernel_pid
    gone = psutil.wait_procs(waiting, timeout=10)[1]
    assert gone == [], f"left running after the scheduler stopped: {gone}"
    assert pool_processes(pool) == []


def _pool_of(runner: EngineRunner) -> ProcessPool:
    assert _eventually(lambda: getattr(runner.engine.executor, "pool", None) is not None)
    pool = getattr(runner.engine.executor, "pool", None)
    assert isinstance(pool, ProcessPool)
    return pool


def _eventually(condition: object, timeout: float = 60) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _read(uri: str) -> str:
    from iota_container.storage.uri import parse_output_uri

    path = parse_output_uri(uri).path
    assert path is not None
    return path.read_text()
