"""Which days of a month an AWS cron expression fires on.

The day is the only part of a cron expression that needs a calendar: L, LW, nW, nL and
n#k depend on the month's length and on the weekday it starts with. Each rule answers one
question, `days_in(year, month)` (sorted days, maybe none), so the search for the next
fire time stays a plain walk over sorted tuples.

Day-of-week numbers are AWS's: 1-7 = SUN-SAT (Unix cron counts 0-6 from Sunday and
Python's `weekday()` 0-6 from Monday; `python_weekday` is the one place that converts).
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from iota_container.schedule.words import ORDINALS, WEEKDAY_NAMES, value_list

SATURDAY = 7  # AWS numbering
_PY_SATURDAY, _PY_SUNDAY = 5, 6  # Python's weekday() numbering


def python_weekday(aws_day: int) -> int:
    """AWS SUN=1 .. SAT=7 to Python MON=0 .. SUN=6."""
    return (aws_day + 5) % 7


def weekday_name(aws_day: int) -> str:
    return WEEKDAY_NAMES[aws_day - 1]


class DayRule(Protocol):
    def days_in(self, year: int, month: int) -> tuple[int, ...]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class DaysOfMonth:
    """Plain day-of-month values (`1,15`, `1-7`, `*`); days past the month's end never fire."""

    days: tuple[int, ...]

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        return self.days[: bisect_right(self.days, calendar.monthrange(year, month)[1])]

    def describe(self) -> str:
        if len(self.days) == 31:
            return "every day"
        noun = "day" if len(self.days) == 1 else "days"
        return f"on {noun} {value_list(self.days)} of the month"


@dataclass(frozen=True)
class LastDayOfMonth:
    """`L` in day-of-month."""

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        return (calendar.monthrange(year, month)[1],)

    def describe(self) -> str:
        return "on the last day of the month"


@dataclass(frozen=True)
class LastWeekdayOfMonth:
    """`LW`: the last Monday-to-Friday day of the month."""

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first_weekday, last = calendar.monthrange(year, month)
        weekday = (first_weekday + last - 1) % 7
        back = {_PY_SATURDAY: 1, _PY_SUNDAY: 2}.get(weekday, 0)
        return (last - back,)

    def describe(self) -> str:
        return "on the last weekday of the month"


@dataclass(frozen=True)
class NearestWeekday:
    """`15W`: the weekday nearest the given day, never crossing into another month.

    A Saturday moves back to Friday and a Sunday forward to Monday, except at the month's
    edges (1W on a Saturday is Monday the 3rd; the last day on a Sunday is Friday), as in
    Quartz, which AWS's syntax follows. A month too short for the day does not fire,
    like a plain day-of-month value.
    """

    day: int

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first_weekday, last = calendar.monthrange(year, month)
        if self.day > last:
            return ()
        weekday = (first_weekday + self.day - 1) % 7
        if weekday == _PY_SATURDAY:
            return (self.day + 2,) if self.day == 1 else (self.day - 1,)
        if weekday == _PY_SUNDAY:
            return (self.day - 2,) if self.day == last else (self.day + 1,)
        return (self.day,)

    def describe(self) -> str:
        return f"on the weekday nearest day {self.day} of the month"


def _weekday_days(year: int, month: int, aws_day: int) -> range:
    """The days of the month that fall on one weekday."""
    first_weekday, last = calendar.monthrange(year, month)
    first = 1 + (python_weekday(aws_day) - first_weekday) % 7
    return range(first, last + 1, 7)


@lru_cache(maxsize=4096)  # 127 weekday sets x 28 month shapes: the cache cannot grow past it
def _days_on_weekdays(weekdays: tuple[int, ...], first_weekday: int, last: int) -> tuple[int, ...]:
    wanted = {python_weekday(w) for w in weekdays}
    return tuple(d for d in range(1, last + 1) if (first_weekday + d - 1) % 7 in wanted)


@dataclass(frozen=True)
class Weekdays:
    """Plain day-of-week values (`MON-FRI`, `1,7`, `*`) in AWS numbering."""

    weekdays: tuple[int, ...]

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        return _days_on_weekdays(self.weekdays, *calendar.monthrange(year, month))

    def describe(self) -> str:
        if len(self.weekdays) == 7:
            return "every day"
        return "on " + value_list(self.weekdays, weekday_name)


@dataclass(frozen=True)
class LastWeekdayOf:
    """`6L` in day-of-week: the last Friday of the month."""

    weekday: int

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        return (_weekday_days(year, month, self.weekday)[-1],)

    def describe(self) -> str:
        return f"on the last {weekday_name(self.weekday)} of the month"


@dataclass(frozen=True)
class NthWeekdayOf:
    """`3#2`: the second Tuesday of the month; months without a fifth one do not fire."""

    weekday: int
    occurrence: int

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        days = _weekday_days(year, month, self.weekday)
        return (days[self.occurrence - 1],) if self.occurrence <= len(days) else ()

    def describe(self) -> str:
        ordinal = ORDINALS[self.occurrence - 1]
        return f"on the {ordinal} {weekday_name(self.weekday)} of the month"
