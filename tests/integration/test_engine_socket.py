"""The standard-library Docker Engine client (engine_socket.py) against the real engine:
framed logs, the engine's own error messages, a missing image, an event stream closed
from another thread, and where it looks for the engine."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from iota_container.docker_host import DEFAULT_SOCKET, local_socket_path
from iota_container.executors.engine_socket import EngineApiError, ImageMissing, UnixSocketEngine

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(docker_client: Any) -> UnixSocketEngine:  # docker_client: an engine answers
    return UnixSocketEngine(local_socket_path() or DEFAULT_SOCKET, timeout=60)


@pytest.fixture
def container_names(engine: UnixSocketEngine) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(EngineApiError):  # never created
            engine.remove_container(name, force=True)


def create(engine: UnixSocketEngine, image: str, names: list[str], **config: Any) -> str:
    name = f"iota-socket-test-{uuid.uuid4().hex[:8]}"
    names.append(name)
    host_config = engine.create_host_config(
        binds={},
        mem_limit=256 * 2**20,
        memswap_limit=256 * 2**20,
        nano_cpus=10**9,
        network_mode="none",
    )
    created = engine.create_container(
        image,
        name=name,
        environment=config.get("environment", {}),
        labels={"test": "1"},
        host_config=host_config,
    )
    return str(created["Id"])


def test_a_container_runs_and_its_two_streams_come_back_without_frame_headers(
    engine: UnixSocketEngine, base_image: str, container_names: list[str]
) -> None:
    container = create(engine, base_image, container_names, environment={"WORD": "hé"})
    # The base image's entrypoint is `iota-container run`: without a params file it says
    # so on stderr and exits 2, after which its inspect shows the limits asked for.
    engine.start(container)
    assert engine.wait(container, timeout=None)["StatusCode"] == 2
    logs = engine.logs(container, stdout=True, stderr=True)
    assert b"params" in logs and b"\x00\x00\x00" not in logs
    state = engine.inspect_container(container)
    assert state["HostConfig"]["Memory"] == 256 * 2**20
    assert state["HostConfig"]["NanoCpus"] == 10**9
    assert "WORD=hé" in state["Config"]["Env"]


def test_the_engine_s_own_message_is_kept(
    engine: UnixSocketEngine, base_image: str, container_names: list[str]
) -> None:
    host_config = engine.create_host_config(
        binds={}, mem_limit=2**30, memswap_limit=2**30, nano_cpus=10**9, network_mode="none"
    )
    with pytest.raises(EngineApiError) as raised:
        engine.create_container(
            base_image, name="bad name!", environment={}, labels={}, host_config=host_config
        )
    assert raised.value.status == 400
    assert "Invalid container name" in raised.value.explanation


def test_a_missing_image_is_its_own_error(engine: UnixSocketEngine) -> None:
    host_config = engine.create_host_config(
        binds={}, mem_limit=2**30, memswap_limit=2**30, nano_cpus=10**9, network_mode="none"
    )
    with pytest.raises(ImageMissing) as raised:
        engine.create_container(
            "iota-container/not-here:missing",
            name=f"iota-socket-test-{uuid.uuid4().hex[:8]}",
            environment={},
            labels={},
            host_config=host_config,
        )
    assert "iota-container/not-here" in raised.value.explanation


# A reader thread that dies of the close (instead of ending its loop) fails the test.
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_event_stream_ends_when_closed_from_another_thread(
    engine: UnixSocketEngine, base_image: str, container_names: list[str]
) -> None:
    container = create(engine, base_image, container_names)
    stream = engine.events(filters={"type": ["container"], "container": [container]})
    seen: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: seen.extend(stream))
    reader.start()
    engine.start(container)
    engine.wait(container, timeout=None)
    deadline = threading.Event()
    for _ in range(100):  # the `die` event arrives shortly after wait returns
        if any(event.get("Action") == "die" for event in seen):
            break
        deadline.wait(0.05)
    stream.close()
    reader.join(10)
    assert not reader.is_alive()
    assert {"start", "die"} <= {event.get("Action") for event in seen}


@pytest.mark.parametrize(
    ("docker_host", "expected"),
    [
        (None, DEFAULT_SOCKET),
        ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
        ("tcp://10.0.0.5:2376", None),
        ("ssh://builder@host", None),
    ],
)
def test_only_a_local_socket_is_served(docker_host: str | None, expected: str | None) -> None:
    environ = {} if docker_host is None else {"DOCKER_HOST": docker_host}
    assert local_socket_path(environ) == expected
