"""The dependency layer: the lock's wheels installed into the base's own environment
layout, as one reproducible layer, cached on the build machine.

Wheels are installed with `installer` (PyPA's wheel installer) as if the image's root
were a staging folder: files land at the base's site-packages and scripts paths, console
scripts get the image's Python in their shebang, RECORD and INSTALLER are written as pip
would. When this machine's Python has the base's version, modules are byte-compiled
with unchecked-hash pycs (PEP 552), which do not depend on file times; the image runs
as a user who cannot write to site-packages, so a pyc not made here would be made again
by every run. A distribution the base has in another version is replaced: the layer
hides the base's files of it (OCI whiteouts), so that only one version is installed.
"""

from __future__ import annotations

import compileall
import py_compile
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from typing import Any

from iota_container.environment.lock import Lock
from iota_container.environment.platform import TargetPlatform
from iota_container.environment.python_env import (
    InstalledDistribution,
    PythonEnvironment,
    normalize,
)
from iota_container.environment.wheels import FetchedWheel
from iota_container.errors import IotaError
from iota_container.image.layer import Layer
from iota_container.image.tree_layer import Whiteouts, tree_layer

LAYER_FORMAT = 1  # bump when the layer's content for the same inputs changes
_TEST_FOLDERS = re.compile(r"[/\\]tests?[/\\]")
INSTALLER_NAME = b"iota-container\n"


class DependencyLayerError(IotaError):
    """A wheel could not be installed into the layer."""


@dataclass(frozen=True)
class DependencyLayer:
    layer: Layer
    lock: Lock  # as resolved for the platform, with wheel hashes
    distributions: tuple[InstalledDistribution, ...]  # what the layer installs
    replaced: tuple[str, ...]  # NAME==VERSION of the base's that it hides
    installed_size: int  # bytes of files before compression
    compiled: bool
    cache_key: str = ""  # its entry in the build machine's LayerCache

    @property
    def modules(self) -> frozenset[str]:
        return frozenset(m for d in self.distributions for m in d.top_level)


def build_dependency_layer(
    wheels: Iterable[FetchedWheel],
    lock: Lock,
    platform: TargetPlatform,
    base: PythonEnvironment | None,
    mtime: int,
) -> DependencyLayer:
    """Install `wheels` (less what the base has at the same version) and pack them."""
    chosen, replaced = _against_base(list(wheels), base)
    with tempfile.TemporaryDirectory(prefix="iota-deps-") as folder:
        work = Path(folder)
        root = work / "root"
        for wheel in chosen:
            _install(wheel, platform, root)
        site = root / platform.site_packages.lstrip("/")
        compiled = _compile(site, platform)
        installed = tuple(_installed_distributions(site))
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        whiteouts = _whiteouts(replaced, platform, site, base)
        layer = tree_layer(root, whiteouts, mtime, work)
    kept = {normalize(w.name) for w in chosen}
    resolved = Lock(
        tuple(p for p in lock.pins if p.key in kept), python_version=lock.python_version
    )
    return DependencyLayer(
        layer=layer,
        lock=resolved,
        distributions=installed,
        replaced=tuple(f"{d.name}=={d.version}" for d in replaced),
        installed_size=size,
        compiled=compiled,
    )


def _against_base(
    wheels: list[FetchedWheel], base: PythonEnvironment | None
) -> tuple[list[FetchedWheel], list[InstalledDistribution]]:
    """(wheels to install, base distributions they replace)."""
    if base is None:
        return wheels, []
    chosen, replaced = [], []
    for wheel in wheels:
        existing = base.distribution(wheel.name)
        if existing is not None and existing.version == wheel.version:
            continue
        chosen.append(wheel)
        if existing is not None:
            replaced.append(existing)
    return chosen, replaced


def _install(wheel: FetchedWheel, platform: TargetPlatform, root: Path) -> None:
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    scheme = {
        "purelib": platform.site_packages,
        "platlib": platform.site_packages,
        "scripts": platform.scripts,
        "data": platform.prefix,
        "headers": f"{platform.include}/{normalize(wheel.name)}",
    }
    destination = SchemeDictionaryDestination(
        scheme, interpreter=platform.interpreter, script_kind="posix", destdir=str(root)
    )
    try:
        with WheelFile.open(wheel.path) as source:
            install(source, destination, {"INSTALLER": INSTALLER_NAME})
    except Exception as e:  # installer raises plain exceptions for broken wheels
        raise DependencyLayerError(
            f"wheel {wheel.path.name} cannot be installed ({type(e).__name__}: {e}): "
            "pin another version with --requirements"
        ) from e


