"""contentDeliveryRules: after each SUCCEEDED version, its content delivered where each
rule says, as the service did (the CreateDataset request holds them for SQL and container
datasets alike, so both deliver):

- `s3DestinationConfiguration`: the entry copied to `bucket`/`key`, the key's
  `!{iotanalytics:scheduleTime}`, `!{iotanalytics:versionId}` and
  `!{iotanalytics:creationTime}` replaced (the service's S3DestinationConfiguration
  reference), written like every object here with the ACL bucket-owner-full-control;
  with `glueConfiguration`, the Glue Data Catalog table over it created or updated
  (delivery_glue.py);
- `iotEventsDestinationConfiguration`: the content's rows sent to that IoT Events input
  (delivery_iotevents.py).

The entry is the version's content (a SQL dataset's CSV; a container dataset's first
outputFileUriValue), or with `entryName` the output of that name. A rule's `roleArn` is
noted on its outcome: the calls use this machine's AWS credentials, as every call here.
Each rule's outcome is recorded on the version; a failed delivery does not undo the
content (the version stays SUCCEEDED) and `iota-container dataset deliver` tries the
failed rules again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iota_container import storage
from iota_container.datastore.state import StateConnection
from iota_container.definitions.model import ContentDeliveryRule, S3Destination
from iota_container.engine.records import (
    FAILED,
    SCHEDULE,
    SUCCEEDED,
    Delivery,
    RegisteredDataset,
    Version,
)
from iota_container.errors import IotaError
from iota_container.storage.uri import parse_output_uri
from iota_container.text import one_line

if TYPE_CHECKING:
    from iota_container.engine.state_store import StateStore

_PLACEHOLDER = re.compile(r"!\{([^}]*)\}")


class DeliveryFailed(IotaError):
    """One delivery rule could not deliver: its one-line reason."""


class NotDeliverable(IotaError):
    """`dataset deliver` named a version that does not deliver."""


@dataclass(frozen=True)
class DeliveryClients:
    """Clients for the destinations (injected, s3transfer style); None: made from the
    default session when a rule needs one. S3 goes through storage's s3:// store."""

    glue: Any = None
    iot_events: Any = None


class DeliveryLedger(StateConnection):
    def record(self, version_id: str, deliveries: Sequence[Delivery]) -> None:
        import json

        document = json.dumps([d.to_json() for d in sorted(deliveries, key=lambda d: d.rule)])
        with self._write() as db:
            db.execute("UPDATE versions SET deliveries = ? WHERE id = ?", (document, version_id))


def deliver_version(
    store: StateStore,
    dataset: RegisteredDataset,
    version: Version,
    *,
    rules: Sequence[int] | None = None,
    clients: DeliveryClients | None = None,
) -> Version:
    """Run the dataset's delivery rules (all, or those at `rules`) for a SUCCEEDED
    version, record each outcome on it and return it as recorded. Never raises for a
    rule that fails: its outcome says why."""
    clients = clients or DeliveryClients()
    definition_rules = dataset.definition.content_delivery_rules
    chosen = range(len(definition_rules)) if rules is None else rules
    outcomes = {d.rule: d for d in version.deliveries}
    for index in chosen:
        rule = definition_rules[index]
        outcomes[index] = _deliver_rule(store, dataset, version, index, rule, clients)
    with DeliveryLedger(store.home) as ledger:
        ledger.record(version.id, list(outcomes.values()))
    return store.version(version.dataset, version.id)


def check_deliverable(dataset: RegisteredDataset, version: Version) -> None:
    """A version delivers when it SUCCEEDED and its dataset has delivery rules."""
    if not dataset.definition.content_delivery_rules:
        raise NotDeliverable(
            f"dataset {dataset.name!r} has no contentDeliveryRules: add them to its "
            "definition and register it again"
        )
    if not version.succeeded:
        raise NotDeliverable(
            f"version {version.id} of dataset {dataset.name!r} is {version.status}, and only "
            "SUCCEEDED versions deliver: give --version a succeeded one"
        )


def failed_rules(version: Version) -> list[int]:
    return [d.rule for d in version.deliveries if d.status == FAILED]


