"""Where a data store's messages live, following the service's layout.

The service kept a data store's objects under `datastore/<name>/` in its bucket (a
customer-managed store: in `bucket` under `keyPrefix`), one folder a day of arrival,
`__dt=YYYY-MM-DD 00:00:00` (the service model's own example key, for channels:
`channel/mychannel/__dt=2020-02-29 00:00:00/1582940490000_..._mychannel_0_2118.0.json.gz`).
Here a service-managed store is the folder `<IOTA_HOME>/datastores/<name>/datastore/<name>`
and a customer-managed one `s3://<bucket>/<keyPrefix>datastore/<name>`; a store registered
with `--location` is that folder or prefix itself (where exported objects already are).

Inside a day, each declared partition is one more folder `<attribute>=<value>` in the
order declared (hive style, which DuckDB reads as columns); a timestampPartition's folder
is `__<attribute>=<the day of the message's time>`, the time read as its timestampFormat
says (seconds since 1970 by default), named so that the folder's column does not replace
the message's own time attribute. Object names
start with the arrival time in milliseconds, so they sort by arrival. Files whose name
starts with `.` or `_` are not messages (staging files, markers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from iota_container.errors import IotaError

JSON = "json"
PARQUET = "parquet"
FORMATS = (JSON, PARQUET)
SUFFIXES = {JSON: (".json", ".json.gz", ".jsonl", ".ndjson"), PARQUET: (".parquet",)}
# What a hive folder holds for a message that lacks the partition's attribute: DuckDB
# reads it as NULL.
MISSING_VALUE = "__HIVE_DEFAULT_PARTITION__"


class UnsupportedDatastore(IotaError):
    """A data store this project cannot keep (iotSiteWiseMultiLayerStorage)."""


def is_s3(root: str) -> bool:
    return root.startswith("s3://")


def join(root: str, *parts: str) -> str:
    if is_s3(root):
        return "/".join([root.rstrip("/"), *parts])
    return str(Path(root, *parts))


def day_folder(arrival: datetime) -> str:
    return f"__dt={arrival.astimezone(timezone.utc):%Y-%m-%d} 00:00:00"


def object_name(arrival: datetime, datastore: str, token: str, suffix: str) -> str:
    millis = int(arrival.timestamp() * 1000)
    return f"{millis}_{token}_{datastore}{suffix}"


def partition_value(value: object) -> str:
    """A message's value as a folder name: `/`, `=`, `%` and control characters escaped."""
    if value is None:
        return MISSING_VALUE
    text = str(value).lower() if isinstance(value, bool) else str(value)
    escaped = "".join(f"%{ord(c):02X}" if c in "/\\%=?#" or ord(c) < 32 else c for c in text)
    return escaped or MISSING_VALUE


# A timestampPartition's timestampFormat is how its attribute is written, in Java's
# SimpleDateFormat letters (the service model: "the default format is seconds since
# epoch"); these letters cover the formats its users wrote. Quoted literals lose quotes.
_JAVA_FIELDS = (
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%f"),
)


def timestamp_value(value: object, java_format: str) -> str:
    """A timestamp attribute's folder: the day it names (YYYY-MM-DD, UTC), read as seconds
    since 1970 (milliseconds when that large) or in `java_format`; else the value as is."""
    moment = _as_time(value, java_format)
    return partition_value(value if moment is None else f"{moment:%Y-%m-%d}")


def _as_time(value: object, java_format: str) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        return datetime.fromtimestamp(seconds, timezone.utc)
    if not isinstance(value, str):
        return None
    pattern = java_format.replace("'", "")
    for java, strftime in _JAVA_FIELDS:
        pattern = pattern.replace(java, strftime)
    try:
        moment = datetime.strptime(value, pattern) if java_format else None
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def list_files(root: str, store_format: str, s3: object | None = None) -> list[str]:
    """The message files under `root`, sorted; `s3` is the file system for an s3:// root."""
    suffixes = SUFFIXES[store_format]

    def wanted(name: str) -> bool:
        return name.endswith(suffixes) and not name.startswith((".", "_"))

    if is_s3(root):
        assert s3 is not None
        prefix = root.removeprefix("s3://").rstrip("/")
        found = s3.find(prefix) if _exists(s3, prefix) else []  # type: ignore[attr-defined]
        return sorted(f"s3://{key}" for key in found if wanted(key.rsplit("/", 1)[-1]))
    if not os.path.isdir(root):
        return []
    # os.walk, not Path.rglob: a few times faster on the day folders of a run's listing,
    # and alike in what it finds (links to folders are not entered, links to files count).
    return sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
        if wanted(name) and os.path.isfile(os.path.join(folder, name))
    )


def _exists(s3: object, prefix: str) -> bool:
    return bool(s3.exists(prefix))  # type: ignore[attr-defined]


def sql_list(paths: Sequence[str]) -> str:
    """Paths as a DuckDB list literal."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
