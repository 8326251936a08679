"""Parsing of AWS cron expressions: cron(Minutes Hours Day-of-month Month Day-of-week Year).

This is the EventBridge (Quartz-like) syntax, not Unix cron: six fields in UTC,
day-of-week 1-7 = SUN-SAT, years 1970-2199, exactly one of the two day fields is `?`
(the service rejects an expression that sets both, `*` counting as set), and the day
fields take L, LW, nW, nL and n#k. Those special forms stand alone in their field, as in
Quartz; ranges must run forwards (write 22-23,0-2 for a range across midnight), and a step
is at most the field's largest value. Names (JAN-DEC, SUN-SAT) are case-insensitive.

Every problem becomes one `ScheduleError` line that quotes the expression, names the
field and the rule, and shows the fix; so does an expression that can never fire
(`cron(0 0 30 2 ? *)`), which AWS accepted and never ran.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from iota_container.errors import IotaError
from iota_container.schedule.days import (
    SATURDAY,
    DayRule,
    DaysOfMonth,
    LastDayOfMonth,
    LastWeekdayOf,
    LastWeekdayOfMonth,
    NearestWeekday,
    NthWeekdayOf,
    Weekdays,
)
from iota_container.schedule.words import MONTH_NAMES, value_list

FIELD_ORDER = "Minutes Hours Day-of-month Month Day-of-week Year"
_NUMBER = re.compile(r"[0-9]+")  # not str.isdigit: that accepts "²" and other digits
_SINGLE_DAY = r"([0-9]+|[A-Z]+)"


class ScheduleError(IotaError):
    """A schedule expression breaks the AWS syntax; the message names the field and rule."""


class _FieldError(Exception):
    """A problem found inside one field; `parse_cron_fields` prefixes the expression."""


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: Mapping[str, int] = field(default_factory=dict)

    def allowed(self) -> str:
        if not self.names:
            return f"{self.lo}-{self.hi}"
        names = list(self.names)
        return f"{self.lo}-{self.hi} or {names[0]}-{names[-1]}"


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MINUTES = _Field("minutes", 0, 59)
HOURS = _Field("hours", 0, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, {name: i for i, name in enumerate(_MONTHS, start=1)})
DAY_OF_WEEK = _Field("day-of-week", 1, 7, {name: i for i, name in enumerate(_DAYS, start=1)})
YEAR = _Field("year", 1970, 2199)


@dataclass(frozen=True)
class CronFields:
    """The fire times of a cron expression, each field expanded to sorted values."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DayRule
    months: tuple[int, ...]
    years: tuple[int, ...]

    @property
    def every_year(self) -> bool:
        return len(self.years) == YEAR.hi - YEAR.lo + 1


def parse_cron_fields(expression: str, body: str) -> CronFields:
    """Parse the text between `cron(` and `)`; `expression` is quoted in error messages."""
    texts = body.split()
    if len(texts) != 6:
        raise ScheduleError(
            f"{expression}: has {len(texts)} fields but AWS cron needs 6 ({FIELD_ORDER}), "
            "e.g. cron(0 12 * * ? *)"
        )
    _check_day_fields(expression, texts)
    try:
        fields = CronFields(
            minutes=_values(texts[0], MINUTES),
            hours=_values(texts[1], HOURS),
            days=_day_of_week(texts[4]) if texts[2] == "?" else _day_of_month(texts[2]),
            months=_values(texts[3], MONTH),
            years=_values(texts[5], YEAR),
        )
    except _FieldError as e:
        raise ScheduleError(f"{expression}: {e}") from e
    _check_fires(expression, fields)
    return fields


def _check_fires(expression: str, fields: CronFields) -> None:
    """Refuse an expression no date of its months and years matches (day 30 of February,
    the 31st of a 30-day month, a fifth Monday in a year's Februaries without one): AWS
    accepted it, and it never ran. One month that has a matching day ends the search, so
    a usual expression costs one month; an impossible one, every month up to 2199."""
    if any(fields.days.days_in(year, month) for year in fields.years for month in fields.months):
        return
    months = value_list(fields.months, lambda month: MONTH_NAMES[month - 1])
    years = "any year" if fields.every_year else f"{value_list(fields.years)}"
    raise ScheduleError(
        f"{expression}: can never fire: no day in {months} of {years} is "
        f"{fields.days.describe().removeprefix('on ')}; change the day or the months so that "
        "they meet (L is the last day of any month)"
    )


