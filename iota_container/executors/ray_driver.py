"""`python -m iota_container.executors.ray_driver ADDRESS`: the Ray driver of an engine
process, in a process of its own, started by ray.py and serving all of that process's
runs on the cluster at ADDRESS (submissions and follows) at once.

Why a process: Ray's driver ends the process it runs in when the cluster's control
store (GCS) stays unreachable, so a cluster that goes away would take the engine, and
every other run of a scheduler, down with it; and importing Ray costs a second and a
hundred megabytes the engine need not carry. Why one for many runs: that second, and
ray.init's half second, are then paid once, when the engine starts (ray.py starts the
driver before any run is known), not by each run; a scheduler with two hundred runs due
at once would otherwise start two hundred drivers.

The driver imports Ray and connects, then reads `DriverRequest`s (length-prefixed
pickles) on stdin, each served in a thread of its own. It writes JSON lines on stdout,
each with the `runId` it is about and a last `done` line a request; each request's steps
go to its `log_path` (`ray-driver PID: STEP at TIME`), and what Ray itself prints goes
to the driver's stderr. It ends when its engine does (its stdin closes), leaving the runs
under way on the cluster to be followed again, without Ray's own shutdown at exit, which
takes seconds and which a driver killed with its engine does without too.

Why a placement group and the node's agent, and not a task, an actor of the run's own
or Ray's job submission: a task dies with the process that owns it, an actor of its own
costs each run the start of a worker process on its node (a second or more), and the
job API needs Ray's dashboard (its HTTP server and extra dependencies) on the head. A
detached placement group named by the run id reserves the run's CPUs and memory on one
node and outlives its creator; the run goes to that node's agent (ray_node.py), a
detached actor that is already running. A later process finds the run again by its
name (`get_placement_group`) and asks the agent of its node for its end; a resubmission
finds the group that exists, and the agent starts a run id once: never a second run.
An agent lost with its node is not started again by Ray for that run (max_restarts=0);
the engine decides (x-iota-infrastructure-retries).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import os
import pickle
import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from iota_container.executors.base import RunEnded
from iota_container.executors.ray_node import MAX_CALLS, NodeAgent, NodeEnd, NodeRun, agent_name
from iota_container.executors.ray_resources import RunResources, unsatisfiable_reason
from iota_container.text import one_line
from iota_container.uri_grammar import import_without_uri_grammar

NAMESPACE = "iota-container"
SUBMIT = "submit"
FOLLOW = "follow"
WAIT_SECONDS = 5.0  # one wait call on the actor; the driver looks at the cluster between
# How long the driver's Ray core goes on without the GCS before it gives up: a cluster
# gone is told in seconds, not Ray's default minute.
GCS_RECONNECT_SECONDS = "15"
EXIT_PARENT_GONE = 3
COLLECT_SECONDS = 10.0


@dataclass(frozen=True)
class DriverRequest:
    operation: str  # SUBMIT or FOLLOW
    address: str
    run_id: str
    log_path: str  # its steps, and what the driver printed meanwhile; beside the run's log
    resources: RunResources | None = None  # SUBMIT only
    node_run: NodeRun | None = None  # SUBMIT only


def write_request(stream: IO[bytes], request: DriverRequest) -> None:
    body = pickle.dumps(request)
    stream.write(struct.pack(">Q", len(body)) + body)
    stream.flush()


def read_request(stream: IO[bytes]) -> DriverRequest | None:
    """The request, or None when the engine ended without sending one."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    (length,) = struct.unpack(">Q", header)
    request: DriverRequest = pickle.loads(stream.read(length))
    return request


def ended_event(end: NodeEnd) -> dict[str, Any]:
    ended = end.ended
    return {
        "event": "ended",
        "exitCode": ended.exit_code,
        "durationSeconds": ended.duration_seconds,
        "reason": ended.reason,
        "node": ended.node,
        "infrastructureFailure": ended.infrastructure_failure,
        "log": base64.b64encode(end.log).decode("ascii"),
    }


def main() -> int:
    global _events
    _startup.step("started")
    # The events get stdout to themselves: Ray prints to it too (warnings, a lost node's
    # messages), so everything else goes to stderr, the driver's log.
    _events = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_SECONDS)
    # Ray imports jsonschema, whose optional URI grammar costs each run's driver seconds.
    import_without_uri_grammar("ray")
    _startup.step("imported ray")
    address = sys.argv[1]
    _connection.connect_ahead(address)
    while (request := read_request(sys.stdin.buffer)) is not None:
        if request.address != address:  # ray.py starts a driver for each address
            raise SystemExit(f"ray-driver: asked for {request.address}, connected to {address}")
        threading.Thread(target=_serve, args=(request,), daemon=True).start()
    os._exit(EXIT_PARENT_GONE)  # the engine is gone: its runs go on, to be followed


