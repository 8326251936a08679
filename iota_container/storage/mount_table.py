"""The mount table (/proc/self/mounts), parsed once and read again only when it changes.

Every local put asks which file system its folder is on (local.py refuses the kernel's),
and reading and parsing the table costs more than the rest of the put's checks together
(a Docker host has hundreds of mounts). proc(5): the file is pollable; a mount or an
unmount in the process's mount namespace marks every open descriptor of it with POLLPRI
(and POLLERR), once per change. So one descriptor is kept open, and `poll(fd, 0)` before
each lookup says whether the parsed table is still the kernel's: no change can be missed,
since a change made while the table is read is reported by the next poll.

A forked child opens its own descriptor: the one it inherits shares the parent's open
file, whose change mark the first poll of either process would take from the other.
Where there is no such file (not Linux), every lookup answers None.
"""

from __future__ import annotations

import os
import select
import threading
from contextlib import suppress

MOUNTS_FILE = "/proc/self/mounts"
_CHANGED = select.POLLPRI | select.POLLERR


class MountTable:
    """The file system type of a folder, by the longest mount point that holds it."""

    def __init__(self, path: str = MOUNTS_FILE) -> None:
        self._path = path
        self._lock = threading.Lock()  # puts may come from several threads at once
        self._descriptor: int | None = None
        self._owner = 0  # the pid that opened the descriptor
        self._poller: select.poll | None = None
        # (mount point, its folders' prefix, file system type), longest mount point
        # first; of two mounts on one point, the later (the one on top) first.
        self._mounts: list[tuple[str, str, str]] = []

    def file_system(self, real_folder: str) -> str | None:
        """The type of the file system `real_folder` (absolute, links resolved) is on."""
        with self._lock:
            mounts = self._current()
        for mount_point, prefix, file_system in mounts:
            if real_folder == mount_point or real_folder.startswith(prefix):
                return file_system
        return None

    def close(self) -> None:
        with self._lock:
            self._forget()

    def _current(self) -> list[tuple[str, str, str]]:
        if self._descriptor is None or self._owner != os.getpid():
            if self._descriptor is not None:
                self._forget()
            try:
                self._open()
            except OSError:
                return []
        elif not self._changed():
            return self._mounts
        try:
            self._mounts = _parse(self._read())
        except OSError:
            self._forget()
            return []
        return self._mounts

    def _open(self) -> None:
        descriptor = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        poller = select.poll()
        poller.register(descriptor, _CHANGED)
        self._descriptor, self._owner, self._poller = descriptor, os.getpid(), poller

    def _changed(self) -> bool:
        assert self._poller is not None
        return any(events & _CHANGED for _, events in self._poller.poll(0))

    def _read(self) -> str:
        assert self._descriptor is not None
        os.lseek(self._descriptor, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self._descriptor, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", errors="surrogateescape")

    def _forget(self) -> None:
        descriptor, self._descriptor, self._poller, self._mounts = self._descriptor, None, None, []
        if descriptor is not None:
            with suppress(OSError):  # in a forked child, its own copy: the parent's stays open
                os.close(descriptor)


def _parse(text: str) -> list[tuple[str, str, str]]:
    mounts = []
    for order, line in enumerate(text.splitlines()):
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((_unescape_mount_point(fields[1]), fields[2], order))
    mounts.sort(key=lambda mount: (-len(mount[0]), -mount[2]))
    return [(point, point.rstrip("/") + "/", file_system) for point, file_system, _ in mounts]


def _unescape_mount_point(text: str) -> str:
    # The mount table writes space, tab, newline and backslash as octal escapes.
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escaped, plain)
    return text


MOUNTS = MountTable()  # the process's table, shared by every local store
