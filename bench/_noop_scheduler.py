"""A scheduler process whose runs do nothing: the no-op side of scheduler_lateness.py.

    python bench/_noop_scheduler.py HOME WORKERS

The runner claims what is due the way the engine's runner does (StateStore.start_versions, one
transaction for everything due at once) and finishes each version SUCCEEDED when a worker
takes it: no lock file, no subprocess, no output file. What is left to measure is the
scheduler itself: its loop, the claims, the versions' rows and its JSON log lines, as
`iota-container scheduler --json-log` writes them. SIGTERM stops it.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence

from iota_container.cli.common import configure_logging
from iota_container.cli.scheduler_commands import JsonLogFormatter
from iota_container.engine.home import Home
from iota_container.engine.records import MODE_PROCESS, SUCCEEDED, Trigger, Version
from iota_container.engine.state_store import StateStore
from iota_container.scheduler.loop import Scheduler


class NoOpRunner:
    """A claiming runner (scheduler.Runner) whose runs do nothing."""

    claims_ahead = True

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def claim(self, requests: Sequence[tuple[str, Trigger]]) -> Sequence[object]:
        return self.store.start_versions([(name, t, MODE_PROCESS) for name, t in requests])

    def run(self, claimed: Version) -> Version:
        return self.store.finish_version(claimed, SUCCEEDED)

    def withdraw(self, claimed: Version) -> None:
        self.store.interrupt(claimed)


def main() -> None:
    home, workers = sys.argv[1], int(sys.argv[2])
    configure_logging(debug=False)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())
    with StateStore(Home.locate(home)) as store:
        scheduler = Scheduler(store, NoOpRunner(store), workers=workers)
        signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
        logging.getLogger("iota_container").info("scheduler: no-op runner, %d workers", workers)
        scheduler.run()


if __name__ == "__main__":
    main()
