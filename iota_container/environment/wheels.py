"""Wheels for the image's platform, resolved and fetched on the build machine by pip.

`pip download` with pip's cross-platform target options (--platform, --python-version,
--implementation, --abi, --only-binary=:all:) resolves the lock for the base's Python,
whatever Python runs this command, and needs no container. What the base already has is
passed as constraints, so that the resolution keeps the base's versions wherever they
fit. pip's own configuration applies (index URL, proxy certificates, its HTTP cache).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from iota_container.environment.lock import Lock, Pin
from iota_container.environment.platform import TargetPlatform
from iota_container.errors import IotaError

PIP_TIMEOUT_SECONDS = 1800
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_NO_VERSION = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)"
    r"(?: \(from versions: (?P<versions>[^)]*)\))?"
)
_CONFLICT = re.compile(r"Cannot install (.+?) because these package versions have conflicting")
_PROGRESS = re.compile(r"^\s*(Collecting|Downloading)\b")
_RESOLVED_FILE = re.compile(r"^\s*(?:Saved|File was already downloaded) (?P<path>.+\.whl)\s*$")


class WheelResolutionError(IotaError):
    """pip could not find wheels of the lock for the image's platform."""


@dataclass(frozen=True)
class FetchedWheel:
    path: Path
    name: str
    version: str
    sha256: str


def fetch_wheels(
    lock: Lock,
    platform: TargetPlatform,
    destination: Path,
    constraints: Iterable[str] = (),
    on_line: Callable[[str], None] | None = None,
    kernel_python: str = "",
) -> list[FetchedWheel]:
    """Resolve `lock` for `platform` and download its wheels into `destination`.
    `kernel_python`: the version of the Python the lock was detected in, for messages."""
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="iota-pip-") as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text(lock.requirements_text(), encoding="utf-8")
        command = [
            sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
            "--no-input", "--progress-bar", "off", "--dest", str(destination),
            *platform.pip_arguments(), "-r", str(requirements),
        ]  # fmt: skip
        constraint_lines = [
            c for c in constraints if canonicalize_name(_name(c)) not in _keys(lock)
        ]
        if constraint_lines:
            constraints_file = Path(folder) / "constraints.txt"
            constraints_file.write_text("".join(f"{c}\n" for c in constraint_lines), "utf-8")
            command += ["-c", str(constraints_file)]
        output = _run_pip(
            command, on_line, lambda lines: _pip_error(lines, platform, kernel_python)
        )
    return _wheels(_resolved_files(output))


def _run_pip(
    command: list[str],
    on_line: Callable[[str], None] | None,
    error: Callable[[list[str]], WheelResolutionError],
) -> list[str]:
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
    except OSError as e:
        raise WheelResolutionError(
            f"cannot run pip ({e}): install pip beside iota-container"
        ) from e
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if on_line is not None and _PROGRESS.match(line):
            on_line(line.strip())
    if process.wait(PIP_TIMEOUT_SECONDS) != 0:
        raise error(lines)
    return lines


def _pip_error(
    lines: list[str], platform: TargetPlatform, kernel_python: str = ""
) -> WheelResolutionError:
    """pip's failure as one line: the package, the image's platform, what exists there,
    and the fix that fits (another pin, another base, or a build from source)."""
    text = "\n".join(lines)
    where = f"the image's platform ({platform.describe()})"
    kernel_minor = ".".join(kernel_python.split(".")[:2])
    other_python = bool(kernel_minor) and kernel_minor != platform.python_version
    kernel = (
        f"; the lock has the versions of the notebook's kernel, which runs Python "
        f"{kernel_python}, not the image's {platform.python_version}"
        if other_python
        else ""
    )
    docker = "build with --backend docker (pip then builds it from source in the image)"
    found = _NO_VERSION.search(text) or _NO_MATCH.search(text)
    if found:
        requirement = found[1]
        versions = [
            v.strip()
            for v in ((found.groupdict().get("versions") or "").split(","))
            if v.strip() and v.strip() != "none"
        ]
        if not versions:
            return WheelResolutionError(
                f"no wheel of {requirement} for {where}{kernel}: no version of it has one "
                f"there (a source distribution only?): {docker}, or choose a base whose "
                "platform has a wheel"
            )
        pin = f"pin {_name(requirement)}=={versions[-1]} with --requirements"
        # A release for a newer Python than the image's cannot be built from source there.
        fix = f"{pin}, or choose a base with Python {kernel_minor}" if other_python else (
            f"{pin}, choose another base, or {docker}"
        )  # fmt: skip
        return WheelResolutionError(
            f"no wheel of {requirement} for {where}{kernel}; the newest version with one "
            f"there is {versions[-1]}: {fix}"
        )
    match = _CONFLICT.search(text)
    if match:
        causes = "; ".join(_conflict_causes(lines)) or match[1]
        return WheelResolutionError(
            f"the requirements conflict for {where} ({causes}){kernel}: keep versions "
            "that fit together, or pass your own --requirements"
        )
    errors = [line for line in lines if line.startswith("ERROR:")] or lines[-1:] or ["no output"]
    return WheelResolutionError(
        f"pip could not fetch the wheels for {where} ({errors[0]}){kernel}: {docker}, choose "
        "a base whose platform has a wheel, or pin another version with --requirements"
    )


def _conflict_causes(lines: list[str]) -> list[str]:
    """pip's "The conflict is caused by:" lines (`a 1.0 depends on b<2`), in the words of
    this build: a constraint is the base image's version, a request is the lock's."""
    causes: list[str] = []
    reading = False
    for line in lines:
        if line.strip() == "The conflict is caused by:":
            reading = True
        elif reading and line.startswith(" ") and line.strip():
            cause = line.strip().replace("The user requested (constraint) ", "the base has ")
            causes.append(cause.replace("The user requested ", "the lock asks for "))
        elif reading:
            break
    return causes


def _resolved_files(lines: list[str]) -> list[Path]:
    """The wheel files of this resolution, as pip names them: the destination also holds
    wheels of earlier resolutions (other versions), which this one may not want."""
    files = []
    for line in lines:
        match = _RESOLVED_FILE.match(line)
        if match:
            files.append(Path(match["path"]))
    return files


def _wheels(paths: Iterable[Path]) -> list[FetchedWheel]:
    wheels = []
    for path in sorted(set(paths)):
        try:
            name, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        wheels.append(FetchedWheel(path, str(name), str(version), _sha256(path)))
    return wheels


def resolved_lock(asked: Lock, wheels: Iterable[FetchedWheel], platform: TargetPlatform) -> Lock:
    """The lock as resolved: one pin per wheel, keeping what detection knew of each."""
    pins = []
    for wheel in wheels:
        known = asked.pin(wheel.name)
        pins.append(
            Pin(
                name=known.name if known else wheel.name,
                version=wheel.version,
                modules=known.modules if known else (),
                required_by=known.required_by if known else (),
                sha256=wheel.sha256,
                wheel=wheel.path.name,
            )
        )
    return Lock(tuple(pins), python_version=platform.python_version)


def _keys(lock: Lock) -> set[str]:
    return {pin.key for pin in lock.pins} | {canonicalize_name(_name(r)) for r in lock.unresolved}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
