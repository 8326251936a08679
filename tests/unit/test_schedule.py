"""Schedule expressions: AWS syntax, its rejections, fire times, rate anchoring, catch-up.

The property tests compare `next_after` and `fire_times_between` with a brute-force
matcher written here from the AWS rules, independently of the module's field parser and
day rules: the expression generator knows what each field it writes means.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iota_container.errors import IotaError
from iota_container.schedule.expressions import (
    CronSchedule,
    RateSchedule,
    Schedule,
    ScheduleError,
    parse_schedule,
)

UTC = timezone.utc
MINUTE = timedelta(minutes=1)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def next_times(expression: str, after: datetime, count: int = 3) -> list[datetime]:
    return parse_schedule(expression).preview(count, after)


def cron_fields(expression: str) -> CronSchedule:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    return schedule


# --- parsing ---------------------------------------------------------------------------

AWS_EXAMPLES = {
    # From the EventBridge / CloudWatch Events schedule expression documentation.
    "cron(0 10 * * ? *)": ("at 10:00 UTC every day", at(2024, 5, 2, 10)),
    "cron(15 12 * * ? *)": ("at 12:15 UTC every day", at(2024, 5, 1, 12, 15)),
    "cron(0 18 ? * MON-FRI *)": ("at 18:00 UTC on Monday through Friday", at(2024, 5, 1, 18)),
    "cron(0 8 1 * ? *)": ("at 08:00 UTC on day 1 of the month", at(2024, 6, 1, 8)),
    "cron(0/15 * * * ? *)": ("every 15 minutes", at(2024, 5, 1, 11, 45)),
    "cron(0/10 * ? * MON-FRI *)": (
        "every 10 minutes on Monday through Friday",
        at(2024, 5, 1, 11, 40),
    ),
    "cron(0/5 8-17 ? * MON-FRI *)": (
        "every 5 minutes from 08:00 to 17:55 UTC on Monday through Friday",
        at(2024, 5, 1, 11, 35),
    ),
    "cron(0 9 ? * 2#1 *)": ("at 09:00 UTC on the first Monday of the month", at(2024, 5, 6, 9)),
    "cron(15 10 ? * 6L 2019-2030)": (
        "at 10:15 UTC on the last Friday of the month in 2019 through 2030",
        at(2024, 5, 31, 10, 15),
    ),
    "cron(0 12 * * ? *)": ("at 12:00 UTC every day", at(2024, 5, 1, 12)),
    "cron(0 0 L * ? *)": ("at 00:00 UTC on the last day of the month", at(2024, 5, 31)),
    "cron(0 0 LW * ? *)": ("at 00:00 UTC on the last weekday of the month", at(2024, 5, 31)),
    "cron(0 0 15W * ? *)": (
        "at 00:00 UTC on the weekday nearest day 15 of the month",
        at(2024, 5, 15),
    ),
    "cron(0 12 * JAN,APR,JUL,OCT ? *)": (
        "at 12:00 UTC every day in January, April, July and October",
        at(2024, 7, 1, 12),
    ),
    "cron(30 0/6 * * ? *)": (
        "at 00:30, 06:30, 12:30 and 18:30 UTC every day",
        at(2024, 5, 1, 12, 30),
    ),
    "cron(0 0/2 * * ? *)": ("every 2 hours from 00:00 UTC", at(2024, 5, 1, 12)),
    "cron(5,35 * * * ? *)": ("at minutes 5 and 35 of every hour", at(2024, 5, 1, 11, 35)),
    "cron(* * * * ? *)": ("every minute", at(2024, 5, 1, 11, 31)),
    "cron(0 12 ? * L *)": ("at 12:00 UTC on Saturday", at(2024, 5, 4, 12)),
    "cron(0 7 ? * 1,7 *)": ("at 07:00 UTC on Sunday and Saturday", at(2024, 5, 4, 7)),
    "rate(1 minute)": ("every minute", at(2024, 5, 1, 11, 31)),
    "rate(5 minutes)": ("every 5 minutes", at(2024, 5, 1, 11, 35)),
    "rate(1 hour)": ("every hour", at(2024, 5, 1, 12)),
    "rate(12 hours)": ("every 12 hours", at(2024, 5, 1, 12)),
    "rate(1 day)": ("every day", at(2024, 5, 2)),
    "rate(7 days)": ("every 7 days", at(2024, 5, 2)),  # from the epoch, a Thursday
}


@pytest.mark.parametrize("expression", AWS_EXAMPLES)
def test_aws_examples_parse_describe_and_fire(expression: str) -> None:
    description, first_fire = AWS_EXAMPLES[expression]
    schedule = parse_schedule(expression)
    assert schedule.describe() == description
    assert schedule.next_after(at(2024, 5, 1, 11, 30, 15)) == first_fire  # a Wednesday
    assert str(schedule) == expression


@pytest.mark.parametrize(
    ("field_text", "minutes"),
    [
        ("*/20", (0, 20, 40)),
        ("5/15", (5, 20, 35, 50)),
        ("10-30/5", (10, 15, 20, 25, 30)),
        ("1,2,3", (1, 2, 3)),
        ("05,7-8", (5, 7, 8)),
        ("0-59", tuple(range(60))),
        ("59/59", (59,)),
    ],
)
def test_values_lists_ranges_and_steps(field_text: str, minutes: tuple[int, ...]) -> None:
    assert cron_fields(f"cron({field_text} 0 * * ? *)").fields.minutes == minutes


def test_names_are_case_insensitive_and_equal_their_numbers() -> None:
    by_name = cron_fields("cron(0 0 ? jan-mar Mon-Fri *)").fields
    by_number = cron_fields("cron(0 0 ? 1-3 2-6 *)").fields
    assert by_name == by_number
    assert cron_fields("cron(0 0 ? * fri#2 *)").fields == cron_fields("cron(0 0 ? * 6#2 *)").fields
    assert cron_fields("cron(0 0 ? * FRIL *)").fields == cron_fields("cron(0 0 ? * 6L *)").fields


def test_surrounding_and_repeated_whitespace_is_tolerated() -> None:
    assert parse_schedule("  cron(0  12 * * ?   *)\n").next_after(at(2024, 1, 1)) == at(
        2024, 1, 1, 12
    )


# --- rejections ------------------------------------------------------------------------

REJECTED = {
    # Each message quotes the expression, names the field and the rule, and shows a fix.
    "cron(0 12 * * 1 *)": "cron(0 12 * * 1 *): day-of-month and day-of-week are both set; "
    "AWS needs ? in one of them, e.g. cron(0 12 ? * 1 *)",
    "cron(0 12 * * * *)": "both set; AWS needs ? in one of them, e.g. cron(0 12 * * ? *)",
    "cron(0 12 1 * MON *)": "both set; AWS needs ? in one of them, e.g. cron(0 12 1 * ? *)",
    "cron(0 12 ? * ? *)": "are both ?; set one of them, e.g. cron(0 12 * * ? *)",
    "cron(0 12 * * ?)": "has 5 fields but AWS cron needs 6 (Minutes Hours Day-of-month Month",
    "cron(0 0 12 * * ? *)": "has 7 fields but AWS cron needs 6",
    "cron(60 12 * * ? *)": "minutes 60 is out of range; use 0-59",
    "cron(0 24 * * ? *)": "hours 24 is out of range; use 0-23",
    "cron(0 12 32 * ? *)": "day-of-month 32 is out of range; use 1-31",
    "cron(0 12 0 * ? *)": "day-of-month 0 is out of range; use 1-31",
    "cron(0 12 * 13 ? *)": "month 13 is out of range; use 1-12 or JAN-DEC",
    "cron(0 12 ? * 0 *)": "day-of-week 0 is out of range; use 1-7 or SUN-SAT",
    "cron(0 12 ? * 8 *)": "day-of-week 8 is out of range; use 1-7 or SUN-SAT",
    "cron(0 12 * * ? 1969)": "year 1969 is out of range; use 1970-2199",
    "cron(0 12 * * ? 2200)": "year 2200 is out of range; use 1970-2199",
    "cron(0 12 * FOO ? *)": "month 'FOO' is not a value; use 1-12 or JAN-DEC",
    "cron(0 12 ? * MON-MOM *)": "day-of-week 'MOM' in 'MON-MOM' is not a value; use 1-7 or SUN",
    "cron(+5 12 * * ? *)": "minutes '+5' is not a value; use 0-59",
    "cron(0 22-2 * * ? *)": "hours range 22-2 runs backwards; split it in two, e.g. 22-23,0-2",
    "cron(0/0 * * * ? *)": "minutes step '0' in '0/0' must be a whole number from 1 to 59",
    "cron(0/60 * * * ? *)": "minutes step '60' in '0/60' must be a whole number from 1 to 59",
    "cron(0 */x * * ? *)": "hours step 'x' in '*/x' must be a whole number from 1 to 23",
    "cron(1,,2 * * * ? *)": "minutes '1,,2' has an empty list item; remove the extra comma",
    "cron(? * * * ? *)": "minutes '?' uses ?, which only stands alone in day-of-month or day-of",
    "cron(0 12 1,? * MON *)": "day-of-month and day-of-week are both set",
    "cron(0 12 1,L * ? *)": "day-of-month '1,L': L, LW and nW stand alone",
    "cron(0 12 L-3 * ? *)": "day-of-month 'L-3': L, LW and nW stand alone",
    "cron(0 12 1-5W * ? *)": "day-of-month '1-5W': L, LW and nW stand alone",
    "cron(0 12 32W * ? *)": "day-of-month 32 is out of range; use 1-31",
    "cron(0 12 ? * 2#6 *)": "day-of-week '2#6': # takes one day and an occurrence 1-5, e.g. 3#2",
    "cron(0 12 ? * 2#0 *)": "day-of-week '2#0': # takes one day and an occurrence 1-5",
    "cron(0 12 ? * 2#1,3 *)": "day-of-week '2#1,3': # takes one day",
    "cron(0 12 ? * 8#1 *)": "day-of-week 8 is out of range",
    "cron(0 12 ? * 6L,2 *)": "day-of-week '6L,2': L follows one day, e.g. 6L (the last Friday)",
    "cron(0 12 ? * 2W *)": "day-of-week '2W' is not a value; use 1-7 or SUN-SAT",
    "every day": "'every day' is not a schedule expression; write cron(Minutes Hours",
    "Cron(0 12 * * ? *)": "is not a schedule expression; write cron(",
    "cron 0 12 * * ? *": "is not a schedule expression",
    "rate(5 minute)": "rate(5 minute): AWS needs the plural unit for 5: rate(5 minutes)",
    "rate(1 minutes)": "rate(1 minutes): AWS needs the singular unit for 1: rate(1 minute)",
    "rate(2 day)": "AWS needs the plural unit for 2: rate(2 days)",
    "rate(1 hours)": "AWS needs the singular unit for 1: rate(1 hour)",
    "rate(0 minutes)": "value '0' must be a whole number of 1 or more, e.g. rate(5 minutes)",
    "rate(-1 minutes)": "value '-1' must be a whole number of 1 or more",
    "rate(five minutes)": "value 'five' must be a whole number of 1 or more",
    "rate(5 weeks)": "unit 'weeks' is not one of minute(s), hour(s), day(s), e.g. rate(7 days)",
    "rate(1 Minute)": "unit 'Minute' is not one of minute(s), hour(s), day(s)",
    "rate(5)": "rate(5): a rate is a value and a unit, e.g. rate(15 minutes)",
    "rate(5 minutes please)": "a rate is a value and a unit",
    "rate(99999999999999 days)": "99999999999999 days is too long; use a shorter rate",
}


@pytest.mark.parametrize("expression", REJECTED)
def test_rejections_name_the_field_the_rule_and_the_fix(expression: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(expression)
    message = str(caught.value)
    assert REJECTED[expression] in message
    assert "\n" not in message
    assert isinstance(caught.value, IotaError)
    assert caught.value.exit_code == 2


def test_a_non_string_expression_is_a_schedule_error() -> None:
    with pytest.raises(ScheduleError, match="schedule expression 5 is not a string"):
        parse_schedule(5)  # type: ignore[arg-type]


# --- next_after ------------------------------------------------------------------------


def test_next_after_is_strictly_after_and_rounds_up_to_the_minute() -> None:
    daily = parse_schedule("cron(0 12 * * ? *)")
    assert daily.next_after(at(2024, 1, 1, 12)) == at(2024, 1, 2, 12)
    assert daily.next_after(at(2024, 1, 1, 11, 59, 59)) == at(2024, 1, 1, 12)
    assert daily.next_after(at(2024, 1, 1, 12, 0, 1)) == at(2024, 1, 2, 12)
    every_minute = parse_schedule("cron(* * * * ? *)")
    assert every_minute.next_after(at(2024, 1, 1, 0, 0, 30)) == at(2024, 1, 1, 0, 1)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 0 31 * ? *)", at(2024, 4, 1), [at(2024, 5, 31), at(2024, 7, 31)]),
        ("cron(0 0 1 1 ? *)", at(2024, 12, 31, 23, 59), [at(2025, 1, 1), at(2026, 1, 1)]),
        ("cron(59 23 31 12 ? *)", at(2024, 12, 31, 23, 59), [at(2025, 12, 31, 23, 59)]),
        ("cron(0 0 29 2 ? *)", at(2024, 3, 1), [at(2028, 2, 29), at(2032, 2, 29)]),
        ("cron(0 0 29 2 ? *)", at(2097, 1, 1), [at(2104, 2, 29)]),  # 2100 is not leap
        ("cron(0 0 L 2 ? *)", at(2023, 1, 1), [at(2023, 2, 28), at(2024, 2, 29)]),
        ("cron(0 0 L * ? *)", at(2024, 1, 31), [at(2024, 2, 29), at(2024, 3, 31)]),
        ("cron(0 6 1W * ? *)", at(2024, 5, 31), [at(2024, 6, 3, 6)]),  # Jun 1: Saturday
        ("cron(0 6 15W * ? *)", at(2024, 6, 1), [at(2024, 6, 14, 6)]),  # Jun 15: Saturday
        ("cron(0 6 15W * ? *)", at(2024, 9, 1), [at(2024, 9, 16, 6)]),  # Sep 15: Sunday
        ("cron(0 6 30W * ? *)", at(2024, 6, 1), [at(2024, 6, 28, 6)]),  # Jun 30: last, Sunday
        ("cron(0 6 31W * ? *)", at(2024, 4, 1), [at(2024, 5, 31, 6)]),  # April has no 31st
        ("cron(0 0 LW * ? *)", at(2024, 6, 1), [at(2024, 6, 28), at(2024, 7, 31), at(2024, 8, 30)]),
        ("cron(0 0 ? * 3#2 *)", at(2024, 1, 1), [at(2024, 1, 9), at(2024, 2, 13)]),  # Tuesday
        ("cron(0 0 ? * 6#5 *)", at(2024, 1, 1), [at(2024, 3, 29), at(2024, 5, 31)]),  # Friday
        ("cron(0 0 ? * 6L *)", at(2024, 1, 1), [at(2024, 1, 26), at(2024, 2, 23)]),
        ("cron(0 0 ? * 1 *)", at(2024, 1, 1), [at(2024, 1, 7)]),  # 1 is SUNDAY, not Monday
        ("cron(0 0 ? * 7 *)", at(2024, 1, 1), [at(2024, 1, 6)]),  # 7 is Saturday
        ("cron(0 0 ? * SUN *)", at(2024, 1, 1), [at(2024, 1, 7)]),
        ("cron(0 0 * FEB ? 2025,2027)", at(2025, 2, 27), [at(2025, 2, 28), at(2027, 2, 1)]),
        ("cron(0/30 23 31 DEC ? *)", at(2199, 12, 31, 23, 0), [at(2199, 12, 31, 23, 30)]),
    ],
)
def test_next_after_across_boundaries(
    expression: str, after: datetime, expected: list[datetime]
) -> None:
    assert next_times(expression, after, len(expected) + 1)[: len(expected)] == expected


@pytest.mark.parametrize("expression", ["cron(0 0 1 1 ? 2020)", "cron(0 0 29 2 ? 2020,2024)"])
def test_next_after_is_none_when_the_schedule_never_fires_again(expression: str) -> None:
    assert parse_schedule(expression).next_after(at(2019, 1, 1)) is not None
    assert parse_schedule(expression).next_after(at(2025, 1, 1)) is None
    assert parse_schedule(expression).preview(5, at(2025, 1, 1)) == []


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("cron(0 0 30 2 ? *)", "no day in February of any year is day 30 of the month"),
        (
            "cron(0 0 31 4,6,9,11 ? *)",
            "no day in April, June, September and November of any year is day 31 of the month",
        ),
        ("cron(0 0 29 2 ? 2023)", "no day in February of 2023 is day 29 of the month"),
        (
            "cron(0 0 ? 2 MON#5 2021-2023)",
            "no day in February of 2021 through 2023 is the fifth Monday of the month",
        ),
        (
            "cron(0 0 31W APR ? *)",
            "no day in April of any year is the weekday nearest day 31 of the month",
        ),
    ],
)
def test_an_expression_that_can_never_fire_says_so(expression: str, why: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(expression)
    assert str(raised.value) == (
        f"{expression}: can never fire: {why}; change the day or the months so that they meet "
        "(L is the last day of any month)"
    )


@pytest.mark.parametrize(
    "expression", ["cron(0 0 29 2 ? *)", "cron(0 0 ? 2 MON#5 *)", "cron(0 0 L 2 ? 2023)"]
)
def test_rare_expressions_still_parse(expression: str) -> None:
    assert parse_schedule(expression).next_after(at(2021, 1, 1)) is not None


def test_the_last_fire_time_is_in_2199() -> None:
    every_minute = parse_schedule("cron(* * * * ? *)")
    assert every_minute.next_after(at(2199, 12, 31, 23, 58)) == at(2199, 12, 31, 23, 59)
    assert every_minute.next_after(at(2199, 12, 31, 23, 59)) is None
    assert every_minute.next_after(datetime.max.replace(tzinfo=UTC)) is None
    assert every_minute.next_after(at(1900, 1, 1)) == at(1970, 1, 1)


def test_aware_datetimes_in_other_zones_are_converted_and_results_are_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))
    fire = parse_schedule("cron(0 12 * * ? *)").next_after(
        datetime(2024, 7, 1, 13, tzinfo=paris_summer)
    )
    assert fire == at(2024, 7, 1, 12)
    assert fire is not None and fire.tzinfo is UTC


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", "rate(1 hour)"])
def test_naive_datetimes_are_refused(expression: str) -> None:
    schedule = parse_schedule(expression)
    with pytest.raises(ValueError, match="has no time zone; pass an aware datetime"):
        schedule.next_after(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="end 2024-01-02T00:00:00 has no time zone"):
        list(schedule.fire_times_between(at(2024, 1, 1), datetime(2024, 1, 2)))


# --- rate anchoring --------------------------------------------------------------------


def test_rate_without_anchor_counts_from_the_unix_epoch() -> None:
    assert next_times("rate(15 minutes)", at(2024, 5, 1, 12, 7)) == [
        at(2024, 5, 1, 12, 15),
        at(2024, 5, 1, 12, 30),
        at(2024, 5, 1, 12, 45),
    ]
    weekly = next_times("rate(7 days)", at(2024, 5, 1), 2)
    assert [t.strftime("%A %H:%M") for t in weekly] == ["Thursday 00:00"] * 2


def test_rate_with_anchor_fires_at_whole_intervals_after_it() -> None:
    created = at(2024, 3, 5, 10, 17, 42)  # floored to 10:17: schedules have minute precision
    hourly = parse_schedule("rate(1 hour)", anchor=created)
    assert isinstance(hourly, RateSchedule)
    assert hourly.next_after(created) == at(2024, 3, 5, 11, 17)
    assert hourly.preview(2, at(2024, 3, 6, 0, 0)) == [at(2024, 3, 6, 0, 17), at(2024, 3, 6, 1, 17)]
    # Before the anchor the same grid extends backwards: nothing depends on "now".
    assert hourly.next_after(at(2024, 3, 5, 8, 30)) == at(2024, 3, 5, 9, 17)


def test_a_restarted_scheduler_computes_the_same_rate_windows() -> None:
    created = at(2024, 3, 5, 10, 17, 42)
    before, after = (parse_schedule("rate(5 days)", anchor=created) for _ in range(2))
    assert before == after
    window = (at(2024, 3, 5), at(2024, 6, 1))
    assert list(before.fire_times_between(*window)) == list(after.fire_times_between(*window))


def test_a_naive_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="anchor 2024-01-01T00:00:00 has no time zone"):
        parse_schedule("rate(1 day)", anchor=datetime(2024, 1, 1))


def test_the_anchor_does_not_change_a_cron_schedule() -> None:
    anchored = parse_schedule("cron(0 12 * * ? *)", anchor=at(2024, 1, 1, 3, 7))
    assert anchored == parse_schedule("cron(0 12 * * ? *)")


def test_a_rate_built_directly_must_be_whole_minutes_with_an_aware_anchor() -> None:
    with pytest.raises(ValueError, match="rate interval 0:01:30 is not a whole number of minutes"):
        RateSchedule("rate(90 seconds)", timedelta(seconds=90))
    with pytest.raises(ValueError, match="anchor 2024-01-01T00:00:00 has no time zone"):
        RateSchedule("rate(1 day)", timedelta(days=1), datetime(2024, 1, 1))
    assert RateSchedule("rate(90 minutes)", timedelta(minutes=90)).describe() == "every 90 minutes"


def test_a_rate_past_the_last_representable_datetime_has_no_fire_time() -> None:
    assert parse_schedule("rate(3000 days)").next_after(at(9999, 1, 1)) is None


# --- catch-up windows and previews -----------------------------------------------------


def test_fire_times_between_excludes_start_and_includes_end() -> None:
    quarter_hours = parse_schedule("cron(0/15 * * * ? *)")
    times = list(quarter_hours.fire_times_between(at(2024, 1, 1, 12), at(2024, 1, 1, 13)))
    assert times == [at(2024, 1, 1, 12, m) for m in (15, 30, 45)] + [at(2024, 1, 1, 13)]
    assert list(quarter_hours.fire_times_between(at(2024, 1, 1, 13), at(2024, 1, 1, 12))) == []


def test_catch_up_after_a_long_outage_covers_every_missed_run_once() -> None:
    hourly = parse_schedule("cron(0 * * * ? *)")
    missed = list(hourly.fire_times_between(at(2024, 2, 27, 22, 30), at(2024, 3, 2, 1, 30)))
    assert len(missed) == 75 and len(set(missed)) == 75  # leap day included
    assert missed[0] == at(2024, 2, 27, 23) and missed[-1] == at(2024, 3, 2, 1)


def test_preview_counts_and_defaults_to_now() -> None:
    schedule = parse_schedule("rate(1 minute)")
    assert schedule.preview(0, at(2024, 1, 1)) == []
    upcoming = schedule.preview(2)
    now = datetime.now(UTC)
    assert len(upcoming) == 2 and now < upcoming[0] <= now + MINUTE
    with pytest.raises(ValueError, match="preview count -1 is negative"):
        schedule.preview(-1, at(2024, 1, 1))


# --- properties against a brute-force matcher ------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What a generated expression means, written from the AWS rules, not from the code."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day: Callable[[date], bool]
    months: frozenset[int]
    years: frozenset[int]

    def fires_on(self, day: date) -> bool:
        return day.year in self.years and day.month in self.months and self.day(day)

    def fires_at(self, moment: datetime) -> bool:
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and self.fires_on(moment.date())
        )


MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def aws_weekday(day: date) -> int:
    return day.isoweekday() % 7 + 1  # SUN=1 .. SAT=7


def last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def is_weekday(day: date) -> bool:
    return day.isoweekday() <= 5


@st.composite
def field(
    draw: st.DrawFn, lo: int, hi: int, names: tuple[str, ...] = (), near: range | None = None
) -> tuple[str, set[int]]:
    """A list of 1-3 items (`*`, `v`, `a-b`, `v/s`, `*/s`, `a-b/s`) and the values it means.

    `near` narrows the values written (not what `*` means) to keep searches short.
    """
    near = near or range(lo, hi + 1)
    spellings: list[Callable[[str], str]] = [str, str.upper, str.lower, str.title]
    spelling = draw(st.sampled_from(spellings)) if names else str

    def value_text(value: int) -> str:
        return str(value) if spelling is str else spelling(names[value - lo])

    texts: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        a, b = sorted(draw(st.lists(st.sampled_from(near), min_size=2, max_size=2)))
        step = draw(st.integers(1, min(hi, len(near))))
        text, item = draw(
            st.sampled_from(
                [
                    ("*", range(lo, hi + 1)),
                    (value_text(a), range(a, a + 1)),
                    (f"{value_text(a)}-{value_text(b)}", range(a, b + 1)),
                    (f"{value_text(a)}/{step}", range(a, hi + 1, step)),
                    (f"*/{step}", range(lo, hi + 1, step)),
                    (f"{value_text(a)}-{value_text(b)}/{step}", range(a, b + 1, step)),
                ]
            )
        )
        texts.append(text)
        values.update(item)
    return ",".join(texts), values


def is_last_weekday(day: date) -> bool:
    later = (day.replace(day=d) for d in range(day.day + 1, last_day(day) + 1))
    return is_weekday(day) and not any(is_weekday(d) for d in later)


def nearest_weekday(target: int) -> Callable[[date], bool]:
    def fires(day: date) -> bool:
        if target > last_day(day):
            return False
        month_weekdays = [d for d in range(1, last_day(day) + 1) if is_weekday(day.replace(day=d))]
        return day.day == min(month_weekdays, key=lambda d: abs(d - target))

    return fires


@st.composite
def day_fields(draw: st.DrawFn) -> tuple[str, str, Callable[[date], bool]]:
    """Day-of-month and day-of-week texts (one of them `?`) and the days they mean."""
    weekday = draw(st.integers(1, 7))
    target = draw(st.integers(1, 31))
    occurrence = draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["dom", "dom", "L", "LW", "W", "dow", "dow", "nL", "#", "dowL"]))
    if kind == "dom":
        text, days = draw(field(1, 31))
        return text, "?", lambda d: d.day in days
    if kind == "dow":
        text, weekdays = draw(field(1, 7, DAYS))
        return "?", text, lambda d: aws_weekday(d) in weekdays
    special: dict[str, tuple[str, str, Callable[[date], bool]]] = {
        "L": ("L", "?", lambda d: d.day == last_day(d)),
        "LW": ("LW", "?", is_last_weekday),
        "W": (f"{target}W", "?", nearest_weekday(target)),
        "nL": ("?", f"{weekday}L", lambda d: aws_weekday(d) == weekday and d.day + 7 > last_day(d)),
        "#": (
            "?",
            f"{weekday}#{occurrence}",
            lambda d: aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == occurrence,
        ),
        "dowL": ("?", "L", lambda d: aws_weekday(d) == 7),
    }
    return special[kind]


@st.composite
def cron_expressions(draw: st.DrawFn) -> Expected:
    minutes_text, minutes = draw(field(0, 59))
    hours_text, hours = draw(field(0, 23))
    day_of_month, day_of_week, day = draw(day_fields())
    months_text, months = draw(field(1, 12, MONTHS))
    # Years near the instants drawn below keep the brute-force search short.
    years_text, years = draw(
        st.one_of(st.just(("*", set(range(1970, 2200)))), field(1970, 2199, near=range(2019, 2033)))
    )
    expression = (
        f"cron({minutes_text} {hours_text} {day_of_month} {months_text} {day_of_week} {years_text})"
    )
    return Expected(
        expression, frozenset(minutes), frozenset(hours), day, frozenset(months), frozenset(years)
    )


def brute_force_next_after(expected: Expected, moment: datetime) -> datetime | None:
    """Day by day, then minute by minute within the days that fire."""
    start = moment.replace(second=0, microsecond=0) + MINUTE
    day = start.date()
    while day.year <= max(expected.years):
        if expected.fires_on(day):
            first = start.hour * 60 + start.minute if day == start.date() else 0
            for minute_of_day in range(first, 24 * 60):
                hour, minute = divmod(minute_of_day, 60)
                if hour in expected.hours and minute in expected.minutes:
                    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
        day += timedelta(days=1)
    return None


instants = st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2031, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


def ever_fires(expected: Expected) -> bool:
    """Whether any day of the expression's months and years is one it fires on."""
    return any(
        expected.fires_on(date(year, month, day))
        for year in sorted(expected.years)
        for month in sorted(expected.months)
        for day in range(1, calendar.monthrange(year, month)[1] + 1)
    )


