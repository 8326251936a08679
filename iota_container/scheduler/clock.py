"""The scheduler's clock: the system's UTC time, or a file's, for tests and simulations.

IOTA_SCHEDULER_CLOCK_FILE names a file holding one ISO 8601 time with a zone, e.g.
`2025-03-01T12:00:05Z`. When it is set, the scheduler reads the current time from that
file at every look, and so does `dataset resume --latest-only`, which must agree with the
scheduler on which windows were missed. It is a testing and simulation aid: a test moves
time on by a minute by rewriting the file, and a real scheduler process runs that
minute's windows at once, instead of the test waiting a real minute. Nothing else reads
the variable; the versions a scheduler creates carry the file's time as well.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from iota_container.engine.records import utc_now
from iota_container.engine.state_store import Clock
from iota_container.errors import IotaError

CLOCK_FILE_ENV = "IOTA_SCHEDULER_CLOCK_FILE"


class FileClock:
    """The time written in a file, read again at every call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> datetime:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise IotaError(
                f"{CLOCK_FILE_ENV} names {str(self.path)!r}, which cannot be read "
                f"({e.strerror or e}): write a time such as 2025-03-01T12:00:00Z there, "
                f"or unset {CLOCK_FILE_ENV}"
            ) from e
        try:
            # fromisoformat reads a trailing Z only from Python 3.11 on.
            iso = text[:-1] + "+00:00" if text.endswith("Z") else text
            moment = datetime.fromisoformat(iso)
        except ValueError as e:
            raise IotaError(
                f"{CLOCK_FILE_ENV} file {str(self.path)!r} holds {text!r}, which is not an "
                "ISO 8601 time: write one with its zone, e.g. 2025-03-01T12:00:00Z"
            ) from e
        if moment.tzinfo is None:
            raise IotaError(
                f"{CLOCK_FILE_ENV} file {str(self.path)!r} holds {text!r}, a time without a "
                "zone: add one, e.g. 2025-03-01T12:00:00Z"
            )
        return moment.astimezone(timezone.utc)


def scheduler_clock(environ: Mapping[str, str] = os.environ) -> Clock:
    """The system clock, or the FileClock that IOTA_SCHEDULER_CLOCK_FILE names."""
    path = environ.get(CLOCK_FILE_ENV)
    return FileClock(Path(path)) if path else utc_now
