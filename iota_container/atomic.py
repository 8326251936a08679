"""Whole-file writes: a reader sees the old file or the new one, never half of one.

The content goes to a temporary file beside the target (same folder, so the same file
system), is flushed to disk, and is renamed over the target. Whatever goes wrong on the
way (a full disk, a signal, a target that is a folder), the temporary file is removed
and the target is left as it was; the error is the caller's to word.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

DEFAULT_MODE = 0o644  # what a file opened with the usual umask gets: others may read it
_COPY_CHUNK = 1 << 20


@contextmanager
def atomic_file(target: str | os.PathLike[str], mode: int = DEFAULT_MODE) -> Iterator[BinaryIO]:
    """A binary file to write; it becomes `target` when the block ends without error.

    `mode` is the new file's permission bits (a temporary file starts private)."""
    destination = Path(target)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            # Some file systems (NFS, quotas) report a full disk only here.
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes_atomically(
    target: str | os.PathLike[str], data: bytes, mode: int = DEFAULT_MODE
) -> Path:
    with atomic_file(target, mode) as out:
        out.write(data)
    return Path(target)


def copy_file_atomically(
    source: str | os.PathLike[str], target: str | os.PathLike[str], mode: int = DEFAULT_MODE
) -> Path:
    with atomic_file(target, mode) as out, open(source, "rb") as inp:
        shutil.copyfileobj(inp, out, _COPY_CHUNK)
    return Path(target)
