"""A SQL dataset's content, from where its `x-iota-source` says (see definitions/model.py):

- `file`: that file, as it is;
- `folder`: the last file in it by name (hidden files left out): one file a version;
- `command`: run without a shell, in the definition file's folder; its standard output
  is the content (`<dataset>.csv`: the service wrote CSV), its standard error the log.

Relative paths are relative to the definition file's folder. A SQL dataset without
x-iota-source runs its query on data stores instead (datastore/query.py).
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import BinaryIO

from iota_container.definitions.model import DatasetDefinition
from iota_container.errors import IotaError


class QuerySourceError(IotaError):
    """A SQL dataset's x-iota-source gave no content."""


def reads_datastores(definition: DatasetDefinition) -> bool:
    """A SQL dataset whose query runs on data stores: one without x-iota-source."""
    action = definition.query_action
    return action is not None and action.local_source is None


def produce_query_content(
    definition: DatasetDefinition, definition_file: Path, version_dir: Path, log_path: Path
) -> Path:
    """The file holding this version's content (staged in `version_dir` for a command)."""
    action = definition.query_action
    source = action.local_source if action else None
    name = definition.dataset_name
    base = definition_file.parent
    if source is None:
        raise QuerySourceError(
            f"SQL dataset {name!r} has no x-iota-source, and there is no data store to run "
            f"its query on here: add x-iota-source (file, folder or command) to its "
            f"queryAction in {definition_file}"
        )
    if source.file is not None:
        path = base / source.file
        if not path.is_file():
            raise QuerySourceError(
                f"x-iota-source.file of dataset {name!r} is {str(path)!r}, which is not a "
                f"file: fix the path in {definition_file}"
            )
        return path
    if source.folder is not None:
        return _last_in_folder(name, base / source.folder, definition_file)
    assert source.command is not None  # validate.py: exactly one of the three
    return _run_command(name, source.command, base, version_dir / f"{name}.csv", log_path)


def _last_in_folder(name: str, folder: Path, definition_file: Path) -> Path:
    if not folder.is_dir():
        raise QuerySourceError(
            f"x-iota-source.folder of dataset {name!r} is {str(folder)!r}, which is not a "
            f"folder: fix the path in {definition_file}"
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise QuerySourceError(
            f"x-iota-source.folder {str(folder)!r} of dataset {name!r} has no content file: "
            "put the content there (the last file by name is the latest)"
        )
    return files[-1]


def _run_command(name: str, command: str, cwd: Path, content: Path, log_path: Path) -> Path:
    where = f"x-iota-source.command of dataset {name!r} ({command})"
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise QuerySourceError(f"{where} cannot be split into words ({e}): fix its quotes") from e
    # Staged beside the content (in the version's folder, which the engine made) and
    # renamed when the command succeeded: a failing (or killed) command never leaves half
    # a content file under the final name. Not synced to disk: the staged file is only
    # read back to be stored (storage.put makes the stored copy durable), and a crash
    # before that ends the version FAILED anyway.
    staged = content.with_name(f".{content.name}.partial")
    try:
        with staged.open("wb") as out, log_path.open("ab") as log:
            code = _call(where, argv, cwd, out, log)
            if code != 0:
                log.flush()
                last = _last_line(log_path)
                raise QuerySourceError(
                    f"{where} exited with code {code}{': ' + last if last else ''} "
                    f"(log: {log_path})"
                )
        staged.replace(content)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return content


def _call(where: str, argv: list[str], cwd: Path, out: BinaryIO, log: BinaryIO) -> int:
    # No preexec_fn, shell or process group: subprocess then spawns through vfork, which
    # costs a large parent (a scheduler) far less than fork.
    try:
        return subprocess.run(argv, cwd=cwd, stdout=out, stderr=log, check=False).returncode
    except OSError as e:
        raise QuerySourceError(
            f"{where} cannot be started ({e.strerror or e}): give a program on PATH or "
            "a path relative to the definition file"
        ) from e


def _last_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1].strip()[:300] if lines else ""