def parsed(expected: Expected) -> Schedule | None:
    """The schedule, or None when it can never fire, which parsing must have said."""
    try:
        return parse_schedule(expected.expression)
    except ScheduleError as e:
        assert "can never fire" in str(e), e
        assert not ever_fires(expected), expected.expression
        return None


@settings(max_examples=300, deadline=None)
@given(cron_expressions(), instants)
def test_next_after_matches_brute_force(expected: Expected, moment: datetime) -> None:
    schedule = parsed(expected)
    if schedule is not None:
        assert schedule.next_after(moment) == brute_force_next_after(expected, moment)


@settings(max_examples=200, deadline=None)
@given(cron_expressions())
def test_an_expression_parses_exactly_when_it_can_fire(expected: Expected) -> None:
    assert (parsed(expected) is not None) == ever_fires(expected)


@settings(max_examples=100, deadline=None)
@given(cron_expressions(), instants, st.integers(0, 3 * 24 * 60))
def test_fire_times_between_matches_every_minute_checked(
    expected: Expected, start: datetime, window_minutes: int
) -> None:
    end = start + window_minutes * MINUTE
    minute = start.replace(second=0, microsecond=0) + MINUTE
    brute_force = []
    while minute <= end:
        if expected.fires_at(minute):
            brute_force.append(minute)
        minute += MINUTE
    schedule = parsed(expected)
    assert (list(schedule.fire_times_between(start, end)) if schedule else []) == brute_force