def _compile(site: Path, platform: TargetPlatform) -> bool:
    """Byte-compile for the image when this Python is the image's version (a pyc is
    specific to one Python version); otherwise the image compiles in memory at import."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" != platform.python_version:
        return False
    if not site.is_dir():
        return True
    compileall.compile_dir(
        str(site),
        ddir=platform.site_packages,  # tracebacks name the image's paths
        quiet=2,
        workers=0,
        # A package's own test suite (half of pandas' modules) is never imported by an
        # analysis: compiling it would double this step for nothing.
        rx=_TEST_FOLDERS,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    return True


def _installed_distributions(site: Path) -> Iterable[InstalledDistribution]:
    if not site.is_dir():
        return
    for info in sorted(site.glob("*.dist-info")):
        metadata = HeaderParser().parsestr((info / "METADATA").read_text("utf-8", "replace"))
        record = (
            (info / "RECORD").read_text("utf-8", "replace") if (info / "RECORD").exists() else ""
        )
        paths = sorted(
            {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines() if line}
        )
        yield InstalledDistribution(
            name=str(metadata["Name"]),
            version=str(metadata["Version"]),
            requires=tuple(metadata.get_all("Requires-Dist") or ()),
            top_level=tuple(_top_level(paths)),
            paths=tuple(p for p in paths if not p.startswith("..")),
        )


def _top_level(paths: Iterable[str]) -> list[str]:
    names = set()
    for path in paths:
        if path.startswith("..") or path.endswith((".dist-info", ".data", ".pth")):
            continue
        if path == "__pycache__":
            continue
        name = path.split(".", 1)[0] if path.endswith((".py", ".so")) else path
        if name.isidentifier():  # not numpy.libs and other vendored-library folders
            names.add(name)
    return sorted(names)


def _whiteouts(
    replaced: list[InstalledDistribution],
    platform: TargetPlatform,
    site: Path,
    base: PythonEnvironment | None,
) -> Whiteouts:
    """Hide each replaced distribution's files in the base: its own folders become
    opaque (or are removed when the new version lacks them), its files are removed
    unless the layer writes the same path. A folder another base distribution shares
    (a namespace package) is left as it is."""
    if not replaced or base is None:
        return Whiteouts()
    prefix = PurePosixPath(platform.site_packages.lstrip("/"))
    keys = {d.key for d in replaced}
    shared = {p for d in base.distributions.values() if d.key not in keys for p in d.paths}
    removed: list[str] = []
    opaque: list[str] = []
    for distribution in replaced:
        for path in distribution.paths:
            if path in shared:
                continue
            in_layer = site / path
            if in_layer.is_dir():
                opaque.append(str(prefix / path))
            elif not in_layer.exists():
                removed.append(str(prefix / path))
    return Whiteouts(tuple(sorted(set(removed))), tuple(sorted(set(opaque))))


def layer_description(layer: DependencyLayer) -> dict[str, Any]:
    """What the cache keeps beside the layer's bytes."""
    return {
        "format": LAYER_FORMAT,
        "digest": layer.layer.digest,
        "diff_id": layer.layer.diff_id,
        "size": layer.layer.size,
        "lock": layer.lock.to_json(),
        "distributions": [d.to_json() for d in layer.distributions],
        "replaced": list(layer.replaced),
        "installed_size": layer.installed_size,
        "compiled": layer.compiled,
    }


def layer_from_description(description: dict[str, Any], data: bytes) -> DependencyLayer:
    return DependencyLayer(
        layer=Layer(data, description["digest"], description["diff_id"], len(data)),
        lock=Lock.from_json(description["lock"]),
        distributions=tuple(
            InstalledDistribution.from_json(d) for d in description["distributions"]
        ),
        replaced=tuple(description["replaced"]),
        installed_size=int(description["installed_size"]),
        compiled=bool(description["compiled"]),
    )
