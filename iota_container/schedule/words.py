"""Names of months and weekdays, and lists of values in English.

Shared by cron parsing (fields.py, days.py: names in messages) and by descriptions
(text.py), so that neither of those imports the other to spell a month.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Index is the AWS day-of-week number minus one: AWS counts SUN=1 .. SAT=7.
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
ORDINALS = ("first", "second", "third", "fourth", "fifth")


def english_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def value_list(values: Sequence[int], render: Callable[[int], str] = str) -> str:
    """`1, 3 and 5`, with runs of three or more written as `Monday through Friday`."""
    parts: list[str] = []
    start = 0
    for end in range(1, len(values) + 1):
        if end < len(values) and values[end] == values[end - 1] + 1:
            continue
        run = values[start:end]
        if len(run) >= 3:
            parts.append(f"{render(run[0])} through {render(run[-1])}")
        else:
            parts.extend(render(v) for v in run)
        start = end
    return english_list(parts)
