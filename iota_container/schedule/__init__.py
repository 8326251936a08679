"""cron() and rate() schedule expressions, as AWS IoT Analytics (EventBridge) reads them.

  expressions.py   parse_schedule: Schedule, its next fire times and its description
  fields.py        the six cron fields parsed; ScheduleError
  days.py          day-of-month and day-of-week rules (L, LW, nW, nL, n#k)
  text.py          English descriptions, for the UI preview and CLI listings
  words.py         month and weekday names, lists of values in English

Imports run one way: words ← days ← fields ← text ← expressions.
"""
