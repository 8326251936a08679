from __future__ import annotations

import pytest

from iota_container.image.registry import is_loopback
from iota_container.image.registry_auth import parse_challenge, repository_scope


def test_bearer_challenge_with_several_scopes() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push repository:base/c:pull",error="insufficient_scope"'
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params["realm"] == "https://auth.example.com/token"
    assert challenge.params["service"] == "registry.example.com"
    assert challenge.scopes == ("repository:a/b:pull,push", "repository:base/c:pull")


def test_basic_challenge_and_quoted_escapes() -> None:
    challenge = parse_challenge(r'Basic realm="say \"hi\"", charset=UTF-8')
    assert challenge is not None
    assert challenge.scheme == "basic"
    assert challenge.params == {"realm": 'say "hi"', "charset": "UTF-8"}
    assert challenge.scopes == ()
    assert parse_challenge("") is None and parse_challenge(None) is None


def test_repository_scopes() -> None:
    assert repository_scope("a/b", push=True) == "repository:a/b:pull,push"
    assert repository_scope("a/b", push=False) == "repository:a/b:pull"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("registry.example.com:5000", False),
        ("10.0.0.1:5000", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