def _serve(request: DriverRequest) -> None:
    """One request to its end, its steps in its own log; `done` in any case."""
    with _RunLog(request.log_path) as log:
        try:
            _startup.hand_to(log)  # the first request's: the start it waited for, if it did
            log.step(f"given {request.operation} {request.run_id}")
            _connection.connect(request.address, log)
            _emit(request.run_id, {"event": "taken"})
            _serve_connected(request, log)
        except BaseException as e:  # a bug, or Ray failing: this request's log says it
            log.step(f"failed: {one_line(repr(e), 300)}")
            raise
        finally:
            _emit(request.run_id, {"event": "done"})


def _serve_connected(request: DriverRequest, log: _RunLog) -> None:
    run_id = request.run_id
    if request.operation == FOLLOW:
        placed = _find(run_id, log)
        if placed is None:
            _emit(run_id, {"event": "missing"})
            return
    else:
        assert request.resources is not None and request.node_run is not None
        placed = _submit(run_id, request.resources, request.node_run, log)
        if placed is None:
            return
    end = _wait_for_end(placed)
    log.step("ended")
    _emit(run_id, ended_event(end))
    _collect(placed)
    log.step("collected")


class _RunLog:
    """A request's log (beside its run's log): one line a step, at its wall-clock time
    (the run's other processes' logs say theirs): where a run's seconds go."""

    def __init__(self, path: str | None) -> None:
        """`path` None: the driver's own start, kept for its first request's log."""
        self._lines: list[str] = []
        self._file: IO[str] | None = None
        if path is not None:
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115  (closed on exit)

    def step(self, what: str) -> None:
        line = f"ray-driver {os.getpid()}: {what} at {time.time():.3f}\n"
        if self._file is None:
            self._lines.append(line)
            return
        self._file.write(line)
        self._file.flush()

    def hand_to(self, log: _RunLog) -> None:
        """Write the steps kept so far to `log`, once: to the first request's."""
        with _startup_lock:
            lines, self._lines = self._lines, []
        if lines and log._file is not None:
            log._file.writelines(lines)

    def __enter__(self) -> _RunLog:
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()


class _Connection:
    """The driver's one connection to its cluster, made ahead when the cluster answers,
    else by the first request (whose log then says why it failed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.address: str | None = None

    def connect_ahead(self, address: str) -> None:
        import ray

        with self._lock:
            try:
                _connect(address, _startup)
            except Exception as e:  # the first request connects again, and reports
                _startup.step(f"not connected ahead: {one_line(str(e), 200)}")
                if ray.is_initialized():
                    ray.shutdown()
                return
            self.address = address

    def connect(self, address: str, log: _RunLog) -> None:
        import ray

        with self._lock:
            if self.address == address:
                return
            try:
                _connect(address, log)
            except BaseException:
                if ray.is_initialized():  # the next request starts afresh
                    ray.shutdown()
                raise
            self.address = address


@dataclass(frozen=True)
class _Placed:
    """A run's placement group, and the agent of the node it reserved, once it did."""

    run_id: str
    group: Any  # ray.util.placement_group.PlacementGroup
    agent: Any | None = None
    node: str | None = None


_startup = _RunLog(None)
_startup_lock = threading.Lock()
_connection = _Connection()


