"""One log line per step of a run, with its duration; the durations are kept for reports."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("iota_container")


class StepTimer:
    def __init__(self) -> None:
        self.durations: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, str]]:
        """Time a step; the block may put a short `detail` into the yielded dict."""
        started = time.perf_counter()
        info: dict[str, str] = {}
        succeeded = False
        try:
            yield info
            succeeded = True
        finally:
            elapsed = time.perf_counter() - started
            self.durations[name] = round(elapsed, 4)
            detail = f" ({info['detail']})" if info.get("detail") else ""
            # A failure is reported once, by the error itself; its step line is for --debug.
            level = logging.INFO if succeeded else logging.DEBUG
            outcome = "done" if succeeded else "failed"
            log.log(level, "%s%s: %s in %s", name, detail, outcome, format_duration(elapsed))


def format_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
