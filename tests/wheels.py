"""Wheels and sdists written by hand for tests: a .whl is a zip with METADATA, WHEEL and
RECORD in its .dist-info folder (PEP 427), so tests need no index and no build tool."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from iota_container.environment.wheels import FetchedWheel


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes | str],
    requires: Iterable[str] = (),
    console_scripts: Mapping[str, str] | None = None,
    tag: str = "py3-none-any",
    extra_metadata: Iterable[str] = (),
) -> FetchedWheel:
    """A wheel of `files` (paths relative to site-packages) as `pip download` leaves one."""
    distribution = name.replace("-", "_")
    info = f"{distribution}-{version}.dist-info"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            f"Name: {name}",
            f"Version: {version}",
            *(f"Requires-Dist: {r}" for r in requires),
            *extra_metadata,
        ]
    )
    contents: dict[str, bytes] = {
        path: data.encode() if isinstance(data, str) else data for path, data in files.items()
    }
    contents[f"{info}/METADATA"] = (metadata + "\n").encode()
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tests.wheels\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    if console_scripts:
        lines = "".join(f"{script} = {target}\n" for script, target in console_scripts.items())
        contents[f"{info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    record = "".join(
        f"{path},{_record_hash(data)},{len(data)}\n" for path, data in sorted(contents.items())
    )
    contents[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{distribution}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in sorted(contents.items()):
            entry = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return FetchedWheel(path, name, version, hashlib.sha256(path.read_bytes()).hexdigest())


def make_sdist(folder: Path, name: str, version: str) -> Path:
    """A source distribution only (`NAME-VERSION.tar.gz` with PKG-INFO and setup.py): pip
    can find it on an index, but no wheel exists for any platform."""
    root = f"{name}-{version}"
    files = {
        f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{root}/setup.py": "from setuptools import setup\nsetup()\n",
        f"{root}/{name}.py": "VALUE = 1\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in sorted(files.items()):
            data = text.encode()
            entry = tarfile.TarInfo(member)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return path
