"""How a build decides the packages of its image: the options, as one typed value that
the CLI, containerize() and the Jupyter API fill in and the build backends read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackageOptions:
    detect: bool = True  # False: --no-requirements (the image adds no packages)
    requirements_file: Path | None = None  # replaces what detection would lock
    requirement_lines: tuple[str, ...] | None = None  # the same, as edited (Jupyter wizard)
    includes: tuple[Path, ...] = ()  # more files beside the notebook (--include)
    python_version: str | None = None  # describe a base without an environment label
    platform: str | None = None  # linux/amd64 | linux/arm64, with python_version
