"""English descriptions of schedules, for the UI preview and CLI listings.

Descriptions are read by people deciding whether a schedule is the one they meant, so
they favour the common shapes ("at 12:00 UTC every day", "every 15 minutes on Monday
through Friday") and fall back to listing values, never to a wrong summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from iota_container.schedule.fields import CronFields
from iota_container.schedule.words import MONTH_NAMES, english_list, value_list

# Beyond this many clock times a list stops being readable; describe the pattern instead.
MAX_LISTED_TIMES = 6


def uniform_step(values: Sequence[int], lo: int, hi: int) -> int | None:
    """The step s when values are exactly lo, lo+s, lo+2s ... up to hi (a `0/s` field)."""
    if len(values) < 2:
        return None
    step = values[1] - values[0]
    if tuple(values) == tuple(range(lo, hi + 1, step)) and hi - values[-1] < step:
        return step
    return None


def plural(count: int, unit: str) -> str:
    return f"every {unit}" if count == 1 else f"every {count} {unit}s"


def _clock(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _minutes_phrase(minutes: Sequence[int]) -> str:
    if len(minutes) == 60:
        return "every minute"
    step = uniform_step(minutes, 0, 59)
    if step is not None:
        return plural(step, "minute")
    noun = "minute" if len(minutes) == 1 else "minutes"
    return f"at {noun} {value_list(minutes)}"


def describe_time(minutes: Sequence[int], hours: Sequence[int]) -> str:
    """The time-of-day part: which minutes of which hours, in UTC."""
    if len(minutes) == 60 and len(hours) == 24:
        return "every minute"
    if len(minutes) * len(hours) <= MAX_LISTED_TIMES:
        return "at " + english_list([_clock(h, m) for h in hours for m in minutes]) + " UTC"
    minutes_part = _minutes_phrase(minutes)
    if len(hours) == 24:
        return minutes_part if minutes_part.startswith("every") else f"{minutes_part} of every hour"
    hour_step = uniform_step(hours, 0, 23)
    if len(minutes) == 1 and hour_step is not None:
        return f"{plural(hour_step, 'hour')} from {_clock(0, minutes[0])} UTC"
    if hours[-1] - hours[0] == len(hours) - 1:
        first, last = _clock(hours[0], minutes[0]), _clock(hours[-1], minutes[-1])
        return f"{minutes_part} from {first} to {last} UTC"
    hour_list = value_list(hours, lambda h: _clock(h, 0))
    return f"{minutes_part} of the hours starting {hour_list} UTC"


def describe_cron(fields: CronFields) -> str:
    time = describe_time(fields.minutes, fields.hours)
    days = fields.days.describe()
    # "every 15 minutes every day" says nothing more than "every 15 minutes".
    said_daily = time.startswith("every") or len(fields.hours) == 24
    text = time if days == "every day" and said_daily else f"{time} {days}"
    if len(fields.months) < 12:
        text += " in " + value_list(fields.months, lambda m: MONTH_NAMES[m - 1])
    if not fields.every_year:
        text += " in " + value_list(fields.years)
    return text
