"""docker_host.py: where the Docker engine is, and how long it has to answer, for both the
build backend and the local executor. The engines here are real sockets: a missing one,
and listeners that accept a connection and then say nothing (a hung engine)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iota_container.docker_host import (
    CONNECT_TIMEOUT_ENV,
    DockerHostError,
    EngineUnreachable,
    connect_docker_py,
    connect_run_client,
    connect_timeout,
    engine_address,
    engine_answers,
)
from iota_container.engine.records import MODE_PROCESS
from iota_container.executors.local import LocalExecutor
from iota_container.image.backends import BackendSettings, backend_for
from iota_container.image.oci import OciBackend


@pytest.fixture
def silent_socket(tmp_path: Path) -> Iterator[str]:
    """A unix socket that accepts connections and never answers them."""
    path = str(tmp_path / "hung.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    yield path
    listener.close()


@pytest.fixture
def silent_tcp() -> Iterator[str]:
    """A TCP listener (the kind docker-py is used for) that accepts and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_the_address_is_docker_host_else_the_default_socket() -> None:
    assert engine_address({}) == "unix:///var/run/docker.sock"
    assert engine_address({"DOCKER_HOST": "tcp://10.0.0.5:2376"}) == "tcp://10.0.0.5:2376"


def test_the_connect_timeout_is_five_seconds_unless_set() -> None:
    assert connect_timeout({}) == 5.0
    assert connect_timeout({CONNECT_TIMEOUT_ENV: " 0.25 "}) == 0.25


@pytest.mark.parametrize("text", ["soon", "0", "-1", "inf", "nan"])
def test_a_bad_connect_timeout_names_the_setting_and_the_fix(text: str) -> None:
    with pytest.raises(DockerHostError) as refused:
        connect_timeout({CONNECT_TIMEOUT_ENV: text})
    assert str(refused.value) == (
        f"{CONNECT_TIMEOUT_ENV} {text!r} is not a number of seconds: set it to a positive "
        f"number, e.g. {CONNECT_TIMEOUT_ENV}=5"
    )


def test_a_missing_socket_is_unreachable_at_its_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(EngineUnreachable) as refused:
        connect_run_client(call_timeout=60)
    assert refused.value.address == f"unix://{tmp_path}/none.sock"
    assert "No such file or directory" in refused.value.reason
    assert refused.value.needed_by("a build", "start it").startswith(
        f"a build needs a Docker engine, and none answers at unix://{tmp_path}/none.sock ("
    )
    assert engine_answers() is False


def test_a_hung_local_engine_is_given_up_after_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch, silent_socket: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{silent_socket}")
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "0.3")
    started = time.monotonic()
    with pytest.raises(EngineUnreachable, match="timed out"):
        connect_run_client(call_timeout=60)
    assert 0.25 < time.monotonic() - started < 3


def test_a_hung_remote_engine_is_given_up_after_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch, silent_tcp: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", silent_tcp)
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "1")
    started = time.monotonic()
    with pytest.raises(EngineUnreachable) as refused:
        connect_docker_py(call_timeout=60)
    assert refused.value.address == silent_tcp
    assert 0.9 < time.monotonic() - started < 5


def test_executor_and_backend_both_give_up_on_a_hung_engine_within_the_setting(
    monkeypatch: pytest.MonkeyPatch, silent_socket: str
) -> None:
    """The automatic choices, a container or a process and the docker or the oci
    backend, wait for the same engine the same time."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{silent_socket}")
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "0.3")
    started = time.monotonic()
    assert LocalExecutor().choose_mode(use_container=None) == MODE_PROCESS
    assert isinstance(backend_for(None, BackendSettings()), OciBackend)
    assert 0.5 < time.monotonic() - started < 4
    with pytest.raises(Exception, match=r"^a container run needs a Docker engine, and none"):
        LocalExecutor().choose_mode(use_container=True)


def test_a_hung_engine_fails_the_object_client_too(
    monkeypatch: pytest.MonkeyPatch, silent_tcp: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", silent_tcp)
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "1")
    with pytest.raises(EngineUnreachable):
        connect_docker_py(call_timeout=60, objects=True)


def test_clients_of_a_live_engine_get_the_callers_timeout(docker_client: Any) -> None:
    """docker_client: an engine answers (else the test is skipped, or fails in CI)."""
    low_level = connect_docker_py(call_timeout=42)
    objects = connect_docker_py(call_timeout=43, objects=True)
    run_client = connect_run_client(call_timeout=44)
    try:
        assert (low_level.timeout, objects.api.timeout, run_client.timeout) == (42, 43, 44)
        assert objects.images.list() is not None
        assert engine_answers() is True
    finally:
        low_level.close()
        objects.close()
