"""The commands' log handler (cli/log_lines.py): whole lines, one write each, no lock."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from pathlib import Path

from iota_container.cli.log_lines import LineHandler
from iota_container.cli.scheduler_commands import JsonLogFormatter

THREADS, LINES = 8, 400


def _logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(f"tests.log_lines.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _log_from_threads(logger: logging.Logger) -> None:
    def log_lines(number: int) -> None:
        for line in range(LINES):
            # Long enough that two writes' bytes would mix if a line took more than one.
            logger.info("thread %d line %d %s", number, line, "x" * 300, extra={"fields": {}})

    threads = [threading.Thread(target=log_lines, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _assert_whole(text: str) -> None:
    lines = text.splitlines()
    assert len(lines) == THREADS * LINES
    seen = {json.loads(line)["message"].rsplit(" ", 1)[0] for line in lines}
    assert len(seen) == THREADS * LINES  # every line once, each one whole JSON


def test_lines_from_many_threads_come_out_whole_through_a_pipe(tmp_path: Path) -> None:
    reading, writing = os.pipe()
    chunks: list[bytes] = []

    def drain() -> None:
        while chunk := os.read(reading, 65536):
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(writing, "w", encoding="utf-8") as stream:
        handler = LineHandler(stream)
        handler.setFormatter(JsonLogFormatter())
        _log_from_threads(_logger(handler, "pipe"))
    reader.join()
    os.close(reading)
    _assert_whole(b"".join(chunks).decode("utf-8"))


def test_lines_from_many_threads_come_out_whole_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.log"
    with path.open("w", encoding="utf-8") as stream:
        handler = LineHandler(stream)
        handler.setFormatter(JsonLogFormatter())
        _log_from_threads(_logger(handler, "file"))
    _assert_whole(path.read_text(encoding="utf-8"))


def test_a_line_is_written_while_another_thread_holds_the_handlers_lock(tmp_path: Path) -> None:
    """What the handler is for: no thread waits for another's write. A StreamHandler
    would wait here for the lock until the holder let go."""
    path = tmp_path / "log"
    with path.open("w", encoding="utf-8") as stream:
        handler = LineHandler(stream)
        logger = _logger(handler, "lock")
        written = threading.Event()

        def log_one() -> None:
            logger.info("while the lock is held")
            written.set()

        assert handler.lock is not None
        with handler.lock:
            thread = threading.Thread(target=log_one, daemon=True)
            thread.start()
            assert written.wait(10), "the record waited for the handler's lock"
        thread.join()
    assert path.read_text(encoding="utf-8") == "while the lock is held\n"


def test_a_stream_without_a_descriptor_is_written_as_streamhandler_writes_it() -> None:
    """A test runner's captured stderr, or any text buffer: no fileno() to write to."""
    stream = io.StringIO()
    handler = LineHandler(stream)
    handler.setFormatter(logging.Formatter("iota-container: %(message)s"))
    logger = _logger(handler, "buffer")
    logger.info("one %s", "line")
    logger.debug("not at INFO")
    assert stream.getvalue() == "iota-container: one line\n"


def test_a_character_the_stream_cannot_encode_is_escaped_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with path.open("w", encoding="ascii") as stream:
        logger = _logger(LineHandler(stream), "ascii")
        logger.info("caf\u00e9 \u2713")
    assert path.read_text(encoding="ascii") == "caf\\xe9 \\u2713\n"
