"""The requirements lock: exactly which distributions an analysis image adds to its base.

Detection fills it from the notebook kernel's environment (`Pin`s at the versions the
notebook ran with, plus requirements to resolve where the kernel has nothing that fits);
a build resolves it for the base image's platform, which adds each wheel's name and
sha256. One codec (`to_json` / `from_json`) serves the image label, `requirements --json`
and the Jupyter API.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from iota_container.environment.python_env import normalize

LOCK_FORMAT = 1


@dataclass(frozen=True)
class Pin:
    """One distribution at one version."""

    name: str
    version: str
    modules: tuple[str, ...] = ()  # top-level modules the notebook imports from it
    required_by: tuple[str, ...] = ()  # distributions that need it; empty: asked for directly
    sha256: str = ""  # of the wheel installed for the image's platform, once resolved
    wheel: str = ""

    @property
    def key(self) -> str:
        return normalize(self.name)

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "distribution": self.name,
            "version": self.version,
            "modules": list(self.modules),
        }
        if self.required_by:
            document["required_by"] = list(self.required_by)
        if self.sha256:
            document["sha256"] = self.sha256
            document["wheel"] = self.wheel
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Pin:
        """A pin read from a label or a file: names, versions and hashes are checked, so
        that a hostile label cannot write pip options into a requirements file."""
        if not isinstance(document, Mapping):
            raise ValueError(f"a lock's distribution is not an object: {document!r:.60}")
        name, version = document.get("distribution"), document.get("version")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"a lock's distribution name {name!r:.60} is not a name")
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise ValueError(f"{name}'s version {version!r:.60} is not a version")
        sha256 = document.get("sha256") or ""
        if not isinstance(sha256, str) or not re.fullmatch(r"(?:[0-9a-f]{64})?", sha256):
            raise ValueError(f"{name}'s sha256 {sha256!r:.80} is not 64 hex digits")
        return cls(
            name=name,
            version=version,
            modules=_strings(document.get("modules"), f"{name}'s modules"),
            required_by=_strings(document.get("required_by"), f"{name}'s required_by"),
            sha256=sha256,
            wheel=str(document.get("wheel") or ""),
        )


# PEP 508 names; versions as installers write them (PEP 440 and legacy ones), no spaces.
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]*")


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{what} is not a list of strings")
    return tuple(value)


@dataclass(frozen=True)
class Lock:
    """Pins (sorted by name) and requirements still to be resolved for the image's
    platform (a `%pip install seaborn` the kernel does not have, a --requirements file)."""

    pins: tuple[Pin, ...] = ()
    unresolved: tuple[str, ...] = ()
    python_version: str = ""  # the Python it is resolved for, once resolved

    def __post_init__(self) -> None:
        keys = [pin.key for pin in self.pins]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"a lock pins {', '.join(duplicates)} more than once")
        object.__setattr__(self, "pins", tuple(sorted(self.pins, key=lambda p: p.key)))

    @property
    def empty(self) -> bool:
        return not self.pins and not self.unresolved

    @property
    def resolved(self) -> bool:
        return bool(self.python_version) and not self.unresolved

    def pin(self, name: str) -> Pin | None:
        key = normalize(name)
        return next((p for p in self.pins if p.key == key), None)

    def requirements_text(self) -> str:
        """A pip requirements file: the pins (with their hashes once resolved), then the rest."""
        lines = []
        for pin in self.pins:
            hashes = f" --hash=sha256:{pin.sha256}" if pin.sha256 else ""
            lines.append(pin.requirement + hashes)
        lines += self.unresolved
        return "".join(f"{line}\n" for line in lines)

    def request_key(self) -> str:
        """What the lock asks for, hashes and wheels aside: a cache key of its resolution."""
        asked = sorted(p.requirement for p in self.pins) + sorted(self.unresolved)
        return hashlib.sha256("\n".join(asked).encode()).hexdigest()

    def with_modules(self, modules: Mapping[str, Iterable[str]]) -> Lock:
        """The same lock with `modules` (by distribution key) recorded on its pins."""
        pins = tuple(
            replace(p, modules=tuple(sorted(modules.get(p.key, p.modules)))) for p in self.pins
        )
        return replace(self, pins=pins)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": LOCK_FORMAT,
            "distributions": [pin.to_json() for pin in self.pins],
        }
        if self.unresolved:
            document["unresolved"] = list(self.unresolved)
        if self.python_version:
            document["python_version"] = self.python_version
        return document

    def to_label(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Lock:
        """The lock of `document`; ValueError (one line) for anything else."""
        if not isinstance(document, Mapping):
            raise ValueError(f"a lock is a JSON object, not {type(document).__name__}")
        if document.get("format", LOCK_FORMAT) != LOCK_FORMAT:
            raise ValueError(f"lock format {document.get('format')!r} is not {LOCK_FORMAT}")
        distributions = document.get("distributions") or []
        if not isinstance(distributions, list):
            raise ValueError("a lock's distributions are not a list")
        unresolved = _strings(document.get("unresolved"), "a lock's unresolved requirements")
        if any("\n" in line or "\r" in line for line in unresolved):
            raise ValueError("a lock's unresolved requirement holds a line break")
        return cls(
            pins=tuple(Pin.from_json(item) for item in distributions),
            unresolved=unresolved,
            python_version=str(document.get("python_version") or ""),
        )
