"""One lock file a dataset: whoever holds it is creating that dataset's version.

An flock belongs to an open file, and the kernel drops it when the process holding it
ends, however it ends (SIGKILL included). So "is the lock free?" answers "is the process
that was running this version gone?" without pids, which get reused, or boot times.
flock on two descriptors conflicts even within one process, so threads serialize too.
The descriptor is not inherited by children (PEP 446): a notebook or SQL command that
outlives a killed engine cannot keep the dataset locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iota_container.errors import IotaError


class DatasetBusy(IotaError):
    """Another process is creating a version of this dataset right now."""


class HeldLock:
    """A dataset's lock, taken by one call and released by another: a scheduler claims a
    run in its main loop and a worker thread runs it later. Releasing twice is harmless."""

    def __init__(self, descriptor: int, *, shared: bool = False) -> None:
        """`shared`: a copy of a descriptor another process holds the lock through too
        (passed to a worker process with its run): releasing it only closes it, since
        unlocking would unlock the one open file both descriptors share."""
        self._descriptor: int | None = descriptor
        self._shared = shared

    def fileno(self) -> int:
        """The descriptor, to pass to a process that runs the dataset while it is held."""
        if self._descriptor is None:
            raise ValueError("the dataset lock was released")
        return self._descriptor

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None and self._shared:
            os.close(descriptor)
        elif descriptor is not None:
            _release(descriptor)


def take_dataset_lock(path: Path, dataset: str, *, wait: bool = True) -> HeldLock:
    """The dataset's lock, held until released; waits for it, or raises DatasetBusy."""
    descriptor = _acquire(path, wait=wait)
    if descriptor is None:
        raise DatasetBusy(
            f"dataset {dataset!r} is running in another process: wait for it to finish"
        )
    return HeldLock(descriptor)


@contextmanager
def dataset_lock(path: Path, dataset: str, *, wait: bool = True) -> Iterator[None]:
    """Hold the dataset's lock for the block; waits for it, or raises DatasetBusy."""
    lock = take_dataset_lock(path, dataset, wait=wait)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def lock_if_free(path: Path) -> Iterator[bool]:
    """True (and held for the block) when nobody holds the lock; never waits."""
    descriptor = _acquire(path, wait=False)
    try:
        yield descriptor is not None
    finally:
        if descriptor is not None:
            _release(descriptor)


def _acquire(path: Path, *, wait: bool) -> int | None:
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileNotFoundError:  # the folder first, only when missing: a scheduler takes many
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, flags, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _release(descriptor: int) -> None:
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    os.close(descriptor)
