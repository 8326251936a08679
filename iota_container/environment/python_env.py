"""A Python environment as typed facts: its interpreter, its installed distributions and
where modules come from, read by running `probe.py` in that environment's interpreter.

Two environments matter to a build: the notebook kernel's (what the notebook ran with)
and the base image's (what the image already has, recorded in the base's label)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iota_container.errors import IotaError

PROBE_TIMEOUT_SECONDS = 120


class EnvironmentProbeError(IotaError):
    """The kernel's interpreter could not be asked what it has installed."""


def normalize(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Interpreter:
    executable: str
    prefix: str
    version: str  # 3.11.7
    implementation: str  # cpython
    soabi: str  # cpython-311-x86_64-linux-gnu
    machine: str  # x86_64, aarch64
    libc: str  # glibc, or "" (musl and others)
    libc_version: str  # 2.36
    purelib: str
    platlib: str
    scripts: str
    data: str
    include: str
    pyc_magic: str = ""

    @property
    def minor_version(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class InstalledDistribution:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    top_level: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # first path components of its files in site-packages
    direct_url: Mapping[str, Any] | None = None  # PEP 610: installed from a URL or a path
    location: str = ""

    @property
    def key(self) -> str:
        return normalize(self.name)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "requires": list(self.requires),
            "top_level": list(self.top_level),
            "paths": list(self.paths),
        }
        if self.direct_url:
            document["direct_url"] = dict(self.direct_url)
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> InstalledDistribution:
        return cls(
            name=str(document["name"]),
            version=str(document["version"]),
            requires=tuple(document.get("requires") or ()),
            top_level=tuple(document.get("top_level") or ()),
            paths=tuple(document.get("paths") or ()),
            direct_url=document.get("direct_url"),
            location=str(document.get("location") or ""),
        )

    @property
    def local_source(self) -> str | None:
        """The path or URL it was installed from, when not from an index."""
        if not self.direct_url:
            return None
        url = str(self.direct_url.get("url", ""))
        editable = bool((self.direct_url.get("dir_info") or {}).get("editable"))
        if url.startswith("file:") or editable or "vcs_info" in self.direct_url:
            return url
        return None


@dataclass(frozen=True)
class ModuleOrigin:
    kind: str  # stdlib | local | installed | missing
    origin: str = ""
    package: bool = False  # a local package (folder), not a single file


@dataclass(frozen=True)
class PythonEnvironment:
    interpreter: Interpreter
    markers: Mapping[str, str]
    stdlib: frozenset[str]
    distributions: Mapping[str, InstalledDistribution]  # by normalized name
    modules: Mapping[str, ModuleOrigin] = field(default_factory=dict)

    def distribution(self, name: str) -> InstalledDistribution | None:
        return self.distributions.get(normalize(name))

    def providers(self, module: str) -> list[InstalledDistribution]:
        """The distributions that install top-level `module`."""
        return [d for d in self.distributions.values() if module in d.top_level]

    def provided_modules(self) -> frozenset[str]:
        return frozenset(m for d in self.distributions.values() for m in d.top_level)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PythonEnvironment:
        fields = Interpreter.__dataclass_fields__
        interpreter = Interpreter(
            **{k: str(v) for k, v in document["interpreter"].items() if k in fields}
        )
        distributions = {
            normalize(str(d["name"])): InstalledDistribution.from_json(d)
            for d in (document.get("distributions") or {}).values()
        }
        modules = {
            name: ModuleOrigin(
                str(m.get("kind")), str(m.get("origin") or ""), bool(m.get("package"))
            )
            for name, m in (document.get("modules") or {}).items()
        }
        return cls(
            interpreter=interpreter,
            markers={k: str(v) for k, v in (document.get("markers") or {}).items()},
            stdlib=frozenset(document.get("stdlib") or ()),
            distributions=distributions,
            modules=modules,
        )

    def to_json(self, with_modules: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "interpreter": dict(self.interpreter.__dict__),
            "markers": dict(self.markers),
            "stdlib": sorted(self.stdlib),
            "distributions": {key: d.to_json() for key, d in sorted(self.distributions.items())},
        }
        if with_modules:
            document["modules"] = {k: dict(v.__dict__) for k, v in self.modules.items()}
        return document


def probe_source() -> str:
    return (Path(__file__).parent / "probe.py").read_text(encoding="utf-8")


def probe_command() -> str:
    """The `-c` program that runs the probe. It runs in the notebook's folder, as the
    kernel does (a pyenv shim picks its Python from that folder's .python-version), and
    `-c` puts that folder first on sys.path: the first line takes it off, so that a
    `json.py` or `platform.py` beside the notebook is not imported, let alone run, by
    the probe's own imports."""
    return (
        "import sys\n"
        "if sys.path and sys.path[0] in ('', '.'):\n"
        "    del sys.path[0]\n"
        f"exec(compile({probe_source()!r}, 'iota-container-probe', 'exec'))\n"
    )


def probe_environment(
    argv: Sequence[str],
    modules: Iterable[str] = (),
    directory: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> PythonEnvironment:
    """Ask the interpreter `argv` (e.g. a kernel's Python) about itself. It runs the probe's
    source with `-c`, so that environment needs nothing of this package."""
    # Only a base image's label needs each distribution's paths (`python -m
    # iota_container.environment` writes them), not the kernel's.
    from iota_container.environment.probe_cache import (
        cache_file,
        cached_distributions,
        keep_distributions,
    )

    kept_at = cache_file(argv, env or {})
    kept = cached_distributions(kept_at)
    request = json.dumps(
        {
            "modules": sorted(set(modules)),
            "directory": str(directory or ""),
            "paths": False,
            "known_fingerprint": kept[0] if kept else "",
        }
    )
    document = _run_probe(argv, request, directory, env)
    try:
        if document.get("distributions_unchanged") and kept is not None:
            document["distributions"] = kept[1]
        elif document.get("fingerprint"):
            keep_distributions(kept_at, document["fingerprint"], document["distributions"])
        return PythonEnvironment.from_json(document)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise EnvironmentProbeError(
            f"the kernel's Python {argv[0]!r} gave an unreadable description ({e}): "
            "is it Python 3.9 or newer?"
        ) from e


def _run_probe(
    argv: Sequence[str], request: str, directory: Path | None, env: Mapping[str, str] | None
) -> dict[str, Any]:
    command = [*argv, "-c", probe_command()]
    try:
        answer = subprocess.run(
            command,
            input=request,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            env={**os.environ, **(env or {})},
            cwd=str(directory) if directory else None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EnvironmentProbeError(
            f"cannot run the kernel's Python {argv[0]!r} ({e}): check the kernel's installation "
            "(jupyter kernelspec list), or choose another with --kernel"
        ) from e
    if answer.returncode != 0:
        last = (answer.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentProbeError(
            f"the kernel's Python {argv[0]!r} failed to describe its packages ({last}): "
            "check the kernel's installation, or choose another with --kernel"
        )
    try:
        document = json.loads(answer.stdout)
        if not isinstance(document, dict):
            raise TypeError(f"a JSON {type(document).__name__}, not an object")
        return document
    except (ValueError, TypeError) as e:
        raise EnvironmentProbeError(
            f"the kernel's Python {argv[0]!r} gave an unreadable description ({e}): "
            "is it Python 3.9 or newer?"
        ) from e
