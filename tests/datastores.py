"""Data stores and SQL datasets for the tests: definitions in the shapes the service
accepted (CLI JSON, CloudFormation; no x-iota-* extension), messages as real files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from iota_container import storage
from iota_container.engine.records import Version
from tests.support import SHARED

ORACLES = SHARED / "oracles" / "iotanalytics"
ROLE = "arn:aws:iam::123456789012:role/iota-datastore-tests"


def create_datastore(
    name: str, *, parquet_columns: list[tuple[str, str]] | None = None, **fields: Any
) -> dict[str, Any]:
    """A CreateDatastore request (service-managed, JSON unless columns are given)."""
    if parquet_columns is None:
        formats: dict[str, Any] = {"jsonConfiguration": {}}
    else:
        columns = [{"name": n, "type": t} for n, t in parquet_columns]
        formats = {"parquetConfiguration": {"schemaDefinition": {"columns": columns}}}
    request = {
        "datastoreName": name,
        "datastoreStorage": {"serviceManagedS3": {}},
        "fileFormatConfiguration": formats,
        "retentionPeriod": {"unlimited": True},
    }
    return request | fields


def customer_managed(bucket: str, prefix: str = "exports/") -> dict[str, Any]:
    return {"customerManagedS3": {"bucket": bucket, "keyPrefix": prefix, "roleArn": ROLE}}


def datastore_template() -> dict[str, Any]:
    """A template as the service's users wrote them: a channel, a pipeline, data stores."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"StoreName": {"Type": "String", "Default": "plant_readings"}},
        "Resources": {
            "Channel": {"Type": "AWS::IoTAnalytics::Channel", "Properties": {}},
            "Pipeline": {
                "Type": "AWS::IoTAnalytics::Pipeline",
                "Properties": {"PipelineActivities": []},
            },
            "Readings": {
                "Type": "AWS::IoTAnalytics::Datastore",
                "Properties": {
                    "DatastoreName": {"Ref": "StoreName"},
                    "DatastoreStorage": {"ServiceManagedS3": {}},
                    "FileFormatConfiguration": {"JsonConfiguration": {}},
                    "DatastorePartitions": {
                        "Partitions": [{"Partition": {"AttributeName": "site"}}]
                    },
                },
            },
            "Alarms": {
                "Type": "AWS::IoTAnalytics::Datastore",
                "Properties": {
                    "FileFormatConfiguration": {
                        "ParquetConfiguration": {
                            "SchemaDefinition": {
                                "Columns": [
                                    {"Name": "device", "Type": "string"},
                                    {"Name": "level", "Type": "int"},
                                ]
                            }
                        }
                    }
                },
            },
        },
    }


def sql_dataset(
    name: str,
    sql: str,
    *,
    delta: tuple[str, int] | None = None,
    schedule: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A CreateDataset request of a SQL dataset (no x-iota-source)."""
    action: dict[str, Any] = {"sqlQuery": sql}
    if delta is not None:
        expression, offset = delta
        action["filters"] = [{"deltaTime": {"timeExpression": expression, "offsetSeconds": offset}}]
    document: dict[str, Any] = {
        "datasetName": name,
        "actions": [{"actionName": "query", "queryAction": action}],
        "versioningConfiguration": {"unlimited": True},
    }
    if schedule is not None:
        document["triggers"] = [{"schedule": {"expression": schedule}}]
    return document | fields


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def write_json_lines(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def content_rows(version: Version, tmp: Path) -> list[dict[str, str]]:
    """The CSV content of a version, read back through its content URI."""
    assert version.content_uri, version
    local = storage.get(version.content_uri, tmp / f"{version.id}.csv")
    with local.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