def _connect(address: str, log: _RunLog) -> None:
    import ray

    ray.init(
        address=address,
        namespace=NAMESPACE,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    # The driver's first call that reaches the cluster sets up what Ray starts lazily (a
    # fifth of a second, paid by the first actor's creation otherwise): made here.
    ray.put(b"")
    log.step("connected")
    _start_agents()


def _start_agents() -> None:
    """An agent on every node that can take runs, started now if it is not running: the
    first run of a node need not wait for its start. Nothing is waited for here."""
    import ray

    for node in ray.nodes():  # type: ignore[no-untyped-call]
        if node.get("Alive") and float(node.get("Resources", {}).get("CPU", 0)) > 0:
            _agent_on(node["NodeID"])


def _agent_on(node_id: str) -> Any:
    """The agent of node `node_id`: the running one, or one started there now."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return (
        ray.remote(NodeAgent)
        .options(
            name=agent_name(node_id),
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,  # the run's placement group holds its resources
            max_restarts=0,
            max_concurrency=MAX_CALLS,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        )
        .remote()
    )


def _submit(
    run_id: str, resources: RunResources, node_run: NodeRun, log: _RunLog
) -> _Placed | None:
    import ray
    from ray.util.placement_group import placement_group

    refused = unsatisfiable_reason(resources, ray.nodes())  # type: ignore[no-untyped-call]
    if refused is not None:
        _emit(run_id, {"event": "refused", "message": refused})
        return None
    group = _group_named(run_id)  # a resubmission: the run's group exists already
    if group is None:
        bundle = {"CPU": resources.num_cpus, "memory": resources.memory_bytes}
        group = placement_group(
            [{k: v for k, v in bundle.items() if v}],
            strategy="STRICT_PACK",
            name=run_id,
            lifetime="detached",
        )
    _emit(run_id, {"event": "submitted"})
    log.step("submitted")
    placed = _reserved(_Placed(run_id, group))
    if placed.agent is None:  # its node was lost before the run started there
        return placed
    node: str = ray.get(placed.agent.start.remote(run_id, node_run))
    _placed(run_id, node, log)
    return dataclasses.replace(placed, node=node)


def _find(run_id: str, log: _RunLog) -> _Placed | None:
    """The run, submitted by an earlier process, if its group is still there and the
    agent of its node has it; a group whose run never reached its agent is removed."""
    import ray
    from ray.exceptions import RayActorError

    group = _group_named(run_id)
    if group is None:
        return None
    placed = _reserved(_Placed(run_id, group))
    node: str | None = None
    try:
        if placed.agent is not None and ray.get(placed.agent.knows.remote(run_id)):
            node = ray.get(placed.agent.where.remote())
    except RayActorError:  # the agent died with its node
        node = None
    if node is None:
        _collect(placed)
        return None
    _placed(run_id, node, log)
    return dataclasses.replace(placed, node=node)


def _group_named(run_id: str) -> Any | None:
    from ray.util import placement_group_table
    from ray.util.placement_group import get_placement_group

    try:
        group = get_placement_group(run_id)
    except ValueError:  # no group of that name: never submitted, or collected
        return None
    return None if placement_group_table(group).get("state") == "REMOVED" else group


def _reserved(placed: _Placed) -> _Placed:
    """Once Ray reserved the group's bundle on a node (it waits while no node has room):
    with that node's agent, or without one when the node is gone."""
    import ray
    from ray.util import placement_group_table

    while not placed.group.wait(WAIT_SECONDS):
        continue
    node_id = placement_group_table(placed.group)["bundles_to_node_id"][0]
    alive = {n["NodeID"] for n in ray.nodes() if n.get("Alive")}  # type: ignore[no-untyped-call]
    if node_id not in alive:
        return placed
    return dataclasses.replace(placed, agent=_agent_on(node_id))


def _placed(run_id: str, node: str, log: _RunLog) -> None:
    _emit(run_id, {"event": "placed", "node": node})
    log.step(f"placed on {node}")


def _wait_for_end(placed: _Placed) -> NodeEnd:
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError

    if placed.agent is None:
        return _actor_lost(placed.node, RuntimeError("its node was gone before it started"))
    while True:
        try:
            end: NodeEnd | None = ray.get(
                placed.agent.wait.remote(placed.run_id, WAIT_SECONDS), timeout=WAIT_SECONDS + 60
            )
        except GetTimeoutError:
            continue
        except RayActorError as e:
            return _actor_lost(placed.node, e)
        if end is not None:
            return end


def _collect(placed: _Placed) -> None:
    """Forget the ended run on its agent and remove its group, which frees its resources,
    waiting until the cluster has removed it: the driver exits without Ray's shutdown,
    which could drop a removal still on its way."""
    import ray
    from ray.exceptions import RayActorError
    from ray.util import placement_group_table
    from ray.util.placement_group import remove_placement_group

    if placed.agent is not None:
        with contextlib.suppress(RayActorError):
            ray.get(placed.agent.collect.remote(placed.run_id))
    remove_placement_group(placed.group)
    deadline = time.monotonic() + COLLECT_SECONDS
    while time.monotonic() < deadline:
        if placement_group_table(placed.group).get("state") == "REMOVED":
            return
        time.sleep(0.05)


def _actor_lost(node: str | None, error: Exception) -> NodeEnd:
    """The agent died: with its node (an infrastructure failure), or on its own."""
    import ray

    node_id = node.rpartition("/")[2] if node else None
    # The GCS notices a node gone within its health checks: look a few times.
    for _ in range(10):
        nodes = ray.nodes()  # type: ignore[no-untyped-call]
        alive = {n["NodeID"] for n in nodes if n.get("Alive")}
        if node_id is None or node_id not in alive:
            where = f" {node}" if node else ""
            reason = (
                f"the Ray node{where} was lost mid-run; the run is not run again (a "
                "definition opts into that with x-iota-infrastructure-retries)"
            )
            return NodeEnd(RunEnded(-1, 0.0, reason, node, infrastructure_failure=True), b"")
        time.sleep(1)
    first_line = one_line(str(error).splitlines()[0] if str(error) else repr(error), 200)
    reason = f"the agent running the run on node {node} died: {first_line}"
    return NodeEnd(RunEnded(-1, 0.0, reason, node), b"")


_events: IO[str] = sys.stdout
_events_lock = threading.Lock()


def _emit(run_id: str, event: dict[str, Any]) -> None:
    line = json.dumps(event | {"runId": run_id}) + "\n"
    with _events_lock:
        _events.write(line)
        _events.flush()


if __name__ == "__main__":
    code = main()
    _events.flush()
    sys.stderr.flush()
    os._exit(code)  # not Ray's shutdown at exit: seconds, and nothing of the run's needs it
