"""`python -m iota_container.executors.ray_driver`: one run's Ray driver, in a process of
its own, started by ray.py for each submission or follow.

Why a process: Ray's driver ends the process it runs in when the cluster's control
store (GCS) stays unreachable, so a cluster that goes away would take the engine, and
every other run of a scheduler, down with it; and importing Ray costs a second and a
hundred megabytes the engine need not carry. The driver reads one `DriverRequest`
(length-prefixed pickle) on stdin and writes JSON lines on stdout; it ends when its
parent does (its stdin closes), leaving the run on the cluster to be followed again.

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


@dataclass(frozen=True)
class DriverRequest:
    operation: str  # SUBMIT or FOLLOW
    address: str
    run_id: str
    resources: RunResources | None = None  # SUBMIT only
    node_run: NodeRun | None = None  # SUBMIT only


def write_request(stream: IO[bytes], request: DriverRequest) -> None:
    body = pickle.dumps(request)
    stream.write(struct.pack(">Q", len(body)) + body)
    stream.flush()


def read_request(stream: IO[bytes]) -> DriverRequest:
    (length,) = struct.unpack(">Q", stream.read(8))
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
    # The events get stdout to themselves: Ray prints to it too (warnings, a lost node's
    # messages), so everything else goes to stderr, the driver's log.
    _events = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    request = read_request(sys.stdin.buffer)
    threading.Thread(target=_exit_when_parent_ends, daemon=True).start()
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_SECONDS)
    # Ray imports jsonschema, whose optional URI grammar costs each run's driver seconds.
    ray = import_without_uri_grammar("ray")

    ray.init(
        address=request.address,
        namespace=NAMESPACE,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
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
    _emit(ended_event(end))
    ray.kill(actor)  # collected: free its resources (see ray.py on the window before this)
    return 0


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


def _exit_when_parent_ends() -> None:
    sys.stdin.buffer.read()  # EOF: the engine that started this driver is gone
    os._exit(EXIT_PARENT_GONE)


if __name__ == "__main__":
    sys.exit(main())
