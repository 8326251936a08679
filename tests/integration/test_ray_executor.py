"""The ray executor on a real Ray cluster on loopback (tests/ray_cluster.py: a head and
two worker nodes as processes of their own, each worker room for one ACU_1 run).

Each notebook appends its process id to a file of its own (`<dataset>.runs`): how many
times an analysis started, counted by the analysis itself, and on which node (the node
whose processes include it). A `hold` file keeps it running until the test removes it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from iota_container.engine.home import Home
from iota_container.engine.records import CREATING, FAILED, MODE_CONTAINER, SUCCEEDED, Version
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from iota_container.executors import run_id_for
from iota_container.scheduler.clock import CLOCK_FILE_ENV
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import (
    container_dataset,
    output_var,
    sql_dataset,
    string_var,
    write_definition,
)
from tests.docker_helpers import analysis_image_in
from tests.notebooks import write_notebook
from tests.ray_cluster import (  # noqa: F401  (ray_cluster: the session's cluster fixture)
    RayCluster,
    ray_cluster,
    restore_workers,
    start_cluster,
)
from tests.registry import RegistryServer
from tests.servers import free_port
from tests.support import run_cli

pytestmark = pytest.mark.integration

# Records that it started (its pid, one line a start), then waits while `hold` exists;
# a start after the first (a retry) does not wait.
COUNTED_RUN = """\
import os, pathlib, time
marks = pathlib.Path(marks_dir)
runs = marks / f"{name}.runs"
with runs.open("a") as f:
    f.write(f"{os.getpid()}\\n")
if len(runs.read_text().split()) == 1:
    while (marks / "hold").exists():
        time.sleep(0.2)
print("analysis", name, "done")"""
# Records each start too, and holds start N while `hold-N` exists.
EACH_START_HELD = """\
import os, pathlib, time
marks = pathlib.Path(marks_dir)
runs = marks / f"{name}.runs"
with runs.open("a") as f:
    f.write(f"{os.getpid()}\\n")
start = len(runs.read_text().split())
while (marks / f"hold-{start}").exists():
    time.sleep(0.2)
