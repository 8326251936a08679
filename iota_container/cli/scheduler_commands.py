"""`scheduler`: run the schedule and dataset triggers of registered datasets here."""

from __future__ import annotations

import json
import logging
import signal
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from iota_container.cli.common import exit_now
from iota_container.cli.engine_options import (
    catch_up_option,
    chosen_executor,
    executor_option,
    home_option,
    output_root_option,
    ray_address_option,
)

if TYPE_CHECKING:
    from iota_container.scheduler.loop import Scheduler

log = logging.getLogger("iota_container")


@click.command("scheduler", short_help="Run registered datasets' schedules and dataset triggers.")
@click.option(
    "--once", is_flag=True, help="Run what is due now (missed windows too), wait, and exit."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=4,
    show_default=True,
    help="Runs at once, across datasets (a dataset runs one at a time).",
)
@click.option(
    "--container/--no-container",
    "use_container",
    default=None,
    help="Run images through the Docker engine, or notebooks in local processes "
    "[default: a container when an engine answers].",
)
@catch_up_option("while no scheduler ran")
@click.option(
    "--poll-seconds",
    type=click.FloatRange(0.05, 60),
    default=1.0,
    show_default=True,
    help="How often to look for registrations, pauses, resumes and runs by other processes.",
)
@click.option("--json-log", is_flag=True, help="Log one JSON object per line on stderr.")
@executor_option
@ray_address_option
@home_option
@output_root_option
def scheduler(
    once: bool,
    workers: int,
    use_container: bool | None,
    catch_up: bool,
    poll_seconds: float,
    json_log: bool,
    executor_name: str | None,
    ray_address: str | None,
    home: str | None,
    output_root: str | None,
) -> None:
    """Run the triggers of registered datasets: schedules (cron() and rate(), UTC) and
    dataset triggers (after each new succeeded version of the triggering dataset).

    Each window and each upstream version runs once, ever: a scheduler restarted after a
    crash runs the windows it missed (see --latest-only) and never repeats one; a run cut
    short by the crash stays FAILED "interrupted" (`dataset run NAME` re-runs it by hand),
    except on an executor whose runs go on without this process (ray, sagemaker): such a
    run is found again by its run id at the next start and followed to its end.
    SIGTERM or Ctrl-C: stop starting runs and wait for those under way; a second signal
    abandons them (their versions are marked FAILED "interrupted").
    """
    from iota_container.engine.home import Home
    from iota_container.engine.run import DatasetEngine
    from iota_container.engine.state_store import StateStore
    from iota_container.scheduler.clock import scheduler_clock
    from iota_container.scheduler.due import skip_missed
    from iota_container.scheduler.loop import EngineRunner, Scheduler

    if json_log:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLogFormatter())
    executor = chosen_executor(executor_name, ray_address)
    clock = scheduler_clock()
    with StateStore(Home.locate(home, output_root), clock=clock) as store:
        if not catch_up:
            for dataset in store.datasets():
                if not dataset.paused:  # a paused one is caught up by `dataset resume`
                    skipped = skip_missed(store, dataset, clock(), "scheduler --latest-only")
                    if skipped.windows or skipped.upstream_versions:
                        log.info("%s", skipped.describe())
        engine = DatasetEngine(store, executor=executor)
        runner = EngineRunner(engine, use_container, run_processes=True)
        loop = Scheduler(store, runner, clock=clock, workers=workers, poll_seconds=poll_seconds)
        _stop_on_signals(loop)
        log.info(
            "scheduler: %d dataset(s) registered in %s, %d worker(s)%s",
            len(store.datasets()),
            store.home.root,
            workers,
            ", once" if once else "",
        )
        # Late data is checked beside the loop, on the scheduler's clock (late_data.py
        # says why there); with --once, one tick after the runs.
        from iota_container.datastore.late_data import LateDataWatch

        watch = LateDataWatch(lambda: StateStore(store.home, clock=clock), clock)
        if not once:
            watch.start()
        abandoned = loop.run(once=once)
        if once:
            watch.tick()
        else:
            watch.stop()
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(loop.counts.items()))
        log.info("scheduler stopped: %s", counts or "no run")
        if abandoned:
            # Worker threads still wait on the abandoned runs, with the store open: leave
            # without closing it under them or joining them.
            exit_now(0)


def _stop_on_signals(loop: Scheduler) -> None:
    def handle(number: int, _frame: FrameType | None) -> None:
        if loop.stopping:
            log.warning("%s again: abandoning the runs under way", signal.Signals(number).name)
            loop.stop(abandon=True)
            return
        log.warning(
            "%s: starting no more runs; waiting for those under way (signal again to abandon them)",
            signal.Signals(number).name,
        )
        loop.stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


class JsonLogFormatter(logging.Formatter):
    """A JSON object per record: time, level, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, timezone.utc)
        document: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        document.update(getattr(record, "fields", {}))
        if record.exc_info:
            document["traceback"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)
