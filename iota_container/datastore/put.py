"""`datastore put`: a JSON-lines file's messages appended to a data store, as
BatchPutMessage and the pipeline behind it did.

Each message is one JSON object. They land in the day folder of the time they arrive
(`__dt=`), inside the folders of the store's declared partitions (layout.py), as one new
object per partition folder: gzip-compressed JSON lines (as the service's objects were),
or Parquet for a Parquet store (its schemaDefinition's columns typed as declared). An
object is written whole or not at all (storage/: a file renamed into place, or one S3
PUT with the bucket-owner-full-control ACL), so a query never reads half of one.
"""

from __future__ import annotations

import gzip
import io
import json
import secrets
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from iota_container import storage
from iota_container.datastore.layout import (
    PARQUET,
    day_folder,
    is_s3,
    join,
    object_name,
    partition_value,
    timestamp_value,
)
from iota_container.datastore.registry import Datastore, Partition
from iota_container.errors import IotaError

# Hive column types of a schemaDefinition, as Arrow's (the others are left to inference).
_ARROW_TYPES = {
    "string": "string",
    "varchar": "string",
    "boolean": "bool_",
    "tinyint": "int8",
    "smallint": "int16",
    "int": "int32",
    "integer": "int32",
    "bigint": "int64",
    "float": "float32",
    "double": "float64",
    "date": "date32",
}


class MessagesError(IotaError):
    """A messages file that cannot be read as JSON lines of objects."""


def read_messages(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise MessagesError(
            f"messages file {str(path)!r} cannot be read ({reason}): give a UTF-8 file "
            "of JSON lines, one message object a line"
        ) from e
    messages = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError as e:
            raise MessagesError(
                f"{path}: line {number} is not JSON ({e.msg} at column {e.colno}): write one "
                "JSON object a line"
            ) from e
        if not isinstance(message, dict):
            raise MessagesError(
                f"{path}: line {number} is a {type(message).__name__}, not an object: write "
                'one message a line, such as {"device": "d1", "temp": 21.5}'
            )
        messages.append(message)
    if not messages:
        raise MessagesError(f"messages file {str(path)!r} holds no message: add JSON lines")
    return messages


def put_messages(
    datastore: Datastore, messages: list[dict[str, Any]], *, arrival: datetime | None = None
) -> list[str]:
    """Append `messages`; the new objects (paths, or s3:// URIs), one per partition folder."""
    arrival = arrival or datetime.now(timezone.utc)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        groups[_partition_folders(datastore.partitions, message)].append(message)
    token = secrets.token_hex(6)
    parquet = datastore.format == PARQUET
    written = []
    for index, (folders, group) in enumerate(sorted(groups.items())):
        suffix = ".parquet" if parquet else ".json.gz"
        name = object_name(arrival, datastore.name, f"{token}_{index}", suffix)
        location = join(datastore.root, day_folder(arrival), *folders, name)
        payload = _parquet(group, datastore.columns) if parquet else _json_lines(group)
        uri = location if is_s3(location) else Path(location).as_uri()
        storage.put(payload, uri)
        written.append(location)
    return written


def _partition_folders(
    partitions: tuple[Partition, ...], message: dict[str, Any]
) -> tuple[str, ...]:
    folders = []
    for partition in partitions:
        value = message.get(partition.attribute)
        if partition.timestamp_format is not None:
            formatted = timestamp_value(value, partition.timestamp_format)
            folders.append(f"{partition.folder}={formatted}")
        else:
            folders.append(f"{partition.folder}={partition_value(value)}")
    return tuple(folders)


def _json_lines(messages: list[dict[str, Any]]) -> bytes:
    text = "".join(
        json.dumps(m, ensure_ascii=False, separators=(",", ":")) + "\n" for m in messages
    )
    return gzip.compress(text.encode("utf-8"), mtime=0)


def _parquet(messages: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    declared = {name: _ARROW_TYPES.get(kind.lower()) for name, kind in columns}
    try:
        table = pa.Table.from_pylist(messages)
        for name, arrow_type in declared.items():
            if arrow_type and name in table.column_names:
                position = table.column_names.index(name)
                column = table.column(name).cast(getattr(pa, arrow_type)())
                table = table.set_column(position, name, column)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise MessagesError(
            f"the messages do not fit a Parquet table ({str(e).splitlines()[0]}): give each "
            "attribute one type in every message, as the schemaDefinition declares"
        ) from e
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()
