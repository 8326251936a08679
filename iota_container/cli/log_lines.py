"""The commands' log handler: each record one write(2) of its whole line, with no lock.

logging.StreamHandler holds its lock through the stream's write, and the write lets go
of the interpreter lock: a scheduler's worker threads, which log two lines for every
run (a thousand runs a minute), then queue up behind that lock, each a sleep and a wake
more per line, on machines whose cores the runs themselves need. A single write(2) of
a whole line needs no lock of ours: the kernel keeps it whole, in a pipe (up to
PIPE_BUF bytes, 4096 on Linux), a terminal or a file (the offset moves atomically), and
the line is formatted before, outside any lock.

A stream without a file descriptor (a test runner's capture of sys.stderr) is written
as StreamHandler writes it. Lines go to the descriptor directly, so text written to the
same stream through Python and still in its buffer (never a whole line: stderr is
line-buffered) may come out after them.
"""

from __future__ import annotations

import io
import logging
import os
from typing import TextIO


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._descriptor: int | None
        try:
            self._descriptor = stream.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._descriptor = None
        self._encoding = getattr(stream, "encoding", None) or "utf-8"

    def handle(self, record: logging.LogRecord) -> bool:
        if self._descriptor is None:
            return bool(super().handle(record))
        passed = self.filter(record)
        if not passed:
            return False
        # Python 3.12's filters may hand back a changed record to log instead.
        self.emit(passed if isinstance(passed, logging.LogRecord) else record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self._descriptor is None:
            super().emit(record)
            return
        try:
            line = self.format(record) + self.terminator
            data = memoryview(line.encode(self._encoding, "backslashreplace"))
            while data:  # a pipe or a file may take less than all of it at once
                data = data[os.write(self._descriptor, data) :]
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
