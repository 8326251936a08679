"""What the store keeps: registered datasets, their versions, and what triggered each run.

A version is one dataset content version, as the service had them: CREATING while it
runs, then SUCCEEDED or FAILED with a reason. Its outputs are URIs (executed notebook,
HTML report, each outputFileUriValue); a SQL dataset's version also has a content URI,
which is what a datasetContentVersionValue naming that dataset reads.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from iota_container.definitions.model import DatasetDefinition, definition_from_document

if TYPE_CHECKING:
    from iota_container.schedule.expressions import Schedule

CREATING = "CREATING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
STATUSES = (CREATING, SUCCEEDED, FAILED)

# GetDatasetContent's two version selectors.
LATEST = "$LATEST"
LATEST_SUCCEEDED = "$LATEST_SUCCEEDED"

MANUAL = "manual"
SCHEDULE = "schedule"
DATASET = "dataset"

# How a version's content was made.
MODE_CONTAINER = "container"
MODE_PROCESS = "process"  # the runtime in a local subprocess, no container
MODE_QUERY = "query"  # a SQL dataset: its query on data stores, or its x-iota-source

INTERRUPTED = "interrupted: the process running it stopped"


class Row(Protocol):
    """A row of the store's tables, by column name (sqlite3.Row)."""

    def __getitem__(self, key: str, /) -> Any: ...


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_text(moment: datetime) -> str:
    """A fixed-width UTC timestamp: sorts as text in the same order as in time."""
    # isoformat writes the same text as strftime("%Y-%m-%dT%H:%M:%S.%f"), ten times faster.
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


def from_text(text: str) -> datetime:
    # fromisoformat reads to_text's fixed format about ten times faster than strptime.
    if not text.endswith("Z"):
        raise ValueError(f"time {text!r} is not a UTC time written by to_text")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Trigger:
    """Why a version was created: by hand, a schedule's fire time, or an upstream version.

    A schedule window and an upstream version each trigger at most one version of a
    dataset; `claim_key` is what the store keeps unique for them.
    """

    kind: str = MANUAL
    schedule_time: datetime | None = None
    upstream_dataset: str | None = None
    upstream_version: str | None = None

    @classmethod
    def manual(cls) -> Trigger:
        return cls()

    @classmethod
    def schedule(cls, fire_time: datetime) -> Trigger:
        return cls(SCHEDULE, schedule_time=fire_time.replace(second=0, microsecond=0))

    @classmethod
    def dataset(cls, upstream_dataset: str, upstream_version: str) -> Trigger:
        return cls(DATASET, upstream_dataset=upstream_dataset, upstream_version=upstream_version)

    @property
    def claim_key(self) -> str | None:
        if self.kind == SCHEDULE and self.schedule_time is not None:
            return to_text(self.schedule_time)
        if self.kind == DATASET:
            return self.upstream_version
        return None

    def describe(self) -> str:
        if self.kind == SCHEDULE and self.schedule_time is not None:
            return f"schedule {to_text(self.schedule_time)}"
        if self.kind == DATASET:
            return f"dataset {self.upstream_dataset} version {self.upstream_version}"
        return MANUAL

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"kind": self.kind}
        if self.schedule_time is not None:
            document["scheduleTime"] = to_text(self.schedule_time)
        if self.upstream_dataset is not None:
            document["dataset"] = self.upstream_dataset
            document["versionId"] = self.upstream_version
        return document

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_by_fields(self)


@lru_cache(maxsize=4096)
def _parsed_definition(definition_json: str, source_file: str) -> DatasetDefinition:
    """Parsing a definition costs far more than reading its row, and a scheduler reads the
    same thousand rows over and over; definitions are frozen, so one parse can be shared."""
    return definition_from_document(json.loads(definition_json), file=source_file)


@dataclass(frozen=True)
class RegisteredDataset:
    name: str
    definition: DatasetDefinition
    source_file: Path  # relative paths in the definition are relative to its folder
    created_at: datetime  # kept across re-registrations: the anchor of rate() schedules
    updated_at: datetime
    paused: bool = False

    @classmethod
    def from_row(cls, row: Row) -> RegisteredDataset:
        """From a row of the store's `datasets` table."""
        return cls(
            name=row["name"],
            definition=_parsed_definition(row["definition"], row["source_file"]),
            source_file=Path(row["source_file"]),
            created_at=from_text(row["created_at"]),
            updated_at=from_text(row["updated_at"]),
            paused=bool(row["paused"]),
        )

    @property
    def upstreams(self) -> set[str]:
        """The datasets this one is triggered by or reads the content of."""
        names = set(self.definition.triggering_datasets)
        action = self.definition.container_action
        for variable in action.variables if action else ():
            if variable.dataset_content_version_value:
                names.add(variable.dataset_content_version_value.dataset_name)
        return names

    def schedules(self) -> list[Schedule]:
        """The definition's schedules; rates fire at created_at + k * interval."""
        expressions = self.definition.schedule_expressions
        if not expressions:  # the parser's import is not paid by runs that need none
            return []
        from iota_container.schedule.expressions import parse_schedule

        return [parse_schedule(expression, anchor=self.created_at) for expression in expressions]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "container" if self.definition.is_container else "sql",
            "sourceFile": str(self.source_file),
            "createdAt": to_text(self.created_at),
            "updatedAt": to_text(self.updated_at),
            "paused": self.paused,
            "triggers": [
                *(f"schedule {e}" for e in self.definition.schedule_expressions),
                *(f"dataset {d}" for d in self.definition.triggering_datasets),
            ],
        }


