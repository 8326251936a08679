"""`python -m iota_container.executors.ray_driver`: one run's Ray driver, in a process of
its own, started by ray.py for each submission or follow.

Why a process: Ray's driver ends the process it runs in when the cluster's control
store (GCS) stays unreachable, so a cluster that goes away would take the engine, and
every other run of a scheduler, down with it; and importing Ray costs a second and a
hundred megabytes the engine need not carry. The driver imports Ray and connects to the
cluster (its address the one argument) first, then reads one `DriverRequest`
(length-prefixed pickle) on stdin, so ray.py starts it before the run is known, and
Ray's import and ray.init overlap the engine's own work.
It writes JSON lines on stdout, its log to the request's `log_path`; it ends when its
parent does (its stdin closes), leaving the run on the cluster to be followed again, and
as soon as the run is collected: without Ray's own shutdown at exit, which takes seconds
and which a driver killed with its engine does without too.

Why a detached named actor and not a task or Ray's job submission: a task dies with the
process that owns it, and the job API needs Ray's dashboard (its HTTP server and extra
dependencies) running on the head. A detached actor outlives its creator; named by the
run id in one namespace it is found again (`ray.get_actor`) by a later process, and a
resubmission under the same name gets the existing actor (`get_if_exists`), never a
second run. `max_restarts=0`: an actor lost with its node is not run again by Ray; the
engine decides (x-iota-infrastructure-retries).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import queue
import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from iota_container.executors.base import RunEnded
from iota_container.executors.ray_node import NodeEnd, NodeRun, RunOnNode
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
    log_path: str  # the driver's log (stderr and Ray's prints), beside the run's log
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
    _step("started")
    # The events get stdout to themselves: Ray prints to it too (warnings, a lost node's
    # messages), so everything else goes to stderr, the driver's log.
    _events = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests: queue.Queue[DriverRequest] = queue.Queue()
    threading.Thread(target=_read_request_then_watch_parent, args=(requests,), daemon=True).start()
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_SECONDS)
    # Ray imports jsonschema, whose optional URI grammar costs each run's driver seconds.
    ray = import_without_uri_grammar("ray")
    _step("imported ray")
    connected = _connect_ahead(sys.argv[1] if len(sys.argv) > 1 else None)
    request = requests.get()
    log_file = os.open(request.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        os.dup2(log_file, stream.fileno())
    os.close(log_file)
    _step(f"given {request.operation} {request.run_id}")
    if connected != request.address:
        if connected is not None:
            ray.shutdown()
        _connect(request.address)
    if request.operation == FOLLOW:
        try:
            actor = ray.get_actor(request.run_id)
        except ValueError:  # no live actor of that name: never submitted, or collected
            _emit({"event": "missing"})
            return 0
    else:
        assert request.resources is not None and request.node_run is not None
        actor = _submit(request.run_id, request.resources, request.node_run)
        if actor is None:
            return 0
    end = _wait_for_end(actor)
    _step("ended")
    _emit(ended_event(end))
    _collect(request.run_id, actor)
    _step("collected")
    return 0


def _connect(address: str) -> None:
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
    _step("connected")


def _connect_ahead(address: str | None) -> str | None:
    """The address connected to before the run is known, if one was given and answers;
    the request's own connects (and reports) otherwise."""
    if address is None:
        return None
    import ray

    try:
        _connect(address)
    except Exception as e:  # the request's connection says it again, with its run
        _step(f"not connected ahead: {one_line(str(e), 200)}")
        if ray.is_initialized():
            ray.shutdown()
        return None
    return address


def _collect(run_id: str, actor: Any) -> None:
    """Kill the ended run's actor to free its resources (see ray.py on the window before
    this), waiting until the cluster has it no more: the driver exits without Ray's
    shutdown, which could drop a kill still on its way."""
    import ray

    ray.kill(actor)
    deadline = time.monotonic() + COLLECT_SECONDS
    while time.monotonic() < deadline:
        try:
            ray.get_actor(run_id)
        except ValueError:  # gone
            return
        time.sleep(0.05)


def _submit(run_id: str, resources: RunResources, node_run: NodeRun) -> Any:
    import ray

    refused = unsatisfiable_reason(resources, ray.nodes())  # type: ignore[no-untyped-call]
    if refused is not None:
        _emit({"event": "refused", "message": refused})
        return None
    actor_class = ray.remote(RunOnNode)
    actor = actor_class.options(
        name=run_id,
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=resources.num_cpus,
        memory=resources.memory_bytes,
        max_restarts=0,
        max_concurrency=4,  # `wait` and `where` answer while the run's thread works
    ).remote(node_run)
    _emit({"event": "submitted"})
    _step("submitted")
    return actor


def _wait_for_end(actor: Any) -> NodeEnd:
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError

    node: str | None = None
    while True:
        try:
            if node is None:
                node = ray.get(actor.where.remote())  # once Ray placed and started it
                _emit({"event": "placed", "node": node})
                _step(f"placed on {node}")
            end: NodeEnd | None = ray.get(
                actor.wait.remote(WAIT_SECONDS), timeout=WAIT_SECONDS + 60
            )
        except GetTimeoutError:
            continue
        except RayActorError as e:
            return _actor_lost(node, e)
        if end is not None:
            return end


def _actor_lost(node: str | None, error: Exception) -> NodeEnd:
    """The actor died: with its node (an infrastructure failure), or on its own."""
    import ray

    node_id = node.rpartition("/")[2] if node else None
    # The GCS notices a node gone within its health checks: look a few times.
    for _ in range(10):
        nodes = ray.nodes()  # type: ignore[no-untyped-call]
        alive = {n["NodeID"] for n in nodes if n.get("Alive")}
        if node_id is not None and node_id not in alive:
            reason = (
                f"the Ray node {node} was lost mid-run; the run is not run again (a "
                "definition opts into that with x-iota-infrastructure-retries)"
            )
            return NodeEnd(RunEnded(-1, 0.0, reason, node, infrastructure_failure=True), b"")
        time.sleep(1)
    first_line = one_line(str(error).splitlines()[0] if str(error) else repr(error), 200)
    where = f" on node {node}" if node else ""
    reason = f"the run's Ray actor died{where}: {first_line}"
    return NodeEnd(RunEnded(-1, 0.0, reason, node), b"")


_events: IO[str] = sys.stdout


def _emit(event: dict[str, Any]) -> None:
    _events.write(json.dumps(event) + "\n")
    _events.flush()


def _step(what: str) -> None:
    """One line of the driver's log a step, at its wall-clock time (the run's other
    processes' logs say theirs): where a run's seconds go."""
    print(f"ray-driver {os.getpid()}: {what} at {time.time():.3f}", file=sys.stderr, flush=True)


def _read_request_then_watch_parent(requests: queue.Queue[DriverRequest]) -> None:
    """Hand the request over once it comes, then wait for EOF: the engine that started
    this driver is gone (before its request too), and so is the driver then."""
    request = read_request(sys.stdin.buffer)
    if request is not None:
        requests.put(request)
        sys.stdin.buffer.read()
    os._exit(EXIT_PARENT_GONE)


if __name__ == "__main__":
    code = main()
    _events.flush()
    sys.stderr.flush()
    os._exit(code)  # not Ray's shutdown at exit: seconds, and nothing of the run's needs it
