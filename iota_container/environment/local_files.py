"""Files next to a notebook that its image needs: the local modules it imports
(`helpers.py`, a `utils/` package) and the data files its code names (`"limits.csv"`),
plus what `--include` adds. Paths stay inside the notebook's folder: the image keeps
them at the same place relative to the notebook.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iota_container.environment.imports import parse_cell
from iota_container.errors import IotaError
from iota_container.notebook.assignments import cell_source

# More than this beside a notebook is most likely a data folder picked up by mistake.
MAX_LOCAL_BYTES = 256 << 20
_SKIPPED_PARTS = frozenset({"__pycache__", ".ipynb_checkpoints", ".git"})


class LocalFileError(IotaError):
    """A file to include is missing, outside the notebook's folder, or too large."""


@dataclass(frozen=True)
class LocalFile:
    relative: str  # POSIX path relative to the notebook's folder
    size: int
    reason: str  # "module helpers", "named in cell 3", "--include"


def module_files(folder: Path, origin: str, package: bool) -> list[Path]:
    """The files of a local module: the file itself, or every file of its package."""
    path = Path(origin)
    if package:
        root = path.parent if path.name == "__init__.py" else path
        return sorted(p for p in root.rglob("*") if p.is_file() and not _skipped(p, folder))
    return [path]


def modules_beside(folder: Path, names: Iterable[str]) -> list[tuple[Path, str]]:
    """The files of the modules `names` that lie beside the notebook (`helpers.py`, a
    `utils/` package), found without asking a kernel: what a build with a requirements
    file copies, as detection would."""
    found: list[tuple[Path, str]] = []
    for name in names:
        if is_beside(folder, name):
            single = folder / f"{name}.py"
            origin = single if single.is_file() else folder / name
            files = module_files(folder, str(origin), origin.is_dir())
            found += [(path, f"module {name}") for path in files]
    return found


def is_beside(folder: Path, name: str) -> bool:
    """Whether `import name` in the notebook's folder finds a module there."""
    package = folder / name
    return (folder / f"{name}.py").is_file() or (package.is_dir() and any(package.glob("*.py")))


def named_data_files(
    notebook: Any, folder: Path, notebook_path: Path
) -> Iterator[tuple[Path, int]]:
    """Existing files beside the notebook that a code cell names in a string literal."""
    for index, cell in enumerate(notebook.get("cells") or []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        tree = parse_cell(cell_source(cell))
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                candidate = _relative_file(node.value, folder)
                if candidate is not None and candidate != notebook_path.resolve():
                    yield candidate, index


def _relative_file(text: str, folder: Path) -> Path | None:
    if not text or len(text) > 255 or "\n" in text or "\x00" in text or text.startswith("/"):
        return None
    try:
        candidate = (folder / text).resolve()
    except (OSError, ValueError):
        return None
    if not _inside(candidate, folder) or not candidate.is_file():
        return None
    return candidate


def collect_local_files(
    folder: Path, found: Iterable[tuple[Path, str]], includes: Iterable[Path] = ()
) -> tuple[LocalFile, ...]:
    """The files to copy beside the notebook, each once, sorted; includes are checked."""
    chosen: dict[str, LocalFile] = {}
    folder = folder.resolve()
    for path, reason in found:
        _add(chosen, folder, path, reason)
    for include in includes:
        _add_include(chosen, folder, include)
    total = sum(f.size for f in chosen.values())
    if total > MAX_LOCAL_BYTES:
        largest = max(chosen.values(), key=lambda f: f.size)
        raise LocalFileError(
            f"the files beside the notebook add up to {total >> 20} MiB (largest: "
            f"{largest.relative}): keep data in S3 or a dataset, not in the image"
        )
    return tuple(sorted(chosen.values(), key=lambda f: f.relative))


def _add_include(chosen: dict[str, LocalFile], folder: Path, include: Path) -> None:
    path = (include if include.is_absolute() else Path.cwd() / include).resolve()
    if not _inside(path, folder):
        raise LocalFileError(
            f"--include {str(include)!r} is outside the notebook's folder {str(folder)!r}: "
            "the image keeps files at their place relative to the notebook; move it there"
        )
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not _skipped(p, folder)):
            _add(chosen, folder, file, "--include")
    elif path.is_file():
        _add(chosen, folder, path, "--include")
    else:
        raise LocalFileError(f"--include {str(include)!r} does not exist: fix the path")


def _add(chosen: dict[str, LocalFile], folder: Path, path: Path, reason: str) -> None:
    """Add `path` at its own place beside the notebook; a symbolic link is read through,
    so its target must be inside the notebook's folder too (else the image would carry,
    say, ~/.aws/credentials under an innocent name)."""
    place = Path(os.path.normpath(path))
    if not _inside(place, folder):
        place = path.resolve()
    target = place.resolve()
    relative = place.relative_to(folder).as_posix() if _inside(place, folder) else str(path)
    if not _inside(target, folder):
        raise LocalFileError(
            f"{relative} ({reason}) is a link to {str(target)!r}, outside the notebook's "
            f"folder {str(folder)!r}: copy the file beside the notebook instead of linking it"
        )
    if relative not in chosen:
        chosen[relative] = LocalFile(relative, target.stat().st_size, reason)


def _skipped(path: Path, folder: Path) -> bool:
    parts = path.relative_to(folder).parts if _inside(path, folder) else path.parts
    return any(part in _SKIPPED_PARTS for part in parts) or path.suffix == ".pyc"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