@dataclass(frozen=True)
class Delivery:
    """The outcome of one contentDeliveryRule on a version (datastore/delivery.py): a
    failed delivery leaves the version SUCCEEDED, and `dataset deliver` tries it again."""

    rule: int  # its place in contentDeliveryRules, from 0
    destination: str  # s3://bucket/key (+ the Glue table), or iotevents:INPUT
    status: str  # SUCCEEDED or FAILED
    at: datetime
    reason: str | None = None
    role_arn: str | None = None  # the rule's roleArn: noted; this machine's credentials act

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "destination": self.destination,
            "status": self.status,
            "at": to_text(self.at),
            "reason": self.reason,
            "roleArn": self.role_arn,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Delivery:
        return cls(
            rule=document["rule"],
            destination=document["destination"],
            status=document["status"],
            at=from_text(document["at"]),
            reason=document.get("reason"),
            role_arn=document.get("roleArn"),
        )


@dataclass(frozen=True)
class Version:
    id: str
    dataset: str
    status: str
    trigger: Trigger
    mode: str
    created_at: datetime
    output_prefix: str
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    content_uri: str | None = None
    log_path: str | None = None
    owner_pid: int | None = None
    executor: str | None = None  # the executor's registry name, once submitted
    run_id: str | None = None  # executors/base.py run_id_for: found again by it
    node: str | None = None  # where it ran, when the executor says
    followable: bool = False  # submitted to an executor whose runs outlive this process
    # A SQL dataset's deltaTime window: messages whose timeExpression is in [start, end)
    # (datastore/delta_window.py); no start: from the first message.
    window_start: datetime | None = None
    window_end: datetime | None = None
    # Messages that arrived after the window was read, with times inside it, and when
    # their batch was sent as a late data notification (datastore/late_data.py).
    late_messages: int = 0
    late_notified_at: datetime | None = None
    deliveries: tuple[Delivery, ...] = ()  # the last outcome of each contentDeliveryRule

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_by_fields(self)

    @classmethod
    def from_row(cls, row: Row) -> Version:
        """From a row of the store's `versions` table."""

        def moment(key: str) -> datetime | None:
            return from_text(row[key]) if row[key] else None

        trigger = Trigger(
            row["trigger_kind"],
            moment("schedule_time"),
            row["upstream_dataset"],
            row["upstream_version"],
        )
        return cls(
            id=row["id"],
            dataset=row["dataset"],
            status=row["status"],
            trigger=trigger,
            mode=row["mode"],
            created_at=from_text(row["created_at"]),
            output_prefix=row["output_prefix"],
            reason=row["reason"],
            started_at=moment("started_at"),
            finished_at=moment("finished_at"),
            exit_code=row["exit_code"],
            duration_seconds=row["duration_seconds"],
            outputs=json.loads(row["outputs"]),
            content_uri=row["content_uri"],
            log_path=row["log_path"],
            owner_pid=row["owner_pid"],
            executor=row["executor"],
            run_id=row["run_id"],
            node=row["node"],
            followable=bool(row["followable"]),
            window_start=moment("window_start"),
            window_end=moment("window_end"),
            late_messages=row["late_messages"],
            late_notified_at=moment("late_notified_at"),
            deliveries=tuple(Delivery.from_json(d) for d in json.loads(row["deliveries"])),
        )

    def to_json(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return to_text(value) if value else None

        return {
            "dataset": self.dataset,
            "versionId": self.id,
            "status": self.status,
            "reason": self.reason,
            "trigger": self.trigger.to_json(),
            "mode": self.mode,
            "createdAt": to_text(self.created_at),
            "startedAt": moment(self.started_at),
            "finishedAt": moment(self.finished_at),
            "exitCode": self.exit_code,
            "durationSeconds": self.duration_seconds,
            "outputs": dict(self.outputs),
            "contentUri": self.content_uri,
            "log": self.log_path,
            "executor": self.executor,
            "runId": self.run_id,
            "node": self.node,
            "deltaWindow": (
                {"start": moment(self.window_start), "end": moment(self.window_end)}
                if self.window_end
                else None
            ),
            "lateData": (
                {"messages": self.late_messages, "notifiedAt": moment(self.late_notified_at)}
                if self.late_messages
                else None
            ),
            "deliveries": [d.to_json() for d in self.deliveries],
        }


_FIELD_GETTERS: dict[type, operator.attrgetter[Any]] = {}


def _reduce_by_fields(record: Any) -> tuple[Any, ...]:
    """Pickled as the class and its fields' values in order, rebuilt by the constructor.
    The scheduler and its worker processes exchange a Version each way for every run
    (scheduler/run_processes.py), a thousand a minute: this is half the bytes and half
    the time of pickle's default for a frozen dataclass (its __dict__, names and all)."""
    cls = type(record)
    getter = _FIELD_GETTERS.get(cls)
    if getter is None:  # two names or more: attrgetter then returns a tuple
        getter = _FIELD_GETTERS[cls] = operator.attrgetter(*(f.name for f in fields(cls)))
    return cls, getter(record)
