"""`iota-container build` and `image inspect` refusing bad input: one line naming the value
and the fix, exit code 2, and nothing pushed. Real registry processes where one is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.notebooks import write_notebook
from tests.registry import RegistryServer
from tests.servers import free_port
from tests.support import run_cli

pytestmark = pytest.mark.integration


def error_line(result: object) -> str:
    stderr = str(getattr(result, "stderr", ""))
    assert getattr(result, "returncode", None) == 2, stderr
    assert "Traceback" not in stderr
    return stderr.strip().splitlines()[-1]


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "nb.ipynb", "limit = 3", "print(limit)")


def build(*args: str) -> object:
    return run_cli("build", *args, "--backend", "oci")


def repositories(registry: RegistryServer) -> list[str]:
    answer = requests.get(f"{registry.url}/v2/_catalog", timeout=10).json()
    return list(answer.get("repositories") or [])


def test_not_a_notebook(tmp_path: Path, registry: RegistryServer) -> None:
    bogus = tmp_path / "bogus.ipynb"
    bogus.write_text("[1, 2]")
    line = error_line(build(str(bogus), "-r", f"{registry.address}/bad/nb:v1"))
    assert "is not a Jupyter notebook (no nbformat and cells)" in line


def test_no_code_cells(tmp_path: Path, registry: RegistryServer) -> None:
    text_only = write_notebook(tmp_path / "text.ipynb", "md:# just words")
    line = error_line(build(str(text_only), "-r", f"{registry.address}/bad/text:v1"))
    assert line == "error: the notebook has no code cells: nothing to run or parameterize"


@pytest.mark.parametrize(
    ("repository", "message"),
    [
        ("localhost:5000/Upper/case", "repository part 'Upper' is invalid"),
        ("localhost:5000/repo:bad tag", "empty or has spaces"),
        (f"localhost:5000/repo@sha256:{'a' * 64}", "has a digest"),
    ],
)
def test_repository_grammar(notebook: Path, repository: str, message: str) -> None:
    assert message in error_line(build(str(notebook), "-r", repository))


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            [{"name": "1abc", "type": "int"}],
            "variable name '1abc' is not a Python identifier",
        ),
        # As the `variables --json` of earlier versions wrote them: still read.
        ([{"name": "a", "python_type": "int"}] * 2, "variable 'a' is defined twice"),
        (
            [{"name": f"v{i}", "type": "int"} for i in range(51)],
            "51 variables, more than the 50",
        ),
        ({"not": "a list"}, "must hold a list of variables"),
    ],
)
def test_bad_variables_file(
    tmp_path: Path, notebook: Path, registry: RegistryServer, variables: object, message: str
) -> None:
    file = tmp_path / "variables.json"
    file.write_text(json.dumps(variables))
    target = f"{registry.address}/bad/variables:v1"
    line = error_line(build(str(notebook), "-r", target, "--variables", str(file)))
    assert message in line, line
    assert "bad/variables" not in repositories(registry)


def test_unreachable_registry(notebook: Path) -> None:
    port = free_port()  # nothing listens there
    line = error_line(
        build(str(notebook), "-r", f"127.0.0.1:{port}/x/y:v1", "--base", f"127.0.0.1:{port}/base:1")
    )
    assert f"127.0.0.1:{port}" in line and "reach" in line, line


def test_missing_base_image(notebook: Path, registry: RegistryServer) -> None:
    target = f"{registry.address}/bad/nobase:v1"
    line = error_line(
        build(str(notebook), "-r", target, "--base", f"{registry.address}/no/such-base:1")
    )
    assert "does not exist" in line and "--base" in line, line
    assert "bad/nobase" not in repositories(registry)


def test_refused_credentials(
    notebook: Path, auth_registry: RegistryServer, registry_tls: object
) -> None:
    result = run_cli(
        "build",
        str(notebook),
        "-r",
        f"{auth_registry.address}/x/y:v1",
        "--backend",
        "oci",
        "--username",
        "iota-tester",
        "--password-stdin",
        "--ca-bundle",
        str(registry_tls.certificate),
        "--base",
        f"{auth_registry.address}/base/any:1",
        input_text="wrong password",
    )
    line = error_line(result)
    assert "refused the credentials" in line, line
    assert "wrong password" not in str(getattr(result, "stderr", ""))


def test_requirements_and_no_requirements_exclude_each_other(
    tmp_path: Path, notebook: Path, registry: RegistryServer
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    line = error_line(
        build(
            str(notebook),
            "-r",
            f"{registry.address}/x/y:v1",
            "--requirements",
            str(requirements),
            "--no-requirements",
        )
    )
    assert line == "error: --requirements and --no-requirements exclude each other: keep one"


def test_docker_backend_without_an_engine(notebook: Path, tmp_path: Path) -> None:
    result = run_cli(
        "build",
        str(notebook),
        "-r",
        "localhost:5000/x/y:v1",
        "--backend",
        "docker",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )
    assert "--backend docker needs a Docker engine" in error_line(result)


def test_inspect_an_image_not_built_here(registry: RegistryServer, tmp_path: Path) -> None:
    line = error_line(run_cli("image", "inspect", f"{registry.address}/no/such:1"))
    assert "does not exist" in line, line
