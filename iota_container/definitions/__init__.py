"""Container datasets: definitions, run resolution, schedules and the engine that runs them.

Definitions (the CreateDataset request's shape, or CloudFormation's):
  spec.py        the typed, immutable model; load (JSON/YAML) and export
  schema.py      the field table behind loading, export and problem paths
  documents.py   JSON and YAML text, read without YAML 1.1's type guessing
  problems.py    Problem (one finding a line) and DefinitionError
  validate.py    the documented CreateDataset limits; validate_files / validate_definitions
  checks.py      the findings of one definition and the generic checks behind the rules
  relations.py   trigger rules (the service's messages) and the rules across definitions
  from_image.py  containerAction.variables from an image's variables
Schedules: schedule.py (cron and rate expressions), its cron_*.py helpers, schedule_text.py.
`dataset new`: new.py, from_image.py.
Running them here:
  home.py        IOTA_HOME and the output root
  store.py       SQLite state (store_schema.py: migrations; records.py: rows as records)
  locks.py       one run of a dataset at a time
  resolve.py     this run's variables → the params document
  engine.py      one content version: container (container_run.py), process, or SQL source
                 (query_source.py); retention.py after each run
  content.py     how running code reads a datasetContentVersionValue's content
Scheduling (`iota-container scheduler`):
  due.py         what a dataset has to run next; --latest-only skips
  scheduler.py   the loop: claims in order, workers, waiting, stopping
  scheduler_clock.py  the system's time, or a file's (IOTA_SCHEDULER_CLOCK_FILE)
"""
