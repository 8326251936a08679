"""Credential sources that answer too much: Docker configs and credential helpers (real
helper processes on PATH) whose output is endless, deep or silent. Each is one line naming
the source, never a MemoryError, a RecursionError or the secret."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from iota_container.image import auth
from iota_container.image.auth import CredentialError, DockerConfigCredentials
from iota_container.image.spec import RegistryCredentials


def install_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """`docker-credential-test` on PATH, running `body` (Python) after reading its stdin,
    and a Docker config that names it as the credsStore."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    helper = bin_dir / "docker-credential-test"
    helper.write_text(f"#!{sys.executable}\nimport json, sys, time\nsys.stdin.read()\n{body}\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir(exist_ok=True)
    config.write_text(json.dumps({"credsStore": "test"}))
    return config


def test_a_helper_that_answers_endlessly_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = install_helper(tmp_path, monkeypatch, "while True:\n    sys.stdout.write('x' * 65536)")
    with pytest.raises(CredentialError) as error:
        DockerConfigCredentials(config).credentials_for("r.example.com")
    assert str(error.value) == (
        "credential helper docker-credential-test answered more than 1,048,576 bytes for "
        "r.example.com: check it with `docker-credential-test get`"
    )


def test_a_helper_that_fills_stderr_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        "for _ in range(64):\n    sys.stderr.write('w' * 65536)\n"  # 4 MiB: past any pipe buffer
        "print(json.dumps({'Username': 'u', 'Secret': 's3cret'}))"
    )
    config = install_helper(tmp_path, monkeypatch, body)
    found = DockerConfigCredentials(config).credentials_for("r.example.com")
    assert found == RegistryCredentials(username="u", password="s3cret")


def test_a_deep_helper_answer_is_no_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = install_helper(tmp_path, monkeypatch, "print('[' * 100000 + ']' * 100000)")
    with pytest.raises(CredentialError, match=r"gave no Username and Secret for r\.example\.com"):
        DockerConfigCredentials(config).credentials_for("r.example.com")


def test_a_silent_helper_is_killed_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = install_helper(tmp_path, monkeypatch, "time.sleep(600)")
    monkeypatch.setattr(auth, "HELPER_TIMEOUT_SECONDS", 1)
    started = time.monotonic()
    with pytest.raises(CredentialError, match=r"did not answer for r\.example\.com \(Timeout"):
        DockerConfigCredentials(config).credentials_for("r.example.com")
    assert time.monotonic() - started < 30  # does not hang


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"auths": ' * 100 + "{}" + "}" * 100, "is nested deeper than 64 levels"),
        ('{"auths": {}, "x": "' + "y" * (1 << 20) + '"}', "is larger than 1 MiB"),
    ],
)
def test_a_docker_config_that_is_too_deep_or_large(
    tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(content)
    with pytest.raises(CredentialError) as error:
        DockerConfigCredentials(config).credentials_for("r.example.com")
    text = str(error.value)
    assert text.startswith(f"Docker config {config} cannot be read (") and message in text
    assert text.endswith("point DOCKER_CONFIG at another folder")
    assert "\n" not in text


def test_a_docker_config_that_is_a_device(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="/dev/zero' is larger than 1 MiB"):
        DockerConfigCredentials(Path("/dev/zero")).credentials_for("r.example.com")
