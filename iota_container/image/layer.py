"""The one layer an analysis image adds to its base: the notebook and its metadata file, as
a reproducible gzip'd tar. The same notebook and metadata give the same bytes, so a rebuild
pushes nothing new and an edit pushes only this small layer."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import NamedTuple

from iota_container.errors import IotaError
from iota_container.image.metadata import ANALYSIS_DIR, IMAGE_UID, METADATA_FILE, ImageMetadata

DIRECTORY_MODE = 0o755
FILE_MODE = 0o644
# The folder above the analysis folder is the image user's home, which the base image's
# `useradd --create-home` gave to that user; a layer's directory entry replaces the base's
# owner, so the layer must repeat it. Everything above it belongs to root.
_USER_HOME = PurePosixPath(ANALYSIS_DIR).parent


class Layer(NamedTuple):
    data: bytes  # gzip'd tar, what the registry stores
    digest: str  # sha256 of `data`: the blob's name
    diff_id: str  # sha256 of the uncompressed tar: what the image config lists
    size: int  # len(data)


def source_date_epoch() -> int:
    """The fixed time of everything a build writes: SOURCE_DATE_EPOCH (the reproducible-builds
    convention) when set, else 0, so that time never changes a digest."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return 0
    try:
        epoch = int(value)
    except ValueError:
        epoch = -1
    if epoch < 0:
        raise IotaError(
            f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds since 1970: "
            "set it to e.g. $(git log -1 --format=%ct), or unset it"
        )
    return epoch


def metadata_file_bytes(metadata: ImageMetadata) -> bytes:
    return (json.dumps(metadata.to_json(), indent=2, ensure_ascii=False) + "\n").encode()


def analysis_layer(
    notebook_name: str,
    notebook: bytes,
    metadata: ImageMetadata,
    mtime: int | None = None,
    beside: Mapping[str, bytes] | None = None,
) -> Layer:
    """`ANALYSIS_DIR/<notebook_name>` and `ANALYSIS_DIR/METADATA_FILE`, plus the files
    `beside` the notebook (POSIX paths relative to its folder: local modules, data files),
    all owned by the image user: the runtime runs the kernel in the notebook's folder, and
    a notebook may write files next to itself."""
    if not notebook_name or "/" in notebook_name or notebook_name in (".", ".."):
        raise ValueError(f"notebook name {notebook_name!r} must be a plain file name")
    folder = PurePosixPath(ANALYSIS_DIR.lstrip("/"))
    files = {str(folder / relative): data for relative, data in (beside or {}).items()}
    files[str(folder / notebook_name)] = notebook
    files[str(folder / METADATA_FILE)] = metadata_file_bytes(metadata)
    directories = [str(p) for p in reversed(folder.parents) if str(p) != "."] + [str(folder)]
    for relative in beside or {}:
        _check_relative(relative)
        for parent in reversed(PurePosixPath(relative).parents):
            if str(parent) != ".":
                directories.append(str(folder / parent))
    tar = _tar(sorted(set(directories)), files, source_date_epoch() if mtime is None else mtime)
    data = _gzip(tar)
    return Layer(data, sha256_digest(data), sha256_digest(tar), len(data))


def _check_relative(relative: str) -> None:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts or relative == METADATA_FILE:
        raise ValueError(f"file {relative!r} must be a path inside the notebook's folder")


def _tar(directories: Iterable[str], files: dict[str, bytes], mtime: int) -> bytes:
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for path in directories:
        info = _entry(path, mtime, DIRECTORY_MODE)
        info.type = tarfile.DIRTYPE
        entries.append((info, None))
    for path, data in files.items():
        info = _entry(path, mtime, FILE_MODE)
        info.size = len(data)
        entries.append((info, data))
    buffer = io.BytesIO()
    # PAX only where a name needs it (long or non-ASCII); tarfile writes no time records for
    # whole-second mtimes, so no entry carries the build's clock.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, content in sorted(entries, key=lambda entry: entry[0].name):
            archive.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def _entry(path: str, mtime: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.mtime = mtime
    info.mode = mode
    owned = PurePosixPath("/", path).is_relative_to(_USER_HOME)
    info.uid = info.gid = IMAGE_UID if owned else 0
    info.uname = info.gname = ""  # numeric owners only: the names may differ in the base
    return info


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime 0 and no file name: the gzip header then holds nothing that varies.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed:
        compressed.write(data)
    return buffer.getvalue()


def sha256_digest(data: bytes) -> str:
    """A blob's name in a registry."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"
