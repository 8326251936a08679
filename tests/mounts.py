"""Real file systems mounted for a test: a small tmpfs that fills up, a read-only one, a
second proc. Mounting needs root; elsewhere `require` skips (and fails under the test
script, which runs as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import require


def require_mounts() -> None:
    require(os.geteuid() == 0, "mounting a file system for this test needs root")
    require(shutil.which("mount") is not None, "mount (util-linux) is not installed")


@contextmanager
def mounted(folder: Path, file_system: str = "tmpfs", options: str = "size=1m") -> Iterator[Path]:
    """`folder` with a new `file_system` mounted on it until the block ends."""
    require_mounts()
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", file_system, "-o", options, file_system, str(folder)],
        check=True,
        capture_output=True,
    )
    try:
        yield folder
    finally:
        # Lazy: a kernel or a child process that still has a file open must not keep
        # the mount (and the test's temporary folder) alive.
        subprocess.run(["umount", "-l", str(folder)], check=True, capture_output=True)


def fill(folder: Path, name: str = "filler") -> Path:
    """Write zeros into `folder` until its file system has no space left."""
    path = folder / name
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError:
            pass
        try:  # the last partial block
            while True:
                out.write(b"\0" * 512)
        except OSError:
            pass
    return path
