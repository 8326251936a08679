"""Image layers applied as a container runtime applies them, whiteouts included (the OCI
image spec's rules), so that tests can look at the file system an image would have."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

from iota_container.environment.dependency_layer import DependencyLayer
from iota_container.image.tree_layer import OPAQUE_WHITEOUT, WHITEOUT_PREFIX


def apply_layer(layer: DependencyLayer, root: Path) -> None:
    """Unpack `layer` over `root` with the OCI image spec's whiteout rules."""
    written: set[str] = set()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.layer.data))) as archive:
        for member in archive.getmembers():
            path = root / member.name
            folder, name = path.parent, path.name
            if name == OPAQUE_WHITEOUT:
                for child in folder.iterdir():
                    if child.relative_to(root).as_posix() not in written:
                        remove(child)
                continue
            if name.startswith(WHITEOUT_PREFIX):
                remove(folder / name[len(WHITEOUT_PREFIX) :])
                continue
            written.add(member.name)
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
            else:
                archive.extract(member, root, filter="tar")


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
