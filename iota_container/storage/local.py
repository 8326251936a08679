"""`file://` outputs, for local runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from iota_container.errors import StorageError
from iota_container.storage.uri import OutputUri


class LocalStore:
    def put(self, source: Path | bytes, target: OutputUri) -> None:
        assert target.path is not None
        destination = target.path
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename, so a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(
                dir=destination.parent, prefix=f".{destination.name}."
            )
            try:
                with os.fdopen(handle, "wb") as out:
                    if isinstance(source, bytes):
                        out.write(source)
                    else:
                        with open(source, "rb") as inp:
                            shutil.copyfileobj(inp, out, 1 << 20)
                os.chmod(temporary, 0o644)
                os.replace(temporary, destination)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as e:
            raise StorageError(
                f"cannot write {target.uri!r} ({e.strerror or e}): "
                "choose a folder this user can write to"
            ) from e

    def check_writable(self, targets: Iterable[OutputUri]) -> None:
        for target in targets:
            assert target.path is not None
            folder = _nearest_existing(target.path.parent)
            if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
                raise StorageError(
                    f"cannot write {target.uri!r}: {str(folder)!r} is not a folder this user "
                    "can write to; choose another output location"
                )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
