"""Thin shim: all metadata lives in pyproject.toml. What it adds is the JupyterLab
frontend: built from jupyter_ext/ui (npm + @jupyter/builder, no Python build requirement)
and installed with the server's enabling config as data files, so that `pip install .`
gives a working extension with no separate JupyterLab build.

Where the frontend sources are absent (the runtime image's build context holds only
iota_container/), nothing is built and no data files are added. A frontend build newer
than its sources is reused. IOTA_SKIP_FRONTEND=1 skips the build (the wheel then ships
whatever jupyter_ext/labextension holds).
"""

from __future__ import annotations

import os
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


def run(command: list[str]) -> None:
    print("frontend:", " ".join(command), flush=True)
    subprocess.run(command, cwd=UI, check=True)


def build_frontend() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "building the JupyterLab extension needs Node.js 20+ and npm on PATH "
            "(apt-get install nodejs npm), or set IOTA_SKIP_FRONTEND=1 to install without it"
        )
    installed = UI / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < newest_mtime(
        [UI / "package.json", UI / "package-lock.json"]
    ):
        run([npm, "ci", "--no-audit", "--no-fund"])
    shutil.rmtree(LABEXTENSION, ignore_errors=True)  # hashed chunk names: drop old ones
    run([npm, "run", "build"])


def frontend_data_files() -> list[tuple[str, list[str]]]:
    if not (UI / "package.json").exists():
        return []
    if not os.environ.get("IOTA_SKIP_FRONTEND") and not frontend_is_fresh():
        build_frontend()
    data_files: dict[str, list[str]] = {}
    for path in sorted(p for p in LABEXTENSION.rglob("*") if p.is_file()):
        target = f"share/jupyter/labextensions/{EXTENSION_NAME}"
        folder = path.parent.relative_to(LABEXTENSION).as_posix()
        target = target if folder == "." else f"{target}/{folder}"
        data_files.setdefault(target, []).append(path.relative_to(ROOT).as_posix())
    # install.json tells `jupyter labextension list` which Python package installed it.
    # Skipped and never built: nothing to install (the server extension still is).
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
