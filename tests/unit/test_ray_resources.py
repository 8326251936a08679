"""What a Ray run asks of the cluster, and the address checks made before any connection."""

from __future__ import annotations

import pytest

from iota_container.definitions.model import ResourceConfiguration
from iota_container.errors import IotaError
from iota_container.executors.ray_resources import (
    GIB,
    RunResources,
    is_loopback,
    refuse_unreachable_outputs,
    resources_for,
    unsatisfiable_reason,
)


def test_compute_types_are_sized_as_the_service_sized_them_and_scaled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acu_1 = ResourceConfiguration("ACU_1", 1)
    assert resources_for(acu_1) == RunResources("ACU_1", 4.0, 16 * GIB)
    assert resources_for(ResourceConfiguration("ACU_2", 1)) == RunResources("ACU_2", 8.0, 32 * GIB)
    monkeypatch.setenv("IOTA_RAY_RESOURCE_SCALE", "0.25")
    assert resources_for(acu_1) == RunResources("ACU_1", 1.0, 4 * GIB)
    monkeypatch.setenv("IOTA_RAY_RESOURCE_SCALE", "none")
    with pytest.raises(IotaError, match="IOTA_RAY_RESOURCE_SCALE is 'none': give a number"):
        resources_for(acu_1)


def node(cpus: float, memory_gib: float, alive: bool = True) -> dict[str, object]:
    return {"Alive": alive, "Resources": {"CPU": cpus, "memory": memory_gib * GIB}}


def test_a_request_no_alive_node_can_hold_is_said_with_the_largest_node() -> None:
    request = RunResources("ACU_2", 2.0, 8 * GIB)
    assert unsatisfiable_reason(request, [node(1, 4), node(2, 8)]) is None
    # Enough CPUs on one node, enough memory on another, or only on a dead one: never.
    reason = unsatisfiable_reason(request, [node(4, 4), node(1, 16), node(8, 32, alive=False)])
    assert reason is not None
    assert reason.startswith("computeType ACU_2 asks for 2 CPU and 8 GiB and no node")
    assert "(the largest has 4 CPU and 4 GiB)" in reason


def test_file_outputs_are_refused_only_with_a_cluster_elsewhere() -> None:
    outputs = ["file:///home/me/outputs/report/v1"]
    for address in ("127.0.0.1:6379", "localhost:6379", "[::1]:6379"):
        assert is_loopback(address)
        refuse_unreachable_outputs(address, outputs)
    refuse_unreachable_outputs("203.0.113.7:6379", ["s3://bucket/report/v1"])
    with pytest.raises(IotaError) as refused:
        refuse_unreachable_outputs("203.0.113.7:6379", outputs)
    message = str(refused.value)
    assert "IOTA_OUTPUT_ROOT" in message and "203.0.113.7:6379" in message
    assert "\n" not in message