rates = st.builds(
    lambda value, unit: f"rate({value} {unit if value == 1 else unit + 's'})",
    st.integers(1, 500),
    st.sampled_from(["minute", "hour", "day"]),
)


@settings(max_examples=200, deadline=None)
@given(rates, instants, instants)
def test_rate_fire_times_sit_on_the_anchor_grid(
    expression: str, anchor: datetime, moment: datetime
) -> None:
    schedule = parse_schedule(expression, anchor=anchor)
    assert isinstance(schedule, RateSchedule)
    fire = schedule.next_after(moment)
    assert fire is not None
    assert moment < fire <= moment + schedule.interval
    assert (fire - anchor.replace(second=0, microsecond=0)) % schedule.interval == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(rates, cron_expressions().filter(ever_fires).map(lambda e: e.expression)),
    instants,
    st.integers(0, 2 * 24 * 60 * 60),
    st.integers(0, 2 * 24 * 60 * 60),
)
def test_windows_split_at_a_restart_neither_lose_nor_repeat_runs(
    expression: str, start: datetime, first_seconds: int, second_seconds: int
) -> None:
    schedule: Schedule = parse_schedule(expression, anchor=at(2024, 3, 5, 10, 17))
    restart = start + timedelta(seconds=first_seconds)
    end = restart + timedelta(seconds=second_seconds)
    split = [
        *schedule.fire_times_between(start, restart),
        *schedule.fire_times_between(restart, end),
    ]
    assert split == list(schedule.fire_times_between(start, end))
