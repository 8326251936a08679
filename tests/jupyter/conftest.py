"""A real Jupyter server with the extension enabled (pytest_jupyter), its engine home in
the test's own folder."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

Fetch = Callable[..., Awaitable[HTTPResponse]]
API = "iota-container/api"


@pytest.fixture
def iota_home(tmp_path: Path) -> Path:
    return tmp_path / "iota-home"


@pytest.fixture
def jp_server_config(iota_home: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ext": True}},
        "IotaContainerExtension": {
            "iota_home": str(iota_home),
            "output_root": (iota_home / "outputs").as_uri(),
            "run_in_container": "process",
        },
    }


@pytest.fixture
def api(jp_fetch: Fetch) -> Callable[..., Awaitable[tuple[int, Any]]]:
    """`await api("GET", "jobs", params=...)` or `api("POST", "jobs", body={...})`:
    (status, decoded JSON), without raising on 4xx."""

    async def call(method: str, *path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        try:
            response = await jp_fetch(API, *path, method=method, **kwargs)
        except HTTPClientError as e:
            assert e.response is not None
            response = e.response
        text = response.body.decode()
        return response.code, json.loads(text) if text.startswith(("{", "[")) else text

    return call
