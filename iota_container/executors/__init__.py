"""Executors: where a container dataset's analysis runs, in a small registry.

    executor = executor_for("local")   # the Docker engine when one answers, else a process
    mode = executor.choose_mode(use_container=None)   # recorded on the version
    ended = executor.execute(AnalysisRun(...))        # exit code, duration, reason

`local` (the default), `ray` and `sagemaker` are built in, each imported only when chosen;
others (Kubernetes, AWS Batch …) are added with `register_executor` or through the
`iota_container.executors` entry point group, whose entries are factories (called with
no arguments) of `Executor`s. `executor_name()` is the choice: an explicit name, else
`IOTA_EXECUTOR`, else `local`.

  base.py             the Executor protocol and what it is given and gives back
  local.py            LocalExecutor: a container through the Docker engine, or a process
  container_run.py    one container run through the engine: create, wait, OOM watch, limits
  engine_socket.py    Docker Engine API on the local socket (standard library only)
  run_environment.py  what a run sees of the environment (allow-listed settings, no secrets)
  ray.py              RayExecutor: each run a detached actor on a Ray cluster (RAY_ADDRESS)
  ray_resources.py    computeType → Ray resources (IOTA_RAY_RESOURCE_SCALE); address checks
  ray_driver.py       one run's Ray driver, a child process: submit or follow, then collect
  ray_node.py         the actor: the run on its node, as local runs it there
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import import_module

from iota_container.errors import IotaError
from iota_container.executors.base import (
    AnalysisRun,
    Executor,
    FollowableExecutor,
    RunEnded,
    run_id_for,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "LOCAL",
    "AnalysisRun",
    "Executor",
    "ExecutorFactory",
    "FollowableExecutor",
    "RunEnded",
    "executor_for",
    "executor_name",
    "register_executor",
    "run_id_for",
]

LOCAL = "local"
ENTRY_POINT_GROUP = "iota_container.executors"
ENVIRONMENT_VARIABLE = "IOTA_EXECUTOR"
# Built in, and imported only when chosen: Ray's and boto3's imports cost a local run.
BUILT_IN = {
    LOCAL: "iota_container.executors.local:LocalExecutor",
    "ray": "iota_container.executors.ray:RayExecutor",
    "sagemaker": "iota_container.executors.sagemaker:SageMakerExecutor",
}

ExecutorFactory = Callable[[], Executor]
_factories: dict[str, ExecutorFactory] = {}


def register_executor(name: str, factory: ExecutorFactory) -> None:
    """Make `executor_for(name)` return executors made by `factory` (replaces any earlier)."""
    _factories[name] = factory


def executor_for(name: str = LOCAL) -> Executor:
    """A new executor of that name (each keeps its own connections)."""
    return _factory_for(name)()


def executor_name(explicit: str | None = None) -> str:
    """The executor chosen: `explicit` (a command's --executor), else IOTA_EXECUTOR, else
    local."""
    return explicit or os.environ.get(ENVIRONMENT_VARIABLE) or LOCAL


def _factory_for(name: str) -> ExecutorFactory:
    if name in _factories:
        return _factories[name]
    if name in BUILT_IN:
        module, _, attribute = BUILT_IN[name].partition(":")
        factory: ExecutorFactory = getattr(import_module(module), attribute)
        return factory
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            loaded: ExecutorFactory = entry.load()
            return loaded
    known = sorted({*BUILT_IN, *_factories})
    raise IotaError(
        f"no executor is named {name!r}: use one of {', '.join(known)}, or install the "
        f"package that registers it (entry point group {ENTRY_POINT_GROUP})"
    )
