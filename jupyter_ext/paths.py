"""Request paths, resolved inside the server's root directory.

A path that is absolute, climbs with `..`, or leads outside through a symbolic link gets
the answer a missing file gets, word for word, so that the API says nothing about what
exists outside the root.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from iota_container.errors import IotaError


class NoSuchFile(IotaError):
    """A request path that names no file inside the root (or one outside it)."""

    def __init__(self, relative: str, field: str) -> None:
        super().__init__(f"no such file: {relative}")
        self.field = field


def resolve_file(root: str | Path, relative: str, field: str = "path") -> Path:
    """The real path of the existing file `relative` names inside `root`."""
    real = _inside_root(root, relative, field)
    if not real.is_file():
        raise NoSuchFile(relative, field)
    return real


def resolve_new_file(root: str | Path, relative: str, field: str = "path") -> Path:
    """Where to write `relative` inside `root`: its folder may not exist yet, but what does
    exist of it (a link at its place too) must stay inside."""
    real = _inside_root(root, relative, field)
    if real.is_dir():
        raise NoSuchFile(relative, field)
    return real


def relative_to_root(root: str | Path, path: Path) -> str:
    """How the API names a file inside the root: a POSIX path relative to it."""
    return path.resolve().relative_to(Path(root).resolve()).as_posix()


def _inside_root(root: str | Path, relative: str, field: str) -> Path:
    pure = PurePosixPath(relative)
    if (
        not relative
        or pure.is_absolute()
        or PureWindowsPath(relative).anchor
        or ".." in pure.parts
        or "\x00" in relative
    ):
        raise NoSuchFile(relative, field)
    real_root = Path(root).resolve()
    real = real_root.joinpath(*pure.parts).resolve()
    try:
        real.relative_to(real_root)
    except ValueError:
        raise NoSuchFile(relative, field) from None
    return real