def _deliver_rule(
    store: StateStore,
    dataset: RegisteredDataset,
    version: Version,
    index: int,
    rule: ContentDeliveryRule,
    clients: DeliveryClients,
) -> Delivery:
    s3 = rule.destination.s3
    iot_events = rule.destination.iot_events
    at = store.clock()
    if s3 is not None:
        destination = f"s3://{s3.bucket}/{s3.key}"
        role = s3.role_arn
    elif iot_events is not None:
        destination = f"iotevents:{iot_events.input_name}"
        role = iot_events.role_arn
    else:  # validation wants one destination; an empty one delivers nothing
        return Delivery(index, "(none)", FAILED, at, "the rule names no destination", None)
    try:
        entry = _entry_uri(dataset, version, rule.entry_name)
        folder = store.home.version_dir(version.dataset, version.id)
        with _local_copy(entry, folder) as local:
            if s3 is not None:
                destination = _deliver_to_s3(s3, local, version, clients)
            elif iot_events is not None:
                from iota_container.datastore.delivery_iotevents import send_rows

                send_rows(clients.iot_events, iot_events.input_name, local, version.id)
    except IotaError as e:
        return Delivery(index, destination, FAILED, at, one_line(str(e), 500), role)
    return Delivery(index, destination, SUCCEEDED, at, None, role)


def _deliver_to_s3(
    s3: S3Destination,
    local: Path,
    version: Version,
    clients: DeliveryClients,
) -> str:
    key = delivery_key(s3.key, version)
    target = f"s3://{s3.bucket}/{key}"
    glue_config = s3.glue_configuration
    if glue_config is None:
        storage.put(local, target)  # one object, whole or not at all, with the ACL
        return target
    from iota_container.datastore.delivery_glue import check_database, glue_client, upsert_table

    glue = glue_client(clients.glue)
    database, table = glue_config.database_name, glue_config.table_name
    check_database(glue, database)  # first: a missing database delivers nothing
    storage.put(local, target)
    location = f"s3://{s3.bucket}/{table_prefix(s3.key)}"
    upsert_table(glue, database, table, location, local)
    return f"{target} (Glue table {database}.{table})"


def delivery_key(template: str, version: Version) -> str:
    """The S3 key with the service's placeholders replaced; an unknown one is an error."""
    scheduled = version.trigger.schedule_time if version.trigger.kind == SCHEDULE else None
    values = {
        "iotanalytics:scheduleTime": _key_time(scheduled or version.created_at),
        "iotanalytics:versionId": version.id,
        "iotanalytics:creationTime": _key_time(version.created_at),
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise DeliveryFailed(
                f"s3DestinationConfiguration.key {template!r} has !{{{name}}}, which is not "
                f"one of the service's: use {', '.join('!{' + n + '}' for n in values)}"
            )
        return values[name]

    return _PLACEHOLDER.sub(value, template)


def table_prefix(template: str) -> str:
    """The folder a Glue table reads: the key's, up to its first placeholder, so the
    contents of every version are in one table."""
    fixed = template.split("!{", 1)[0]
    return fixed[: fixed.rfind("/") + 1]


def _key_time(moment: datetime) -> str:
    # The service did not document the format; ISO 8601 in UTC keeps keys sorted by time.
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_uri(dataset: RegisteredDataset, version: Version, entry_name: str | None) -> str:
    if entry_name is None:
        if version.content_uri:
            return version.content_uri
        raise DeliveryFailed(
            f"version {version.id} of dataset {dataset.name!r} has no content entry: give "
            "the rule an entryName naming one of its outputs"
        )
    for name, uri in version.outputs.items():
        if entry_name in (name, uri.rsplit("/", 1)[-1]):
            return uri
    if version.content_uri and version.content_uri.rsplit("/", 1)[-1] == entry_name:
        return version.content_uri
    names = sorted({*version.outputs, *(u.rsplit("/", 1)[-1] for u in version.outputs.values())})
    raise DeliveryFailed(
        f"entryName {entry_name!r} names no entry of version {version.id} of dataset "
        f"{dataset.name!r} (its entries: {', '.join(names) or 'none'}): fix the rule's entryName"
    )


@contextmanager
def _local_copy(uri: str, folder: Path) -> Iterator[Path]:
    """The entry as a local file: a file:// entry as it is, an s3:// one fetched into
    the version's folder for the delivery and removed after it."""
    parsed = parse_output_uri(uri, "content URI")
    if parsed.path is not None:
        yield parsed.path
        return
    folder.mkdir(parents=True, exist_ok=True)
    fetched = folder / f".delivery-{uri.rsplit('/', 1)[-1]}"
    try:
        yield storage.get(uri, fetched)
    finally:
        fetched.unlink(missing_ok=True)
