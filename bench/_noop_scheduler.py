"""A scheduler process whose runs do nothing: the no-op side of scheduler_lateness.py.

    python bench/_noop_scheduler.py HOME WORKERS

The runner claims each trigger through the store (Store.start_version, the transaction
the engine's runs start with) and finishes the version SUCCEEDED at once: no lock file,
no subprocess, no output file. What is left to measure is the scheduler itself: its
loop, the claims, the versions' rows and its JSON log lines, as `iota-container
scheduler --json-log` writes them. SIGTERM stops it.
"""

from __future__ import annotations

import logging
import signal
import sys

from iota_container.cli.common import configure_logging
from iota_container.cli.scheduler_commands import JsonLogFormatter
from iota_container.dataset.home import Home
from iota_container.dataset.records import MODE_PROCESS, SUCCEEDED, Trigger, Version
from iota_container.dataset.scheduler import Scheduler
from iota_container.dataset.store import Store


def main() -> None:
    home, workers = sys.argv[1], int(sys.argv[2])
    configure_logging(debug=False)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())
    with Store(Home.locate(home)) as store:

        def run_nothing(name: str, trigger: Trigger) -> Version:
            version = store.start_version(name, trigger, MODE_PROCESS)
            return store.finish_version(version, SUCCEEDED)

        scheduler = Scheduler(store, run_nothing, workers=workers)
        signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
        logging.getLogger("iota_container").info("scheduler: no-op runner, %d workers", workers)
        scheduler.run()


if __name__ == "__main__":
    main()
