"""Registry messages that name a fix that works: a repository written as a URL, and the
credentials a registry wants (the options and settings that exist, not a `--password`
flag). Through the CLI, as users meet them; a real registry where one answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iota_container.image.reference import ImageReferenceError, parse_reference
from tests.notebooks import write_notebook
from tests.registry import RegistryServer, TlsFiles
from tests.support import REGISTRY_USER, run_cli

pytestmark = pytest.mark.integration

# `--password` alone (or followed by '/', ',', ' ') is a flag that does not exist.
NO_SUCH_FLAG = re.compile(r"--password(?![-\w])")
SOURCES = Path(__file__).resolve().parents[2] / "iota_container"


def error_line(result: object) -> str:
    stderr = str(getattr(result, "stderr", ""))
    assert getattr(result, "returncode", None) == 2, stderr
    assert "Traceback" not in stderr
    return stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        (
            "http://localhost:5000/team/analysis:v1",
            "write 'localhost:5000/team/analysis:v1', with --plain-http for a registry that "
            "speaks only HTTP (a loopback one needs none)",
        ),
        ("https://r.example.com/team/analysis", "write 'r.example.com/team/analysis' (https is"),
        ("HTTPS://r.example.com/a@sha256:" + "a" * 64, "write 'r.example.com/a@sha256:"),
        ("oci://r.example.com/a", "write 'r.example.com/a'"),
    ],
)
def test_a_url_is_not_a_reference_and_the_message_says_what_is(text: str, advice: str) -> None:
    with pytest.raises(ImageReferenceError) as error:
        parse_reference(text)
    message = str(error.value)
    assert message.startswith(f"image reference {text!r} is a URL: drop the scheme and ")
    assert advice in message


def test_build_to_an_http_url_names_the_plain_http_option(
    tmp_path: Path, registry: RegistryServer
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "limit = 3")
    line = error_line(
        run_cli(
            "build", str(notebook), "-r", f"http://{registry.address}/x/y:v1", "--backend", "oci"
        )
    )
    assert line == (
        f"error: image reference 'http://{registry.address}/x/y:v1' is a URL: drop the scheme "
        f"and write '{registry.address}/x/y:v1', with --plain-http for a registry that speaks "
        "only HTTP (a loopback one needs none)"
    )
    # What the message says works: the same registry, without the scheme, with the option.
    result = run_cli(
        "image", "inspect", f"{registry.address}/no/such:1", "--plain-http", timeout=60
    )
    assert "does not exist" in error_line(result)


def test_inspect_of_an_https_url(registry: RegistryServer) -> None:
    line = error_line(run_cli("image", "inspect", f"https://{registry.address}/x/y:1"))
    assert f"drop the scheme and write '{registry.address}/x/y:1' (https is the default)" in line


def test_missing_credentials_name_the_ways_that_exist(
    auth_registry: RegistryServer, registry_tls: TlsFiles
) -> None:
    line = error_line(
        run_cli(
            "image",
            "inspect",
            f"{auth_registry.address}/private/image:1",
            "--ca-bundle",
            str(registry_tls.certificate),
            env={"DOCKER_CONFIG": str(registry_tls.certificate.parent / "no-docker-config")},
        )
    )
    assert line == (
        f"error: registry {auth_registry.address} requires credentials for private/image: "
        "give them with IOTA_REGISTRY_USERNAME and IOTA_REGISTRY_PASSWORD, "
        f"`docker login {auth_registry.address}`, or (build) --username with --password-stdin"
    )


def test_a_user_name_without_a_password(tmp_path: Path, auth_registry: RegistryServer) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "limit = 3")
    line = error_line(
        run_cli(
            "build",
            str(notebook),
            "-r",
            f"{auth_registry.address}/x/y:v1",
            "--backend",
            "oci",
            "--username",
            REGISTRY_USER[0],
        )
    )
    assert line == (
        "error: a registry user name needs its password and the other way round: give both "
        "--username and --password-stdin (or set IOTA_REGISTRY_PASSWORD), or neither"
    )


def test_no_message_suggests_a_password_flag() -> None:
    """The password is never a flag (it would sit in the shell history and `ps`)."""
    offenders = [
        f"{path.relative_to(SOURCES.parent)}:{number}"
        for path in sorted(SOURCES.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if NO_SUCH_FLAG.search(line)
    ]
    assert offenders == []
