"""Text as the CLI prints it: every message on one line."""

from __future__ import annotations

# Long enough for an engine's or a registry's own sentence, short enough for a terminal.
ONE_LINE_LIMIT = 300


def one_line(text: str, limit: int = ONE_LINE_LIMIT) -> str:
    """`text` with its whitespace runs (newlines too) collapsed to single spaces, cut to
    `limit` characters with an ellipsis, so an outside tool's words fit in one message."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"
