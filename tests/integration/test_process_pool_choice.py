"""Which runs the scheduler gives a process pool: the local executor's process runs only.
No worker is started here (a pool starts its workers when warmed or given a run); the
container case asks the real Docker engine."""

from __future__ import annotations

from typing import Any

import pytest

from iota_container.executors.local import LocalExecutor
from iota_container.executors.process_pool import ProcessPool, pool_for

pytestmark = pytest.mark.integration


def test_process_runs_of_the_local_executor_get_a_pool() -> None:
    executor = LocalExecutor()
    pool = pool_for(executor, use_container=False, size=3)
    try:
        assert isinstance(pool, ProcessPool)
        assert executor.pool is pool and pool.size == 3
        assert pool_for(executor, use_container=False, size=3) is None  # it has one
    finally:
        assert pool is not None
        pool.close()


def test_container_runs_and_other_executors_get_none(docker_client: Any) -> None:
    containers = LocalExecutor(docker=docker_client)  # the real engine: runs are containers
    assert pool_for(containers, use_container=None, size=2) is None
    assert containers.pool is None

    class Elsewhere:
        name = "elsewhere"

    assert pool_for(Elsewhere(), use_container=False, size=2) is None  # type: ignore[arg-type]


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="size is 0"):
        ProcessPool(0)
