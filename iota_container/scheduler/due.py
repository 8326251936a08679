"""What a scheduler has to run for one dataset: read from the store, against a given time.

Schedule windows are the fire times of all the dataset's schedules, merged (two schedules
firing in the same minute make one window). They are looked for after the dataset's
*cursor*: its latest claimed window (run or skipped), else its registration time, so a
window before a dataset was registered never runs. Windows of one dataset run in order,
so everything up to the cursor has been dealt with and nothing older is looked at again.

Dataset triggers: each SUCCEEDED version of the triggering dataset that finished after
the dependent was registered and that the dependent has not claimed (run or skipped),
oldest first. Only versions the upstream still keeps can trigger (retention.py).

`skip_missed` is `--latest-only`: of the missed triggers of each kind, all but the newest
are claimed as skipped (StateStore.skip_triggers), so no scheduler ever runs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from iota_container.engine.records import RegisteredDataset, Trigger, Version, to_text
from iota_container.engine.state_store import StateStore, UnknownDataset
from iota_container.schedule.expressions import Schedule


@dataclass(frozen=True)
class Due:
    """One trigger of a dataset, due at a window's time or when its upstream succeeded."""

    dataset: str
    trigger: Trigger
    due_at: datetime


@dataclass(frozen=True)
class Skipped:
    """What `skip_missed` passed over for one dataset."""

    dataset: str
    windows: int = 0
    first_window: datetime | None = None
    last_window: datetime | None = None
    upstream_versions: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.windows and self.first_window and self.last_window:
            span = to_text(self.first_window)
            if self.windows > 1:
                span += f" through {to_text(self.last_window)}"
            parts.append(f"{self.windows} schedule window(s) ({span})")
        if self.upstream_versions:
            parts.append(f"upstream version(s) {', '.join(self.upstream_versions)}")
        return f"{self.dataset}: skipped {' and '.join(parts) or 'nothing'}"


def next_window(schedules: Sequence[Schedule], after: datetime) -> datetime | None:
    """The first window of any of `schedules` strictly after `after`."""
    times = [t for t in (s.next_after(after) for s in schedules) if t is not None]
    return min(times, default=None)


def windows_between(
    schedules: Sequence[Schedule], start: datetime, end: datetime
) -> Iterator[datetime]:
    """The merged windows in (start, end], oldest first."""
    window = next_window(schedules, start)
    while window is not None and window <= end:
        yield window
        window = next_window(schedules, window)


def schedule_cursor(store: StateStore, dataset: RegisteredDataset) -> datetime:
    """Where the search for the dataset's next window starts (exclusive)."""
    last = store.last_schedule_window(dataset.name)
    return dataset.created_at if last is None else max(last, dataset.created_at)


def pending_upstream_versions(store: StateStore, dataset: RegisteredDataset) -> list[Version]:
    """Succeeded upstream versions that have not triggered `dataset` yet, oldest first."""
    pending: list[Version] = []
    for upstream in dataset.definition.triggering_datasets:
        try:
            # Content from before this dataset existed triggers nothing.
            pending += store.unclaimed_upstream_versions(dataset.name, upstream, dataset.created_at)
        except UnknownDataset:  # registration checks it; a race with unregister is harmless
            continue
    return pending


def next_due(
    store: StateStore,
    dataset: RegisteredDataset,
    schedules: Sequence[Schedule],
    claimed_through: datetime | None = None,
) -> tuple[Due | None, bool]:
    """The dataset's earliest unclaimed trigger (possibly in the future), and whether an
    upstream version is waiting to trigger it. Nothing is due while it is paused.

    `claimed_through`: a window the caller claimed itself, the cursor then without a
    query (a later window claimed elsewhere comes back as TriggerAlreadyClaimed)."""
    if dataset.paused:
        return None, False
    candidates = []
    window = None
    if schedules:
        cursor = claimed_through or schedule_cursor(store, dataset)
        window = next_window(schedules, max(cursor, dataset.created_at))
    if window is not None:
        candidates.append(Due(dataset.name, Trigger.schedule(window), window))
    pending = pending_upstream_versions(store, dataset)
    if pending:
        oldest = pending[0]
        assert oldest.finished_at is not None
        trigger = Trigger.dataset(oldest.dataset, oldest.id)
        candidates.append(Due(dataset.name, trigger, oldest.finished_at))
    due = min(candidates, key=lambda d: d.due_at, default=None)
    return due, bool(pending)


def skip_missed(store: StateStore, dataset: RegisteredDataset, now: datetime, why: str) -> Skipped:
    """Claim as skipped every missed trigger of `dataset` but the newest of each kind:
    the windows in (cursor, now] but the last, and the pending upstream versions but the
    newest. `why` goes into the record, e.g. "dataset resume --latest-only"."""
    count, first, previous, newest = 0, None, None, None
    # Counted, not listed: a minute schedule paused for a month misses 43,200 windows,
    # and one skipped claim at the newest of them stands for all (store_schema.py).
    for window in windows_between(dataset.schedules(), schedule_cursor(store, dataset), now):
        count, first, previous, newest = count + 1, first or window, newest, window
    pending = pending_upstream_versions(store, dataset)[:-1]
    skipped = Skipped(
        dataset.name,
        windows=max(count - 1, 0),
        first_window=first if previous else None,
        last_window=previous,
        upstream_versions=tuple(v.id for v in pending),
    )
    triggers = [Trigger.dataset(v.dataset, v.id) for v in pending]
    if previous is not None:
        triggers.append(Trigger.schedule(previous))
    if triggers:
        store.skip_triggers(
            dataset.name, triggers, f"{why} at {to_text(now)}: {skipped.describe()}"
        )
    return skipped
