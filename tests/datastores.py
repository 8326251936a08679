"""Data stores and SQL datasets for the tests: definitions in the shapes the service
accepted (CLI JSON, CloudFormation; no x-iota-* extension), messages as real files."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from iota_container import storage
from iota_container.engine.home import Home
from iota_container.engine.records import Version
from iota_container.engine.state_store import StateStore
from iota_container.scheduler.clock import CLOCK_FILE_ENV
from tests.support import SHARED, run_cli

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


def late_data_rules(rule_name: str, timeout_minutes: int) -> list[dict[str, Any]]:
    """CreateDataset's lateDataRules: one rule with a delta time session window."""
    window = {"timeoutInMinutes": timeout_minutes}
    configuration = {"deltaTimeSessionWindowConfiguration": window}
    return [{"ruleName": rule_name, "ruleConfiguration": configuration}]


def s3_delivery(
    bucket: str, key: str, *, glue: tuple[str, str] | None = None, entry: str | None = None
) -> dict[str, Any]:
    """A contentDeliveryRule to S3, with glueConfiguration (database, table) when given."""
    destination: dict[str, Any] = {"bucket": bucket, "key": key, "roleArn": ROLE}
    if glue is not None:
        destination["glueConfiguration"] = {"databaseName": glue[0], "tableName": glue[1]}
    rule: dict[str, Any] = {"destination": {"s3DestinationConfiguration": destination}}
    return rule | ({"entryName": entry} if entry else {})


def iot_events_delivery(input_name: str) -> dict[str, Any]:
    configuration = {"inputName": input_name, "roleArn": ROLE}
    return {"destination": {"iotEventsDestinationConfiguration": configuration}}


class EventsQueue:
    """An SQS queue behind a rule of the default EventBridge bus matching `detail_type`:
    what the bus delivers, read back as the events' documents."""

    def __init__(self, moto: Any, detail_type: str) -> None:
        import uuid

        name = f"late-{uuid.uuid4().hex[:8]}"
        self.sqs = moto.client("sqs")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = moto.client("events")
        pattern = json.dumps({"detail-type": [detail_type]})
        events.put_rule(Name=name, EventPattern=pattern, EventBusName="default")
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def clock(moment: datetime) -> str:
    """A message's id: the time it carries."""
    return moment.strftime("%H:%M:%S")


class Clocked:
    """The CLI as its own processes on a simulated clock (IOTA_SCHEDULER_CLOCK_FILE), with
    one state folder; messages put into the data store `events`."""

    def __init__(self, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.clock = tmp / "now"
        self.env = {"IOTA_HOME": str(tmp / "home"), CLOCK_FILE_ENV: str(self.clock)}
        self.env.update(env or {})
        self.puts = 0

    def cli(self, *args: str) -> Any:
        result = run_cli(*args, env=self.env)
        assert result.returncode == 0, result.stderr
        return result

    def register(self, document: dict[str, Any]) -> None:
        """The data store `events` (JSON lines) and the dataset of `document` on it."""
        store = write_json(self.tmp / "events.json", create_datastore("events"))
        self.cli("datastore", "register", str(store))
        name = document["datasetName"]
        self.cli("dataset", "register", str(write_json(self.tmp / f"{name}.json", document)))

    def put(self, *times: datetime) -> None:
        self.puts += 1
        messages = [{"id": clock(t), "ts": int(t.timestamp())} for t in times]
        self.cli(
            "datastore",
            "put",
            "events",
            str(write_json_lines(self.tmp / f"m{self.puts}.jsonl", messages)),
        )

    def scheduler_at(self, moment: datetime, *options: str) -> Any:
        self.clock.write_text(moment.isoformat())
        return self.cli("scheduler", "--once", "--no-container", *options)

    def versions(self, dataset: str = "recent") -> list[Version]:
        """Oldest first."""
        with StateStore(Home.locate(self.tmp / "home")) as store:
            return list(reversed(store.versions(dataset)))

    def ids(self, version: Version) -> list[str]:
        return [row["id"] for row in content_rows(version, self.tmp)]
