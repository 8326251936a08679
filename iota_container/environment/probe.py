"""Describe a Python environment as JSON: interpreter, platform, installed distributions and
where given modules come from. Run *by that environment's own interpreter*:

- on the host, in the notebook kernel's Python (which may lack this package: the host
  sends this file's source with `python -c`), to learn what the notebook imports from;
- in the base image at build time (`python -m iota_container.environment.probe`), whose
  answer becomes the base's environment label.

So it imports nothing outside the standard library, runs on Python 3.9+, and finds
modules with `importlib.util.find_spec`, which locates a top-level module without
executing it. Input (stdin, JSON, optional):
{"modules": [...], "directory": "...", "paths": true|false, "known_fingerprint": "..."};
output (stdout): one JSON document. Markers and dependency closures are worked out by the
caller, with `packaging`, from the raw facts given here.
"""

from __future__ import annotations

import csv
import email
import email.message
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import sysconfig
from collections.abc import Iterable
from typing import Any


def _marker_environment() -> dict[str, str]:
    implementation = sys.implementation
    version = implementation.version
    full = f"{version.major}.{version.minor}.{version.micro}"
    if version.releaselevel != "final":
        full += version.releaselevel[0] + str(version.serial)
    return {
        "implementation_name": implementation.name,
        "implementation_version": full,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _interpreter() -> dict[str, str]:
    libc, libc_version = platform.libc_ver()
    paths = sysconfig.get_paths()
    return {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "version": platform.python_version(),
        "implementation": sys.implementation.name,
        "cache_tag": sys.implementation.cache_tag,
        "soabi": sysconfig.get_config_var("SOABI") or "",
        "machine": platform.machine(),
        "libc": libc,
        "libc_version": libc_version,
        "purelib": paths.get("purelib", ""),
        "platlib": paths.get("platlib", ""),
        "scripts": paths.get("scripts", ""),
        "data": paths.get("data", ""),
        "include": paths.get("include", ""),
        "pyc_magic": importlib.util.MAGIC_NUMBER.hex(),
    }


def _stdlib_names() -> list[str]:
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:  # Python 3.9: the builtins plus what lives in the stdlib folder
        names = set(sys.builtin_module_names)
        folder = sysconfig.get_paths()["stdlib"]
        for entry in os.listdir(folder):
            stem = entry.split(".", 1)[0]
            if stem.isidentifier() and entry != "site-packages":
                names.add(stem)
    return sorted(names)


def _distributions(with_paths: bool = True) -> dict[str, dict[str, Any]]:
    found = {}
    for dist in importlib.metadata.distributions():
        metadata = _metadata(dist)
        name = metadata["Name"]
        if not name:
            continue
        key = _normalize(name)
        if key in found:  # an earlier sys.path entry shadows later ones, as for imports
            continue
        files = _file_parts(dist)
        found[key] = {
            "name": name,
            "version": metadata["Version"],
            "requires": _requires(dist, metadata),
            "top_level": _top_level(dist, files),
            "direct_url": _direct_url(dist),
            "installer": (dist.read_text("INSTALLER") or "").strip(),
            "location": str(dist.locate_file("")),
        }
        if with_paths:
            found[key]["paths"] = _top_paths(files)
    return found


def _metadata(dist: importlib.metadata.Distribution) -> email.message.Message:
    """The metadata's headers, parsed once (`dist.metadata` parses the whole file, long
    description included, at each call, and `dist.version` and `dist.requires` call it)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    if text is None:
        return email.message_from_string("")
    return email.message_from_string(text.split("\n\n", 1)[0])


def _requires(dist: importlib.metadata.Distribution, metadata: email.message.Message) -> list[str]:
    requires = metadata.get_all("Requires-Dist")
    if requires is None and dist.read_text("requires.txt") is not None:
        requires = dist.requires  # an egg-info's requires.txt, converted as it converts it
    return list(requires or [])


def _file_parts(dist: importlib.metadata.Distribution) -> set[tuple[str, ...]]:
    """The first three path components of each file a distribution lists (all that its
    top-level names and paths depend on), each once. From the RECORD's text when it has
    one: `dist.files` makes a path object per file, and those (tens of thousands in a
    data-science environment) were most of the probe's time; the components are those
    `PurePosixPath` gives (a root of one or two slashes, then the names, no empty or `.`)."""
    text = dist.read_text("RECORD")
    if text is None:
        return {file.parts[:3] for file in dist.files or []}
    return {_posix_head(row[0]) for row in csv.reader(text.splitlines()) if row and row[0]}


def _posix_head(path: str) -> tuple[str, ...]:
    names = path.split("/", 3)[:3]
    if "" not in names and "." not in names:
        return tuple(names)
    kept = [name for name in path.split("/") if name and name != "."]
    if path.startswith("/"):
        kept.insert(0, "//" if path.startswith("//") and not path.startswith("///") else "/")
    return tuple(kept[:3])


def _top_level(
    dist: importlib.metadata.Distribution, files: Iterable[tuple[str, ...]]
) -> list[str]:
    """Top-level import names and other top-level paths a distribution owns (from its
    RECORD, else top_level.txt)."""
    names = set()
    for parts in files:
        if not parts or parts[0] in ("..", "/") or parts[0].startswith(".."):
            continue
        first = parts[0]
        if len(parts) == 1:
            if first.endswith(".py") or ".cpython-" in first or first.endswith((".so", ".pyd")):
                names.add(first.split(".", 1)[0])
            elif first.endswith(".pth"):
                continue
        elif not first.endswith((".dist-info", ".egg-info", ".data")) and first != "__pycache__":
            names.add(first)
    if not names:
        text = dist.read_text("top_level.txt") or ""
        names.update(line.strip() for line in text.splitlines() if line.strip())
    return sorted(names)


def _top_paths(files: Iterable[tuple[str, ...]]) -> list[str]:
    """The first path components of a distribution's files inside its site-packages
    folder (`yaml`, `six.py`, `PyYAML-6.0.2.dist-info`, `__pycache__/six.cpython-311.pyc`):
    what a layer must hide to replace this distribution with another version."""
    paths = set()
    for parts in files:
        if not parts or parts[0].startswith(".."):
            continue
        if parts[0] == "__pycache__" and len(parts) == 2:
            paths.add("/".join(parts))
        else:
            paths.add(parts[0])
    return sorted(paths)


def _direct_url(dist: importlib.metadata.Distribution) -> Any:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _normalize(name: str) -> str:
    out = []
    for char in name.lower():
        out.append("-" if char in "-_." else char)
    collapsed = "".join(out)
    while "--" in collapsed:
        collapsed = collapsed.replace("--", "-")
    return collapsed


def distributions_fingerprint() -> str:
    """What the installed distributions depend on: this interpreter, its sys.path, each
    path entry's inode and modification time, and those of each distribution's metadata
    file in it. Installing, upgrading or removing a distribution adds or removes a
    `.dist-info` (or `.egg-info`) folder in one of those folders, which changes that
    folder's modification time; rewriting an egg-info's PKG-INFO in place (a setuptools
    develop install rebuilt) changes only the file's."""
    entries: list[Any] = [sys.executable]
    for entry in sys.path:
        try:
            status = os.stat(entry or ".")
        except OSError:
            entries.append([entry])
            continue
        entries.append([entry, status.st_ino, status.st_mtime_ns, _metadata_stamps(entry)])
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def _metadata_stamps(folder: str) -> list[Any]:
    try:
        names = sorted(os.listdir(folder or "."))
    except OSError:  # a zip file, or not a folder
        return []
    stamps: list[Any] = []
    for name in names:
        if not name.endswith((".dist-info", ".egg-info")):
            continue
        path = os.path.join(folder, name)
        for candidate in (os.path.join(path, "METADATA"), os.path.join(path, "PKG-INFO"), path):
            try:
                status = os.stat(candidate)
            except OSError:
                continue
            stamps.append([name, status.st_ino, status.st_mtime_ns, status.st_size])
            break
    return stamps


def _module_origin(name: str, directory: str, stdlib: set[str]) -> dict[str, Any]:
    if name in sys.builtin_module_names:
        return {"kind": "stdlib", "origin": "built-in"}
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        spec = None
    if spec is None:
        return {"kind": "stdlib" if name in stdlib else "missing", "origin": ""}
    locations = list(spec.submodule_search_locations or [])
    # Only a file is a place: "frozen" (os, in 3.11+) would read as a path relative to
    # the working folder, which is the notebook's, and make os a local module.
    origin = spec.origin if spec.has_location and spec.origin else ""
    path = origin or (locations[0] if locations else "")
    if directory and path and _inside(path, directory):
        return {"kind": "local", "origin": path, "package": bool(locations)}
    if name in stdlib:
        return {"kind": "stdlib", "origin": path}
    return {"kind": "installed", "origin": path}


def _inside(path: str, directory: str) -> bool:
    path = os.path.realpath(path)
    directory = os.path.realpath(directory)
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def describe(
    modules: Iterable[str] = (),
    directory: str = "",
    paths: bool = True,
    known_fingerprint: str = "",
) -> dict[str, Any]:
    """`paths`: each distribution's top-level paths too, which only a base image's label
    needs (to hide a replaced distribution's files); without them a distribution's entry
    has no `paths` key, which readers take as none. `known_fingerprint`: the caller's
    `fingerprint` of an earlier answer; when the folders are unchanged, the answer says
    `distributions_unchanged` instead of listing the distributions again."""
    stdlib = _stdlib_names()
    fingerprint = distributions_fingerprint()
    answer: dict[str, Any] = {
        "interpreter": _interpreter(),
        "markers": _marker_environment(),
        "stdlib": stdlib,
        "fingerprint": fingerprint,
    }
    if known_fingerprint and known_fingerprint == fingerprint:
        answer["distributions_unchanged"] = True  # the caller has them from last time
    else:
        answer["distributions"] = _distributions(paths)
    if directory:
        # As the kernel sees it: it runs in the notebook's folder, which is on its path.
        # Only now, when the probe imports nothing more (importlib.metadata imports some
        # modules when first used): a `csv.py` beside the notebook is the notebook's
        # module, never the probe's.
        sys.path.insert(0, directory)
    answer["modules"] = {name: _module_origin(name, directory, set(stdlib)) for name in modules}
    return answer


def main() -> None:
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    request = json.loads(raw) if raw.strip() else {}
    answer = describe(
        request.get("modules") or (),
        request.get("directory") or "",
        bool(request.get("paths", True)),
        str(request.get("known_fingerprint") or ""),
    )
    sys.stdout.write(json.dumps(answer, sort_keys=True))


if __name__ == "__main__":
    main()
