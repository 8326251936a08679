"""Durations read from settings (environment variables, options): one parser, one message."""

from __future__ import annotations

import math

from iota_container.errors import IotaError


def positive_seconds(text: str, name: str, error: type[IotaError], example: str) -> float:
    """`text` as a positive, finite number of seconds; else `error` naming the setting
    (`name`) and, as the fix, an `example` of a good value (`IOTA_X_TIMEOUT=30`)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise error(
            f"{name} {text!r} is not a number of seconds: set it to a positive number, "
            f"e.g. {example}"
        )
    return seconds
