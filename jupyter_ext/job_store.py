"""The server's jobs on disk, so a restart keeps them: one JSON file under the engine's
home (`jupyter-jobs.json`), rewritten whole and atomically when a job changes state.

A job that was queued or running when the server stopped cannot go on (its worker died
with the server, or never started): on load it is marked failed, with a reason saying so.
Only the newest `MAX_JOBS` jobs, and the last `MAX_LOG_LINES` lines of each log, are kept.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from iota_container.atomic import write_bytes_atomically

STORE_NAME = "jupyter-jobs.json"
MAX_JOBS = 200
MAX_LOG_LINES = 2000
FORMAT_VERSION = 1
INTERRUPTED = "the Jupyter server stopped while this job was {status}: run it again"

log = logging.getLogger(__name__)


class JobStore:
    """Saved job records: the fields of `Job.to_json()` plus `key`, `spec` and `log`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> list[dict[str, Any]]:
        """The saved jobs, oldest first; an unreadable file is set aside, not fatal."""
        try:
            document = json.loads(self.path.read_bytes())
            records = document["jobs"]
            if not isinstance(records, list):
                raise TypeError("jobs is not a list")
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("iota-container: ignoring the unreadable job store %s: %s", self.path, e)
            return []
        return [record for record in records if isinstance(record, dict)]

    def save(self, records: list[dict[str, Any]]) -> None:
        kept = [
            {**record, "log": list(record.get("log") or [])[-MAX_LOG_LINES:]}
            for record in records[-MAX_JOBS:]
        ]
        data = json.dumps({"version": FORMAT_VERSION, "jobs": kept}).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_bytes_atomically(self.path, data, mode=0o600)
        except OSError as e:  # jobs still run; only the record of them is missing
            log.warning("iota-container: cannot save jobs to %s: %s", self.path, e)
