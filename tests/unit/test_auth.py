from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from iota_container.image.auth import (
    ChainedCredentials,
    CredentialError,
    DockerConfigCredentials,
    EnvironmentCredentials,
    StaticCredentials,
)
from iota_container.image.spec import RegistryCredentials

# A credential helper that follows the protocol (`get`, server URL on stdin, JSON on stdout)
# and keeps a log of what it was asked, so tests can see the server URL it received.
HELPER = """#!{python}
import json, os, sys
server = sys.stdin.read().strip()
with open(os.environ["HELPER_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + " " + server + "\\n")
store = {{
    "helped.example.com": {{"Username": "helper-user", "Secret": "helper-secret"}},
    "https://index.docker.io/v1/": {{"Username": "hub-user", "Secret": "hub-secret"}},
    "token.example.com": {{"Username": "<token>", "Secret": "refresh-me"}},
}}
if server == "broken.example.com":
    print("keychain locked: unlock it first")
    sys.exit(1)
if server not in store:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps(dict(store[server], ServerURL=server)))
"""


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`docker-credential-test` on PATH; returns the file its invocations are logged to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable = bin_dir / "docker-credential-test"
    executable.write_text(HELPER.format(python=sys.executable))
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "helper.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HELPER_LOG", str(log))
    return log


def docker_config(tmp_path: Path, document: object) -> DockerConfigCredentials:
    folder = tmp_path / "docker"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(document))
    return DockerConfigCredentials(environ={"DOCKER_CONFIG": str(folder)})


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_auths_entries_by_host_or_url(tmp_path: Path) -> None:
    source = docker_config(
        tmp_path,
        {
            "auths": {
                "registry.example.com:5000": {"auth": basic("alice", "pa:ss")},
                "https://old.example.com/v1/": {"auth": basic("bob", "secret")},
                "https://index.docker.io/v1/": {"auth": basic("hub", "hub-pass")},
                "sso.example.com": {"identitytoken": "refresh-token"},
            }
        },
    )
    assert source.credentials_for("registry.example.com:5000") == RegistryCredentials(
        "alice", "pa:ss"
    )
    assert source.credentials_for("old.example.com") == RegistryCredentials("bob", "secret")
    assert source.credentials_for("docker.io") == RegistryCredentials("hub", "hub-pass")
    assert source.credentials_for("sso.example.com") == RegistryCredentials(
        identity_token="refresh-token"
    )
    assert source.credentials_for("registry.example.com") is None  # other port, other registry


def test_missing_config_means_no_credentials(tmp_path: Path) -> None:
    source = DockerConfigCredentials(environ={"DOCKER_CONFIG": str(tmp_path / "nowhere")})
    assert source.credentials_for("registry.example.com") is None


def test_broken_config_is_one_line_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "docker"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CredentialError) as error:
        DockerConfigCredentials(environ={"DOCKER_CONFIG": str(folder)}).credentials_for("r.io")
    assert str(folder / "config.json") in str(error.value) and "\n" not in str(error.value)


def test_malformed_auth_names_registry_not_secret(tmp_path: Path) -> None:
    source = docker_config(tmp_path, {"auths": {"r.example.com": {"auth": "bm90LWEtcGFpcg=="}}})
    with pytest.raises(CredentialError, match=r"auth` of r\.example\.com .*docker login"):
        source.credentials_for("r.example.com")


def test_cred_helpers_run_the_named_helper(tmp_path: Path, helper: Path) -> None:
    source = docker_config(
        tmp_path,
        {
            "credHelpers": {"helped.example.com": "test", "token.example.com": "test"},
            "auths": {"plain.example.com": {"auth": basic("plain", "pw")}},
        },
    )
    assert source.credentials_for("helped.example.com") == RegistryCredentials(
        "helper-user", "helper-secret"
    )
    assert source.credentials_for("token.example.com") == RegistryCredentials(
        identity_token="refresh-me"
    )
    assert source.credentials_for("plain.example.com") == RegistryCredentials("plain", "pw")
    # Only registries named in credHelpers went to the helper.
    assert helper.read_text().splitlines() == ["get helped.example.com", "get token.example.com"]


def test_creds_store_serves_every_registry_and_docker_hub_by_its_index_url(
    tmp_path: Path, helper: Path
) -> None:
    source = docker_config(tmp_path, {"credsStore": "test", "auths": {"docker.io": {}}})
    assert source.credentials_for("docker.io") == RegistryCredentials("hub-user", "hub-secret")
    assert source.credentials_for("unknown.example.com") is None
    assert helper.read_text().splitlines() == [
        "get https://index.docker.io/v1/",
        "get unknown.example.com",
    ]


def test_a_failing_helper_is_one_line_naming_it(tmp_path: Path, helper: Path) -> None:
    source = docker_config(tmp_path, {"credsStore": "test"})
    with pytest.raises(CredentialError) as error:
        source.credentials_for("broken.example.com")
    message = str(error.value)
    assert "docker-credential-test" in message and "keychain locked" in message
    assert "docker login broken.example.com" in message and "\n" not in message


def test_a_helper_not_on_path_says_so(tmp_path: Path) -> None:
    source = docker_config(tmp_path, {"credsStore": "nonexistent-helper"})
    with pytest.raises(
        CredentialError, match="docker-credential-nonexistent-helper is not on PATH"
    ):
        source.credentials_for("r.example.com")


def test_environment_credentials_need_both_values() -> None:
    both = {"IOTA_REGISTRY_USERNAME": "u", "IOTA_REGISTRY_PASSWORD": "secret"}
    assert EnvironmentCredentials(environ=both).credentials_for("r.io") == RegistryCredentials(
        "u", "secret"
    )
    assert EnvironmentCredentials(environ={}).credentials_for("r.io") is None
    with pytest.raises(CredentialError) as error:
        EnvironmentCredentials(environ={"IOTA_REGISTRY_PASSWORD": "secret"}).credentials_for("r.io")
    assert "IOTA_REGISTRY_USERNAME is not" in str(error.value)
    assert "secret" not in str(error.value)


def test_scoped_sources_answer_only_for_their_registry() -> None:
    env = {"IOTA_REGISTRY_USERNAME": "u", "IOTA_REGISTRY_PASSWORD": "p"}
    assert EnvironmentCredentials("target.io", env).credentials_for("base.io") is None
    assert StaticCredentials("target.io", "u", "p").credentials_for("base.io") is None
    assert StaticCredentials(None, "u", "p").credentials_for("base.io") == RegistryCredentials(
        "u", "p"
    )


def test_static_credentials_need_both_options() -> None:
    with pytest.raises(CredentialError, match="--username and --password"):
        StaticCredentials("r.io", "u", None)


def test_chain_takes_the_first_that_answers(tmp_path: Path) -> None:
    config = docker_config(tmp_path, {"auths": {"r.io": {"auth": basic("config", "c")}}})
    env = EnvironmentCredentials(
        "other.io", {"IOTA_REGISTRY_USERNAME": "e", "IOTA_REGISTRY_PASSWORD": "e"}
    )
    chain = ChainedCredentials([StaticCredentials("cli.io", "cli", "x"), env, config])
    assert chain.credentials_for("cli.io") == RegistryCredentials("cli", "x")
    assert chain.credentials_for("other.io") == RegistryCredentials("e", "e")
    assert chain.credentials_for("r.io") == RegistryCredentials("config", "c")
    assert chain.credentials_for("nobody.io") is None


def test_credentials_hide_the_password_in_repr() -> None:
    assert "hunter2" not in repr(RegistryCredentials("u", "hunter2"))
