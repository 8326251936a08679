"""Build progress: a live bar per layer on a terminal, plain log lines otherwise (CI logs,
pipes), so both a person and a log reader see what is moving."""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

from iota_container.steps import format_bytes

if TYPE_CHECKING:
    from iota_container.image.spec import Phase

log = logging.getLogger("iota_container")


class ConsoleProgress:
    """Implements image.spec.Progress."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        self._logged_quarter: dict[str, int] = {}
        self._phase: Phase | None = None

    def __enter__(self) -> ConsoleProgress:
        if self.interactive:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    def step(self, message: str) -> None:
        if self._bars is not None:
            self._bars.console.print(message)
        else:
            log.info("%s", message)

    def phase(self, name: Phase) -> None:
        # The steps already say what happens; the phase only separates a layer's pull
        # from its push, which share a label.
        self._phase = name

    def transfer(self, label: str, done: int, total: int) -> None:
        if self._phase == "pushing":
            label = f"push {label}"
        if self._bars is not None:
            if label not in self._tasks:
                self._tasks[label] = self._bars.add_task(label, total=total or None)
            self._bars.update(self._tasks[label], completed=done, total=total or None)
            return
        # Plain output: a line at the start and at each quarter, not one per chunk.
        quarter = 4 if total and done >= total else (4 * done // total if total else 0)
        if self._logged_quarter.get(label, -1) < quarter:
            self._logged_quarter[label] = quarter
            log.info(
                "%s: %s of %s", label, format_bytes(done), format_bytes(total) if total else "?"
            )