print("analysis", name, "done")"""


class World:
    """A home, the notebook, definitions written on demand, the processes started."""

    def __init__(self, tmp_path: Path, cluster: RayCluster) -> None:
        self.cluster = cluster
        self.home = tmp_path / "home"
        self.marks = tmp_path / "marks"
        self.marks.mkdir()
        self.folder = tmp_path / "defs"
        self.notebook = write_notebook(
            self.folder / "counted.ipynb", COUNTED_RUN, parameters="marks_dir = ''\nname = ''"
        )
        self.each_start_held = write_notebook(
            self.folder / "held.ipynb", EACH_START_HELD, parameters="marks_dir = ''\nname = ''"
        )
        self.env = {"IOTA_HOME": str(self.home)} | cluster.env()
        self.processes: list[subprocess.Popen[str]] = []

    def register(
        self,
        name: str,
        compute_type: str = "ACU_1",
        *,
        retries: int | None = None,
        triggers: list[dict[str, Any]] | None = None,
        image: str | None = None,
        notebook: Path | None = None,
    ) -> None:
        variables = [string_var("marks_dir", str(self.marks)), string_var("name", name)]
        if image is not None:  # the image's notebook writes its output instead
            variables = [output_var("result", "result.txt")]
        definition = container_dataset(
            name,
            *variables,
            image=image or "iota-container/base:test",
            compute_type=compute_type,
            versioningConfiguration={"unlimited": True},
            triggers=triggers or [],
        )
        action = definition["actions"][0]["containerAction"]
        action["x-iota-notebook"] = (notebook or self.notebook).name
        if retries is not None:
            action["x-iota-infrastructure-retries"] = retries
        file = write_definition(self.folder, definition)
        registered = run_cli("dataset", "register", str(file), env=self.env)
        assert registered.returncode == 0, registered.stderr

    def hold(self) -> None:
        (self.marks / "hold").touch()

    def release(self) -> None:
        (self.marks / "hold").unlink()

    def starts(self, name: str) -> list[int]:
        runs = self.marks / f"{name}.runs"
        return [int(pid) for pid in runs.read_text().split()] if runs.exists() else []

    def start_run(self, name: str, *options: str, command: str = "run") -> subprocess.Popen[str]:
        """`dataset run NAME --json OPTIONS` (or another dataset command), as its own
        session: killed whole, its Ray driver too."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        process = subprocess.Popen(
            [sys.executable, "-m", "iota_container", "dataset", command, name, "--json", *options],
            env=env | self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def versions(self, name: str) -> list[Version]:
        """Oldest first."""
        with StateStore(Home.locate(self.home)) as store:
            return list(reversed(store.versions(name)))

    def kill(self, process: subprocess.Popen[str]) -> None:
        """SIGKILL a process started here and everything of its session, as on a crash."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def content(self, name: str) -> dict[str, Any]:
        shown = run_cli("dataset", "content", name, "--json", env=self.env)
        assert shown.returncode == 0, shown.stderr
        document: dict[str, Any] = json.loads(shown.stdout)
        return document

    def driver_lines(self, name: str, step: str) -> list[str]:
        """The lines of the run's Ray drivers' log for `step` (ray_driver.py `_RunLog`)."""
        (version,) = self.versions(name)
        assert version.log_path is not None
        driver_log = Path(version.log_path).with_name("ray-driver.log")
        text = driver_log.read_text(errors="replace") if driver_log.exists() else ""
        lines = [line for line in text.splitlines() if line.startswith("ray-driver")]
        return [line for line in lines if f": {step}" in line]

    def driver_steps(self, name: str, step: str) -> int:
        return len(self.driver_lines(name, step))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def world(tmp_path: Path, ray_cluster: RayCluster) -> Iterator[World]:  # noqa: F811
    world = World(tmp_path, ray_cluster)
    yield world
    world.stop_all()


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def finished(process: subprocess.Popen[str], timeout: float = 180) -> tuple[int, str, str]:
    """Its exit code, the version `dataset run --json` printed (failed or not), stderr."""
    stdout, stderr = process.communicate(timeout=timeout)
    assert stdout.strip(), stderr
    version, _ = json.JSONDecoder().raw_decode(stdout)  # a failed run's error follows it
    return process.returncode, json.dumps(version), stderr


def test_two_acu_1_runs_at_once_run_on_two_nodes(world: World) -> None:
    world.register("north")
    world.register("south")
    world.hold()
    runs = {
        name: world.start_run(name, "--executor", "ray", "--no-container")
        for name in ("north", "south")
    }
    # Both started before either ended: each node has room for one ACU_1 run only.
    wait_for("both runs to start", lambda: bool(world.starts("north") and world.starts("south")))
    nodes = {name: world.cluster.node_running(world.starts(name)[0]) for name in runs}
    assert nodes["north"] is not nodes["south"]
    agents = {agent_running(world.starts(name)[0]) for name in runs}  # one a node
    assert len(agents) == 2
    world.release()

    ended = {name: finished(process) for name, process in runs.items()}
    versions = {}
    for name, (code, stdout, stderr) in ended.items():
        assert code == 0, stderr
        versions[name] = json.loads(stdout)
        assert versions[name]["status"] == SUCCEEDED
        assert versions[name]["executor"] == "ray"
        assert versions[name]["runId"] == run_id_for(name, versions[name]["versionId"])
    assert versions["north"]["node"] != versions["south"]["node"]
    shown = run_cli("dataset", "content", "north", "--json", env=world.env)
    assert {k: json.loads(shown.stdout)[k] for k in ("executor", "node")} == {
        "executor": "ray",
        "node": versions["north"]["node"],
    }
    listed = run_cli("dataset", "contents", "south", "--json", env=world.env)
    assert json.loads(listed.stdout)[0]["node"] == versions["south"]["node"]
    # The node's log came back, and the executed notebook is where its output URI says.
    assert "execute (kernel python3): done" in Path(versions["north"]["log"]).read_text()
    executed = parse_output_uri(versions["north"]["outputs"]["ipynb"]).path
    assert executed is not None and "analysis north done" in executed.read_text()
    assert [len(world.starts(name)) for name in runs] == [1, 1]
    # Each run's placement group was removed once its end was read: its CPU is free again.
    wait_for("the runs to be collected", lambda: world.cluster.free_cpus() == 2, timeout=30)
    # Run by its node's agent, in a pool worker whose kernel was up before the run came.
    assert "run handed over" in Path(versions["north"]["log"]).read_text()

    world.register("later", notebook=world.each_start_held)
    (world.marks / "hold-1").touch()
    later = world.start_run("later", "--executor", "ray", "--no-container")
    wait_for("the next run to start", lambda: bool(world.starts("later")))
    # No process was started for it on its node: an agent already running took it.
    assert agent_running(world.starts("later")[0]) in agents
    (world.marks / "hold-1").unlink()
    code, _, stderr = finished(later)
    assert code == 0, stderr


def agent_running(pid: int) -> int:
    """The node agent (ray_node.py) among the ancestors of `pid`: the Ray worker process
    of the actor, which Ray titles by its class."""
    while pid > 1:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        if command.startswith(b"ray::NodeAgent"):
            return pid
        pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    pytest.fail("the run's process is no descendant of a node agent")


def ray_drivers_of(parent: int) -> list[int]:
    """The Ray driver processes (executors/ray_driver.py) that `parent` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):  # ended meanwhile
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent and b"iota_container.executors.ray_driver" in command:
            found.append(int(entry.name))
    return found


