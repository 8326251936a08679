"""The platform an image's packages are resolved and installed for: the base image's
Python (version, ABI), C library, architecture and install paths.

A base built by scripts/build-base-image.sh records its environment in the label
`io.iota-container.environment`; other bases are described with --python-version and
--platform, assuming this project's layout (a venv in /opt/iota).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

from iota_container.environment.python_env import PythonEnvironment
from iota_container.errors import IotaError

ENVIRONMENT_LABEL = "io.iota-container.environment"
DEFAULT_PREFIX = "/opt/iota"
DEFAULT_GLIBC = "2.36"  # Debian bookworm, the default base's distribution
_ARCHITECTURES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_OLDEST_MANYLINUX_MINOR = 5
# PEP 600's names for the first manylinux tags, still what many wheels are published as.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


class PlatformError(IotaError):
    """The base image's platform is unknown or cannot be installed for."""


@dataclass(frozen=True)
class TargetPlatform:
    python_version: str  # major.minor: 3.11
    machine: str = "x86_64"
    glibc: str = DEFAULT_GLIBC  # "" where the C library is not glibc (no manylinux wheels)
    prefix: str = DEFAULT_PREFIX
    site_packages: str = ""
    scripts: str = ""
    include: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.python_version):
            raise PlatformError(
                f"Python version {self.python_version!r} is not MAJOR.MINOR of a Python 3: "
                "write e.g. --python-version 3.11"
            )
        if self.glibc and not re.fullmatch(r"2\.\d+", self.glibc):
            raise PlatformError(f"glibc version {self.glibc!r} is not 2.N: write e.g. 2.36")
        python = f"python{self.python_version}"
        defaults = {
            "site_packages": f"{self.prefix}/lib/{python}/site-packages",
            "scripts": f"{self.prefix}/bin",
            "include": f"{self.prefix}/include/site/{python}",
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)

    @property
    def interpreter(self) -> str:
        """What console scripts' shebangs name: the image's own Python."""
        return f"{self.scripts}/python"

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    def platform_tags(self) -> list[str]:
        """Wheel platform tags this platform runs, newest first (manylinux_2_36 ... 1)."""
        if not self.glibc:
            return [f"linux_{self.machine}"]
        newest = int(self.glibc.split(".")[1])
        tags = []
        for minor in range(newest, _OLDEST_MANYLINUX_MINOR - 1, -1):
            tags.append(f"manylinux_2_{minor}_{self.machine}")
            if minor in _LEGACY_MANYLINUX:
                tags.append(f"{_LEGACY_MANYLINUX[minor]}_{self.machine}")
        return tags

    def pip_arguments(self) -> list[str]:
        """pip's cross-platform target options: wheels only, for this interpreter."""
        arguments = ["--only-binary=:all:", "--python-version", self.python_version]
        arguments += ["--implementation", "cp", "--abi", self.abi, "--abi", "abi3", "--abi", "none"]
        for tag in self.platform_tags():
            arguments += ["--platform", tag]
        return arguments

    def describe(self) -> str:
        libc = f"glibc {self.glibc}" if self.glibc else "non-glibc"
        return f"CPython {self.python_version} ({self.abi}), {self.machine}, {libc}"

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def of_environment(cls, environment: PythonEnvironment) -> TargetPlatform:
        interpreter = environment.interpreter
        if interpreter.implementation != "cpython":
            raise PlatformError(
                f"the base's Python is {interpreter.implementation}, not CPython: "
                "packages are installed for CPython bases only"
            )
        return cls(
            python_version=interpreter.minor_version,
            machine=interpreter.machine,
            glibc=interpreter.libc_version if interpreter.libc == "glibc" else "",
            prefix=interpreter.prefix,
            site_packages=interpreter.purelib,
            scripts=interpreter.scripts,
            # Not interpreter.include: in a venv that is the system's /usr/include, and
            # pip puts a venv's headers under the venv (the default).
        )

    @classmethod
    def of_options(cls, python_version: str, platform: str | None) -> TargetPlatform:
        """From --python-version and --platform (`linux/amd64`, `linux/arm64`)."""
        machine = "x86_64"
        if platform:
            os_name, _, architecture = platform.partition("/")
            machine = _ARCHITECTURES.get(architecture.split("/")[0], "")
            if os_name != "linux" or not machine:
                raise PlatformError(
                    f"--platform {platform!r} is not one this can install for: "
                    "use linux/amd64 or linux/arm64"
                )
        return cls(python_version=python_version, machine=machine)


def base_environment(labels: dict[str, str] | None) -> PythonEnvironment | None:
    """The base's environment from its label, or None for a base without one."""
    text = (labels or {}).get(ENVIRONMENT_LABEL)
    if not text:
        return None
    from iota_container.limits import REGISTRY_DOCUMENT_LIMITS, loads_json

    try:
        document = loads_json(
            text,
            REGISTRY_DOCUMENT_LIMITS,
            "the base image's label",
            ENVIRONMENT_LABEL,
            fix=_REBUILD,
        )
        return PythonEnvironment.from_json(document)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise PlatformError(
            f"the base image's {ENVIRONMENT_LABEL} label is unreadable ({e}): {_REBUILD}"
        ) from e


_REBUILD = "rebuild the base with scripts/build-base-image.sh"