def _check_day_fields(expression: str, texts: list[str]) -> None:
    """AWS needs `?` in exactly one of day-of-month and day-of-week."""
    day_of_month, day_of_week = texts[2], texts[4]
    if day_of_month == "?" and day_of_week == "?":
        fixed = _with_field(texts, 2, "*")
        raise ScheduleError(
            f"{expression}: day-of-month and day-of-week are both ?; set one of them, e.g. {fixed}"
        )
    if day_of_month != "?" and day_of_week != "?":
        # Keep the field that says something; with two `*`, keep "every day of the month".
        fixed = _with_field(texts, 2 if day_of_month == "*" and day_of_week != "*" else 4, "?")
        raise ScheduleError(
            f"{expression}: day-of-month and day-of-week are both set; "
            f"AWS needs ? in one of them, e.g. {fixed}"
        )


def _with_field(texts: list[str], index: int, value: str) -> str:
    return "cron(" + " ".join([*texts[:index], value, *texts[index + 1 :]]) + ")"


def _values(text: str, spec: _Field) -> tuple[int, ...]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item_values(item, text, spec))
    return tuple(sorted(values))


def _item_values(item: str, text: str, spec: _Field) -> range:
    """One list item: `*`, `5`, `MON`, `1-5`, with an optional `/step`."""
    if not item:
        raise _FieldError(f"{spec.name} {text!r} has an empty list item; remove the extra comma")
    if "?" in item:
        raise _FieldError(
            f"{spec.name} {text!r} uses ?, which only stands alone in day-of-month or "
            "day-of-week; use * for every value"
        )
    base, slash, step_text = item.partition("/")
    step = _step(step_text, text, spec) if slash else 1
    if base == "*":
        return range(spec.lo, spec.hi + 1, step)
    first, dash, last = base.partition("-")
    lo = _value(first, text, spec)
    # `5/15` means from 5 to the field's end, as in Quartz.
    hi = _value(last, text, spec) if dash else (spec.hi if slash else lo)
    if hi < lo:
        raise _FieldError(
            f"{spec.name} range {base}{_within(base, text)} runs backwards; "
            f"split it in two, e.g. {lo}-{spec.hi},{spec.lo}-{hi}"
        )
    return range(lo, hi + 1, step)


def _value(token: str, text: str, spec: _Field) -> int:
    if _NUMBER.fullmatch(token):
        value = int(token)
    elif token.upper() in spec.names:
        return spec.names[token.upper()]
    else:
        raise _FieldError(
            f"{spec.name} {token!r}{_within(token, text)} is not a value; use {spec.allowed()}"
        )
    if not spec.lo <= value <= spec.hi:
        raise _FieldError(f"{spec.name} {value} is out of range; use {spec.allowed()}")
    return value


def _step(token: str, text: str, spec: _Field) -> int:
    # Quartz's limit: a step may not exceed the field's largest value.
    if not _NUMBER.fullmatch(token) or not 1 <= int(token) <= spec.hi:
        raise _FieldError(
            f"{spec.name} step {token!r}{_within(token, text)} must be a whole number "
            f"from 1 to {spec.hi}"
        )
    return int(token)


def _within(part: str, text: str) -> str:
    """Quote the whole field too when the bad part is only a piece of it."""
    return "" if part == text else f" in {text!r}"


def _day_of_month(text: str) -> DayRule:
    upper = text.upper()
    if upper == "L":
        return LastDayOfMonth()
    if upper == "LW":
        return LastWeekdayOfMonth()
    if "L" not in upper and "W" not in upper:
        return DaysOfMonth(_values(text, DAY_OF_MONTH))
    nearest = re.fullmatch(r"([0-9]+)W", upper)
    if nearest is None:
        raise _FieldError(
            f"day-of-month {text!r}: L, LW and nW stand alone, not in a list, range or step; "
            "e.g. L, LW or 15W"
        )
    return NearestWeekday(_value(nearest[1], text, DAY_OF_MONTH))


def _day_of_week(text: str) -> DayRule:
    upper = text.upper()
    if upper == "L":
        # Alone in day-of-week, L is the last day of the week (Quartz and AWS: Saturday).
        return Weekdays((SATURDAY,))
    if "#" in upper:
        nth = re.fullmatch(_SINGLE_DAY + r"#([0-9]+)", upper)
        if nth is None or not 1 <= int(nth[2]) <= 5:
            raise _FieldError(
                f"day-of-week {text!r}: # takes one day and an occurrence 1-5, "
                "e.g. 3#2 (the second Tuesday), and stands alone"
            )
        return NthWeekdayOf(_value(nth[1], text, DAY_OF_WEEK), int(nth[2]))
    if "L" in upper:
        last = re.fullmatch(_SINGLE_DAY + "L", upper)
        if last is None:
            raise _FieldError(
                f"day-of-week {text!r}: L follows one day, e.g. 6L (the last Friday), "
                "and stands alone, not in a list, range or step"
            )
        return LastWeekdayOf(_value(last[1], text, DAY_OF_WEEK))
    return Weekdays(_values(text, DAY_OF_WEEK))