def test_a_run_is_driven_by_a_driver_started_before_the_run_is_claimed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's import (most of a driver's start) overlaps the engine's own work, and is
    paid once: the driver serves every run of the process."""
    world.register("early")
    for key, value in world.cluster.env().items():
        monkeypatch.setenv(key, value)
    from iota_container.executors.ray import RayExecutor

    world.register("later")
    others = set(ray_drivers_of(os.getpid()))  # of other tests' executors in this process
    with StateStore(Home.locate(world.home)) as store:
        engine = DatasetEngine(store, executor=RayExecutor())
        (ahead,) = set(ray_drivers_of(os.getpid())) - others  # before anything is claimed
        for name in ("early", "later"):
            version = engine.run(name, use_container=False)
            assert version.status == SUCCEEDED, version.reason
        # One driver for both runs, the one started ahead: none started for a run.
        assert set(ray_drivers_of(os.getpid())) - others == {ahead}
    for name in ("early", "later"):
        (given,) = world.driver_lines(name, "given submit")
        assert given.startswith(f"ray-driver {ahead}: ")


@pytest.fixture(scope="module")
def boxed_image(
    docker_client: Any,
    base_image: str,
    registry: RegistryServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    notebook = write_notebook(
        tmp_path_factory.mktemp("ray-image") / "boxed.ipynb",
        "import iota_container as iota, os\niota.upload(f'uid {os.getuid()}'.encode(), 'result')",
        parameters="result = ''",
    )
    with analysis_image_in(docker_client, base_image, registry, "ray-e2e", notebook) as ref:
        yield ref


def test_a_container_run_goes_through_the_docker_engine_of_its_node(
    world: World, boxed_image: str
) -> None:
    world.register("boxed", image=boxed_image)
    code, stdout, stderr = finished(world.start_run("boxed", "--executor", "ray"), timeout=300)
    version = json.loads(stdout)
    assert (code, version["status"], version["mode"]) == (0, SUCCEEDED, MODE_CONTAINER), stderr
    assert version["node"] is not None
    # Written inside the image, as its own user (the engine runs as root), to the output
    # folder of this machine, mounted at its own path.
    result = parse_output_uri(version["outputs"]["result"]).path
    assert result is not None and result.read_text() == "uid 1000"
    assert "execute (kernel python3): done" in Path(version["log"]).read_text()


def run_losing_its_node(world: World, name: str) -> tuple[int, dict[str, Any], str]:
    """`dataset run NAME` on the cluster, the node of its first start killed mid-run; a
    worker node started again afterwards for the next tests."""
    world.hold()
    run = world.start_run(name, "--executor", "ray", "--no-container")
    try:
        wait_for(f"{name} to start", lambda: bool(world.starts(name)))
        world.cluster.node_running(world.starts(name)[0]).kill()
        code, stdout, stderr = finished(run)
        return code, json.loads(stdout), stderr
    finally:
        restore_workers(world.cluster)


def test_a_node_lost_mid_run_fails_the_version_and_it_is_not_run_again(world: World) -> None:
    world.register("fragile")
    code, version, stderr = run_losing_its_node(world, "fragile")
    assert (version["status"], code) == (FAILED, 1), stderr
    assert "was lost mid-run" in version["reason"], version["reason"]
    assert "x-iota-infrastructure-retries" in version["reason"]
    # Not started again, though the cluster had room for it all along (the other node).
    assert len(world.starts("fragile")) == 1


def test_a_definition_that_opts_in_runs_again_after_a_lost_node(world: World) -> None:
    world.register("sturdy", retries=1)
    code, version, _ = run_losing_its_node(world, "sturdy")
    assert (version["status"], code) == (SUCCEEDED, 0), version["reason"]
    assert len(world.starts("sturdy")) == 2  # the lost run, then one retry
    assert "infrastructure failure: the Ray node" in Path(version["log"]).read_text()


def test_a_run_left_by_a_killed_process_says_so_until_dataset_follow_records_its_end(
    world: World,
) -> None:
    world.register("left")
    world.hold()
    submitter = world.start_run("left", "--executor", "ray", "--no-container")
    wait_for("the run to start", lambda: bool(world.starts("left")))
    world.kill(submitter)
    (version,) = world.versions("left")
    shown = world.content("left")
    assert shown["status"] == CREATING
    assert f"run {version.run_id} on ray is followed by no process" in shown["unfollowed"]
    assert "iota-container dataset follow left" in shown["unfollowed"]
    listed = run_cli("dataset", "contents", "left", env=world.env)
    assert "followed by no process" in listed.stdout, listed.stdout

    follower = world.start_run("left", command="follow")
    wait_for("the follower to find the run", lambda: world.driver_steps("left", "placed on") == 2)
    assert "unfollowed" not in world.content("left")  # followed now: plain CREATING
    world.release()
    stdout, stderr = follower.communicate(timeout=180)
    assert follower.returncode == 0, stderr
    (followed,) = json.loads(stdout)
    assert (followed["versionId"], followed["status"]) == (version.id, SUCCEEDED)
    assert "unfollowed" not in world.content("left")
    assert len(world.starts("left")) == 1  # followed, never started again


def test_infrastructure_retries_are_counted_across_the_processes_that_follow_a_run(
    world: World,
) -> None:
    """x-iota-infrastructure-retries 2: three submissions at most, whichever processes
    make them. Each start is held; the node of each is killed; the process that
    submitted or followed it is killed before the next one follows."""
    world.register("steady", retries=2, notebook=world.each_start_held)
    for start in (1, 2, 3):
        (world.marks / f"hold-{start}").touch()

    def lose_node_of_start(number: int) -> None:
        wait_for(f"start {number}", lambda: len(world.starts("steady")) >= number)
        world.cluster.node_running(world.starts("steady")[number - 1]).kill()

    def follow_after_losing_node_of_start(
        number: int, process: subprocess.Popen[str]
    ) -> subprocess.Popen[str]:
        """Lose the node of start `number` (`process` runs it again), kill `process`, and
        start a follower; returned once it found the run (its driver placed it)."""
        lose_node_of_start(number)
        wait_for(f"start {number + 1}", lambda: len(world.starts("steady")) == number + 1)
        world.kill(process)
        restore_workers(world.cluster)
        follower = world.start_run("steady", command="follow")
        placed = 2 * number + 1  # the drivers of the starts so far, and of each follower
        wait_for("the follower", lambda: world.driver_steps("steady", "placed on") == placed)
        return follower

    submitter = world.start_run("steady", "--executor", "ray", "--no-container")
    try:
        follower = follow_after_losing_node_of_start(1, submitter)  # start 2: the submitter's
        last = follow_after_losing_node_of_start(2, follower)  # 3, the follower's: the last
        lose_node_of_start(3)
        stdout, stderr = last.communicate(timeout=180)
    finally:
        restore_workers(world.cluster)
    assert last.returncode == 1, stderr
    (version,), _ = json.JSONDecoder().raw_decode(stdout)  # the error may follow it
    assert version["status"] == FAILED
    assert "was lost mid-run" in version["reason"], version["reason"]
    assert len(world.starts("steady")) == 3  # 1 + 2 retries, not 1 + 2 per process
    log = Path(version["log"]).read_text()
    assert "running it again (1 of 2 retries)" in log
    assert "running it again (2 of 2 retries)" in log


def test_a_killed_scheduler_follows_its_runs_on_the_cluster_after_a_restart(
    world: World, tmp_path: Path
) -> None:
    # One window, the same for both: with a minute schedule, two registrations either
    # side of a minute's turn would give the first dataset two windows due.
    window = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=2)
    at = f"cron({window.minute} {window.hour} {window.day} {window.month} ? {window.year})"
    for name in ("east", "west"):
        world.register(name, triggers=[{"schedule": {"expression": at}}])
    clock = tmp_path / "now"
    clock.write_text((window + timedelta(seconds=5)).isoformat())
    world.env[CLOCK_FILE_ENV] = str(clock)
    logs: list[Path] = []

    def start_scheduler() -> subprocess.Popen[str]:
        logs.append(tmp_path / f"scheduler-{len(logs)}.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        command = ["scheduler", "--executor", "ray", "--no-container", "--poll-seconds", "0.2"]
        with logs[-1].open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "iota_container", *command, "--json-log"],
                env=env | world.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                text=True,
                start_new_session=True,  # killed whole, its Ray drivers too, as on a crash
            )
        world.processes.append(process)
        return process

    world.hold()
    killed = start_scheduler()
    wait_for("both runs to start", lambda: bool(world.starts("east") and world.starts("west")))
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    for name in ("east", "west"):
        (version,) = world.versions(name)
        assert (version.status, version.followable) == (CREATING, True)

    restarted = start_scheduler()
    world.release()
    wait_for(
        "both runs to be followed to their end",
        lambda: all(v.status != CREATING for n in ("east", "west") for v in world.versions(n)),
    )
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0
    for name in ("east", "west"):
        (version,) = world.versions(name)  # not run again as another version either
        assert (version.status, version.reason) == (SUCCEEDED, None)
        assert version.trigger.schedule_time == window
        assert version.node is not None
        assert len(world.starts(name)) == 1
    events = [json.loads(line) for line in logs[1].read_text().splitlines() if line.startswith("{")]
    followed = [e["message"] for e in events if "following run" in e.get("message", "")]
    assert len(followed) == 2, logs[1].read_text()[-3000:]


# -- bad input ------------------------------------------------------------------------------


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def register_one(tmp_path: Path, compute_type: str = "ACU_1") -> dict[str, str]:
    notebook = write_notebook(tmp_path / "defs" / "nb.ipynb", "print('hi')")
    definition = container_dataset("report", compute_type=compute_type)
    definition["actions"][0]["containerAction"]["x-iota-notebook"] = notebook.name
    env = {"IOTA_HOME": str(tmp_path / "home")}
    registered = run_cli(
        "dataset", "register", str(write_definition(tmp_path / "defs", definition)), env=env
    )
    assert registered.returncode == 0, registered.stderr
    return env


def test_no_cluster_at_the_address_is_one_line_at_once(tmp_path: Path) -> None:
    env = register_one(tmp_path)
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli(
        "dataset", "run", "report", "--executor", "ray", "--ray-address", address, env=env
    )
    assert result.returncode == 2
    error = one_line_error(result)
    assert f"no Ray cluster answers at {address}" in error
    assert "ray start --head" in error
    assert time.monotonic() - started < 30  # no minute of Ray's own retries


def test_an_unknown_executor_is_one_line(tmp_path: Path) -> None:
    env = register_one(tmp_path)
    result = run_cli("dataset", "run", "report", "--executor", "kubernetes", env=env)
    assert result.returncode == 2
    assert "no executor is named 'kubernetes'" in one_line_error(result)
    scheduler = run_cli("scheduler", "--once", "--executor", "kubernetes", env=env)
    assert scheduler.returncode == 2
    assert "no executor is named 'kubernetes'" in one_line_error(scheduler)


def a_remote_address() -> str:
    """A non-loopback address of this machine, else one of a documentation network: the
    check refuses before connecting anywhere."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a source
            address = str(probe.getsockname()[0])
        except OSError:
            address = "127.0.0.1"
    return f"{address if not address.startswith('127.') else '203.0.113.7'}:6379"


