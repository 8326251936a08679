"""Request bodies and fields no client of the API sends: deeply nested or oversized JSON,
numbers thousands of digits long. Each answers 400 with a one-line message, never a 500
(a RecursionError in the server), and nothing is queued or written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.jupyter.conftest import API, Fetch

DEEP = 100_000  # far past the interpreter's recursion limit
POSTS = ["jobs", "datasets", "datasets/validate", "repositories"]


async def post_text(jp_fetch: Fetch, path: str, text: str) -> tuple[int, dict[str, Any]]:
    try:
        response = await jp_fetch(API, *path.split("/"), method="POST", body=text)
    except HTTPClientError as e:
        assert e.response is not None
        response = e.response
    return response.code, json.loads(response.body.decode())


def nested(depth: int, key: str = "definition") -> str:
    return f'{{"{key}": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("depth", [65, 5_000, DEEP])
async def test_a_deeply_nested_body_is_a_400(jp_fetch: Fetch, path: str, depth: int) -> None:
    status, answer = await post_text(jp_fetch, path, nested(depth))
    assert status == 400, answer
    message = answer["message"]
    assert re.fullmatch(
        f"the request body of 'POST /(.*/)?{API}/{path}' is nested deeper than 64 levels: "
        "send the fields docs/jupyter-api.md describes",
        message,
    ), message
    assert answer["field"] is None


async def test_deep_arrays_are_refused_too(jp_fetch: Fetch) -> None:
    status, answer = await post_text(jp_fetch, "datasets/validate", "[" * DEEP + "]" * DEEP)
    assert status == 400 and "nested deeper than 64 levels" in answer["message"], answer


async def test_a_definition_a_few_levels_deep_is_still_validated(jp_fetch: Fetch) -> None:
    status, answer = await post_text(jp_fetch, "datasets/validate", nested(10))
    assert status == 200, answer
    assert answer["valid"] is False and answer["problems"]


async def test_an_oversized_body_is_a_400(jp_fetch: Fetch) -> None:
    padding = "x" * (5 << 20)
    status, answer = await post_text(jp_fetch, "jobs", f'{{"notebook": "{padding}"}}')
    assert status == 400, answer
    assert answer["message"].endswith(
        f"/{API}/jobs' is larger than 4 MiB: send the fields docs/jupyter-api.md describes"
    ), answer


async def test_nothing_is_queued_or_written(jp_fetch: Fetch, api: Any, iota_home: Path) -> None:
    await post_text(jp_fetch, "jobs", nested(DEEP))
    await post_text(jp_fetch, "datasets", nested(DEEP))
    _, listed = await api("GET", "jobs")
    assert listed["jobs"] == []
    assert not list(iota_home.rglob("*.json"))


@pytest.mark.parametrize("digits", ["1" * 5000, "9" * 19, "²", "1_000"])
async def test_a_number_field_that_is_no_number_we_read(api: Any, digits: str) -> None:
    status, answer = await api(
        "GET", "repositories", params={"registry": "localhost:5000", "maxResults": digits}
    )
    assert status == 400, answer
    assert answer["field"] == "maxResults"
    assert len(answer["message"]) < 120 and "\n" not in answer["message"]
