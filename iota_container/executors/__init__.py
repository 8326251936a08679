"""Executors: where a container dataset's analysis runs, in a small registry.

    executor = executor_for("local")   # the Docker engine when one answers, else a process
    mode = executor.choose_mode(use_container=None)   # recorded on the version
    ended = executor.execute(AnalysisRun(...))        # exit code, duration, reason

`local` is built in; other executors (the scale-out work's ray and sagemaker) are added
with `register_executor` or through the `iota_container.executors` entry point group,
whose entries are factories (called with no arguments) of `Executor`s.

  base.py             the Executor protocol and what it is given and gives back
  local.py            LocalExecutor: a container through the Docker engine, or a process
  container_run.py    one container run through the engine: create, wait, OOM watch, limits
  engine_socket.py    Docker Engine API on the local socket (standard library only)
  run_environment.py  what a run sees of the environment (allow-listed settings, no secrets)
"""

from __future__ import annotations

from collections.abc import Callable

from iota_container.errors import IotaError
from iota_container.executors.base import AnalysisRun, Executor, RunEnded

__all__ = [
    "ENTRY_POINT_GROUP",
    "LOCAL",
    "AnalysisRun",
    "Executor",
    "ExecutorFactory",
    "RunEnded",
    "executor_for",
    "register_executor",
]

LOCAL = "local"
ENTRY_POINT_GROUP = "iota_container.executors"

ExecutorFactory = Callable[[], Executor]
_factories: dict[str, ExecutorFactory] = {}


def register_executor(name: str, factory: ExecutorFactory) -> None:
    """Make `executor_for(name)` return executors made by `factory` (replaces any earlier)."""
    _factories[name] = factory


def executor_for(name: str = LOCAL) -> Executor:
    """A new executor of that name (each keeps its own connections)."""
    return _factory_for(name)()


def _factory_for(name: str) -> ExecutorFactory:
    if name in _factories:
        return _factories[name]
    if name == LOCAL:
        from iota_container.executors.local import LocalExecutor

        return LocalExecutor
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            factory: ExecutorFactory = entry.load()
            return factory
    known = sorted({LOCAL, *_factories})
    raise IotaError(
        f"no executor is named {name!r}: use one of {', '.join(known)}, or install the "
        f"package that registers it (entry point group {ENTRY_POINT_GROUP})"
    )