def test_a_file_output_root_with_a_remote_cluster_is_refused(tmp_path: Path) -> None:
    env = register_one(tmp_path)  # the default output root: file://HOME/outputs
    address = a_remote_address()
    result = run_cli(
        "dataset",
        "run",
        "report",
        "--executor",
        "ray",
        "--ray-address",
        address,
        "--no-container",
        env=env,
    )
    assert result.returncode == 2
    error = one_line_error(result)
    assert "IOTA_OUTPUT_ROOT" in error and "s3://" in error and address in error


def test_ray_not_installed_names_the_extra(tmp_path: Path) -> None:
    env = register_one(tmp_path)
    hide_ray = (
        "import sys; sys.modules['ray'] = None; sys.argv[0] = 'iota-container';"
        "from iota_container.cli import main; main()"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
    result = subprocess.run(
        [sys.executable, "-c", hide_ray, "dataset", "run", "report", "--executor", "ray"],
        capture_output=True,
        text=True,
        env=full_env | env | {"RAY_ADDRESS": "127.0.0.1:6379"},
        timeout=120,
    )
    assert result.returncode == 2
    assert "pip install 'iota-container[ray]'" in one_line_error(result)


def test_a_compute_type_no_node_has_is_refused_at_submission(world: World) -> None:
    world.register("huge", compute_type="ACU_2")  # 2 CPU, 8 GiB at this scale; nodes have half
    run = world.start_run("huge", "--executor", "ray", "--no-container")
    code, stdout, _ = finished(run, timeout=120)
    version = json.loads(stdout)
    assert (code, version["status"]) == (2, FAILED)
    assert "computeType ACU_2 asks for 2 CPU and 8 GiB and no node" in version["reason"]
    assert world.starts("huge") == []


def test_a_cluster_that_goes_away_mid_run_fails_the_run_and_the_engine_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = start_cluster(workers=1)
    try:
        for key, value in doomed.env().items():
            monkeypatch.setenv(key, value)
        world = World(tmp_path, doomed)
        world.register("orphan")
        with StateStore(Home.locate(world.home)) as store:
            store.register(write_definition(world.folder, sql_dataset("local", command="echo a,b")))
            from iota_container.executors.ray import RayExecutor

            engine = DatasetEngine(store, executor=RayExecutor())
            world.hold()
            ended: list[Version] = []
            running = threading.Thread(
                target=lambda: ended.append(engine.run("orphan", use_container=False))
            )
            running.start()
            wait_for("the run to start", lambda: bool(world.starts("orphan")))
            doomed.stop()
            running.join(180)
            assert not running.is_alive()
            (version,) = ended
            assert version.status == FAILED
            assert f"the Ray cluster at {doomed.address} stopped answering" in str(version.reason)
            # The engine is still up in this process and runs what needs no cluster.
            assert engine.run("local").status == SUCCEEDED
    finally:
        doomed.stop()
