"""Jupyter's authentication and XSRF protection hold on every endpoint; a path outside
the root answers exactly as a missing file does."""

from __future__ import annotations

import json
import os
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from tests.jupyter.conftest import API
from tests.notebooks import write_notebook

GETS = ["variables", "schedule/preview", "repositories", "jobs", "jobs/abc", "jobs/abc/log"]
XSRF = "ab" * 16
POSTS = [
    "repositories",
    "jobs",
    "jobs/abc/cancel",
    "datasets/validate",
    "datasets",
    "datasets/x/runs",
]


async def _status(jp_fetch, path: str, **kwargs) -> int:
    try:
        response = await jp_fetch(API, path, **kwargs)
    except HTTPClientError as e:
        return e.code
    return response.code


@pytest.mark.parametrize("path", [*GETS, "datasets/x/contents/v/report"])
async def test_get_without_token_is_forbidden(jp_fetch, path: str) -> None:
    assert await _status(jp_fetch, path, headers={"Authorization": ""}) == 403


@pytest.mark.parametrize("path", POSTS)
async def test_post_without_token_is_forbidden(jp_fetch, path: str) -> None:
    status = await _status(jp_fetch, path, method="POST", body="{}", headers={"Authorization": ""})
    assert status == 403


async def test_cookie_auth_needs_the_xsrf_token(jp_fetch) -> None:
    """A browser session (login cookie) must send the XSRF token with a POST."""
    first = await jp_fetch(API, "jobs")
    cookies = SimpleCookie()
    for header in first.headers.get_list("Set-Cookie"):
        cookies.load(header)
    login = [name for name in cookies if name.startswith("username-")]
    assert login, first.headers
    cookie_header = f"{login[0]}={cookies[login[0]].value}"
    body = json.dumps({"definition": {}})
    wrong = await _status(
        jp_fetch,
        "datasets/validate",
        method="POST",
        body=body,
        headers={
            "Authorization": "",
            "Cookie": f"{cookie_header}; _xsrf={XSRF}",
            "X-XSRFToken": "00" * 16,
        },
    )
    assert wrong == 403
    without = await _status(
        jp_fetch,
        "datasets/validate",
        method="POST",
        body=body,
        headers={"Authorization": "", "Cookie": cookie_header},
    )
    assert without == 403
    with_token = await jp_fetch(
        API,
        "datasets/validate",
        method="POST",
        body=body,
        headers={
            "Authorization": "",
            # The double-submit check: the same token as a cookie and as a header.
            "Cookie": f"{cookie_header}; _xsrf={XSRF}",
            "X-XSRFToken": XSRF,
        },
    )
    assert with_token.code == 200
    # The cookie alone authenticates a GET.
    listed = await jp_fetch(API, "jobs", headers={"Authorization": "", "Cookie": cookie_header})
    assert listed.code == 200


@pytest.fixture
def outside(jp_root_dir: Path) -> Path:
    """A folder beside the root, with a real notebook in it, and links to it from inside."""
    folder = jp_root_dir.parent / "outside"
    write_notebook(folder / "secret.ipynb", "x = 1")
    os.symlink(folder / "secret.ipynb", jp_root_dir / "link.ipynb")
    os.symlink(folder / "gone.ipynb", jp_root_dir / "dangling.ipynb")
    os.symlink(folder, jp_root_dir / "linked-folder")
    return folder


ESCAPES = [
    "../outside/secret.ipynb",  # exists
    "../outside/missing.ipynb",  # does not
    "/etc/passwd",
    "link.ipynb",  # a link inside the root to a file outside
    "dangling.ipynb",
    "linked-folder/secret.ipynb",
    "sub/../../outside/secret.ipynb",
    "missing.ipynb",  # plainly missing, for comparison
]


@pytest.mark.parametrize("path", ESCAPES)
async def test_paths_outside_the_root_answer_as_missing(api, outside: Path, path: str) -> None:
    status, answer = await api("GET", "variables", params={"path": path})
    assert (status, answer) == (404, {"message": f"no such file: {path}", "field": "path"})


@pytest.mark.parametrize("path", ESCAPES)
async def test_job_paths_outside_the_root_answer_as_missing(api, outside: Path, path: str) -> None:
    status, answer = await api(
        "POST",
        "jobs",
        body={"notebook": path, "name": "x", "image": {"repository": "localhost:5000/a/b"}},
    )
    assert (status, answer) == (404, {"message": f"no such file: {path}", "field": "notebook"})


async def test_a_link_inside_the_root_to_a_file_inside_is_followed(api, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "real.ipynb", "x = 1")
    os.symlink(jp_root_dir / "real.ipynb", jp_root_dir / "alias.ipynb")
    status, answer = await api("GET", "variables", params={"path": "alias.ipynb"})
    assert status == 200, answer
    assert [v["name"] for v in answer["variables"]] == ["x"]
