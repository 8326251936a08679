"""contentDeliveryRules after each SUCCEEDED version: S3 and Glue in the moto server (out
of process), the scheduler on a simulated clock for `!{iotanalytics:scheduleTime}`; the
ACL read from the requests on the wire. moto has no IoT Events data plane: those
deliveries go to botocore's Stubber, which checks the BatchPutMessage requests sent."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from iota_container.datastore.delivery import DeliveryClients, deliver_version
from iota_container.datastore.delivery_iotevents import iot_events_data_client
from iota_container.engine.home import Home
from iota_container.engine.records import FAILED, SUCCEEDED
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from tests.dataset_helpers import container_dataset, output_var, string_var
from tests.datastores import (
    Clocked,
    create_datastore,
    iot_events_delivery,
    s3_delivery,
    sql_dataset,
    write_json,
    write_json_lines,
)
from tests.notebooks import write_notebook
from tests.servers import MotoServer, header
from tests.support import run_cli

pytestmark = pytest.mark.integration

KEY = "dataset/counts/!{iotanalytics:scheduleTime}/!{iotanalytics:versionId}.csv"
ROLE = "arn:aws:iam::123456789012:role/delivery"
SQL = "SELECT device, count(*) AS n FROM events GROUP BY device ORDER BY device"


def counts_template(bucket: str, database: str) -> dict[str, Any]:
    """A template as the service's users wrote it: the data store and the dataset."""
    destination = {
        "Bucket": bucket,
        "Key": KEY,
        "RoleArn": ROLE,
        "GlueConfiguration": {"DatabaseName": database, "TableName": "counts"},
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Events": {
                "Type": "AWS::IoTAnalytics::Datastore",
                "Properties": {
                    "DatastoreName": "events",
                    "FileFormatConfiguration": {"JsonConfiguration": {}},
                },
            },
            "Counts": {
                "Type": "AWS::IoTAnalytics::Dataset",
                "Properties": {
                    "DatasetName": "counts",
                    "Actions": [{"ActionName": "query", "QueryAction": {"SqlQuery": SQL}}],
                    "Triggers": [{"Schedule": {"ScheduleExpression": "cron(* * * * ? *)"}}],
                    "VersioningConfiguration": {"Unlimited": True},
                    "ContentDeliveryRules": [
                        {"Destination": {"S3DestinationConfiguration": destination}}
                    ],
                },
            },
        },
    }


def unique_name(prefix: str) -> str:
    """Buckets and Glue databases outlive a test in the session's moto server."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def delivered_writes(moto: MotoServer, bucket: str, keys: list[str]) -> list[dict[str, Any]]:
    """The recorded writes of `keys` to `bucket`, their URLs percent-decoded (the keys hold
    `:`), read again for a few seconds: the recorder's lines may land just after the answer."""
    wanted = {f"{bucket}/{key}" for key in keys}
    deadline = time.monotonic() + 5
    while True:
        writes = [
            w
            for w in moto.object_writes()
            if unquote(w["url"].split("?")[0]).split("://", 1)[-1].split("/", 1)[-1] in wanted
        ]
        if len(writes) >= len(keys) or time.monotonic() > deadline:
            return writes
        time.sleep(0.2)


def glue_calls(moto: MotoServer) -> list[str]:
    targets = (header(entry, "X-Amz-Target") or "" for entry in moto.recorded())
    return [t.removeprefix("AWSGlue.") for t in targets if t.startswith("AWSGlue.")]


def test_scheduled_versions_delivered_to_s3_at_the_substituted_key_with_their_glue_table(
    tmp_path: Path, moto: MotoServer
) -> None:
    bucket = moto.new_bucket("delivered")
    database = unique_name("plant")
    moto.client("glue").create_database(DatabaseInput={"Name": database})
    world = Clocked(tmp_path, moto.client_env())
    stack = write_json(tmp_path / "stack.json", counts_template(bucket, database))
    world.cli("datastore", "register", str(stack))
    world.cli("dataset", "register", str(stack))
    messages = [{"device": d} for d in ("d1", "d2", "d1")]
    world.cli("datastore", "put", "events", str(write_json_lines(tmp_path / "m.jsonl", messages)))
    with StateStore(Home.locate(tmp_path / "home")) as store:
        first_fire = store.dataset("counts").created_at.replace(second=0, microsecond=0)
    first_fire += timedelta(minutes=1)
    moto.reset_recording()

    world.scheduler_at(first_fire + timedelta(seconds=5))
    world.scheduler_at(first_fire + timedelta(minutes=1, seconds=5))

    versions = world.versions("counts")
    assert [v.status for v in versions] == [SUCCEEDED, SUCCEEDED]
    keys = [
        f"dataset/counts/{(first_fire + timedelta(minutes=n)):%Y-%m-%dT%H:%M:%SZ}/{v.id}.csv"
        for n, v in enumerate(versions)
    ]
    listed = moto.s3().list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(keys)
    body = moto.s3().get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode()
    assert body.splitlines() == ["device,n", "d1,2", "d2,1"]
    writes = delivered_writes(moto, bucket, keys)
    assert len(writes) == 2, [w["url"] for w in moto.object_writes()]
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in writes)

    table = moto.client("glue").get_table(DatabaseName=database, Name="counts")["Table"]
    descriptor = table["StorageDescriptor"]
    assert descriptor["Location"] == f"s3://{bucket}/dataset/counts/"
    assert [c["Name"] for c in descriptor["Columns"]] == ["device", "n"]
    assert [c for c in glue_calls(moto) if c in ("CreateTable", "UpdateTable")] == [
        "CreateTable",
        "UpdateTable",
    ]
    (delivery,) = versions[1].deliveries
    assert (delivery.status, delivery.role_arn) == (SUCCEEDED, ROLE)
    shown = json.loads(world.cli("dataset", "content", "counts", "--json").stdout)
    assert shown["deliveries"][0]["destination"].startswith(f"s3://{bucket}/{keys[1]}")


def registered_counts(tmp_path: Path, env: dict[str, str], rules: list[dict[str, Any]]) -> None:
    """The data store `events` with three messages, and the SQL dataset `counts` on it
    (a CLI JSON CreateDataset request) with these contentDeliveryRules."""
    for args in (
        ("datastore", "register", str(write_json(tmp_path / "s.json", create_datastore("events")))),
        (
            "datastore",
            "put",
            "events",
            str(write_json_lines(tmp_path / "m.jsonl", [{"device": "d1"}])),
        ),
        (
            "dataset",
            "register",
            str(
                write_json(
                    tmp_path / "d.json", sql_dataset("counts", SQL, contentDeliveryRules=rules)
                )
            ),
        ),
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr


def test_a_missing_bucket_fails_the_delivery_not_the_version_and_deliver_retries_it(
    tmp_path: Path, moto: MotoServer
) -> None:
    bucket = unique_name("later").replace("_", "-")
    database = unique_name("plant")
    moto.client("glue").create_database(DatabaseInput={"Name": database})
    env = moto.client_env() | {"IOTA_HOME": str(tmp_path / "home")}
    rules = [s3_delivery(bucket, "counts/!{iotanalytics:versionId}.csv", glue=(database, "t"))]
    registered_counts(tmp_path, env, rules)

    ran = run_cli("dataset", "run", "counts", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    version = json.loads(ran.stdout)
    assert version["status"] == SUCCEEDED
    (delivery,) = version["deliveries"]
    assert delivery["status"] == FAILED
    assert f"bucket {bucket!r} does not exist" in delivery["reason"]
    assert "\n" not in delivery["reason"]
    with pytest.raises(moto.client("glue").exceptions.EntityNotFoundException):
        moto.client("glue").get_table(DatabaseName=database, Name="t")  # nothing half-done

    moto.s3().create_bucket(Bucket=bucket)
    retried = run_cli("dataset", "deliver", "counts", "--json", env=env)
    assert retried.returncode == 0, retried.stderr
    assert [d["status"] for d in json.loads(retried.stdout)] == [SUCCEEDED]
    key = f"counts/{version['versionId']}.csv"
    body = moto.s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert body.splitlines() == ["device,n", "d1,1"]


def test_a_missing_glue_database_delivers_nothing(tmp_path: Path, moto: MotoServer) -> None:
    bucket = moto.new_bucket("no-database")
    env = moto.client_env() | {"IOTA_HOME": str(tmp_path / "home")}
    registered_counts(tmp_path, env, [s3_delivery(bucket, "c.csv", glue=("absent", "t"))])

    ran = run_cli("dataset", "run", "counts", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    (delivery,) = json.loads(ran.stdout)["deliveries"]
    assert delivery["status"] == FAILED
    assert "glueConfiguration.databaseName 'absent' is not a Glue database" in delivery["reason"]
    assert "Contents" not in moto.s3().list_objects_v2(Bucket=bucket)
    failed = run_cli("dataset", "deliver", "counts", env=env)
    assert failed.returncode == 2
    assert "'absent'" in failed.stderr


def test_iot_events_delivery_sends_each_row_and_names_an_unknown_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.stub import ANY, Stubber

    for name, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    home = Home.locate(tmp_path / "home")
    messages = [{"device": "d1"}, {"device": "d2"}]
    env = {"IOTA_HOME": str(home.root)}
    for args in (
        ("datastore", "register", str(write_json(tmp_path / "s.json", create_datastore("events")))),
        ("datastore", "put", "events", str(write_json_lines(tmp_path / "m.jsonl", messages))),
    ):
        assert run_cli(*args, env=env).returncode == 0
    document = sql_dataset("counts", SQL, contentDeliveryRules=[iot_events_delivery("alarms")])
    client = iot_events_data_client()
    stubber = Stubber(client)
    rows = [{"device": "d1", "n": 1}, {"device": "d2", "n": 1}]  # numbers as numbers
    with StateStore(home) as store:
        store.register(write_json(tmp_path / "d.json", document))
        engine = DatasetEngine(store, delivery_clients=DeliveryClients(iot_events=client))
        any_id = [
            {"messageId": ANY, "inputName": "alarms", "payload": json.dumps(row).encode()}
            for row in rows
        ]
        stubber.add_response(
            "batch_put_message", {"BatchPutMessageErrorEntries": []}, {"messages": any_id}
        )
        with stubber:
            version = engine.run("counts")
        stubber.assert_no_pending_responses()
        assert version.status == SUCCEEDED
        (delivered,) = version.deliveries
        assert (delivered.status, delivered.destination) == (SUCCEEDED, "iotevents:alarms")

        sent = [
            {
                "messageId": f"{version.id}-{n}",
                "inputName": "alarms",
                "payload": json.dumps(row).encode(),
            }
            for n, row in enumerate(rows)
        ]
        unknown = {
            "BatchPutMessageErrorEntries": [
                {"messageId": f"{version.id}-0", "errorCode": "ResourceNotFoundException"}
            ]
        }
        stubber.add_response("batch_put_message", unknown, {"messages": sent})
        with stubber:
            clients = DeliveryClients(iot_events=client)
            refused = deliver_version(store, store.dataset("counts"), version, clients=clients)
        stubber.assert_no_pending_responses()
    (outcome,) = refused.deliveries
    assert (refused.status, outcome.status) == (SUCCEEDED, FAILED)
    assert outcome.reason is not None and "input 'alarms' does not exist" in outcome.reason


SUMMARY = """\
import iota_container as iota
iota.upload(f"{site}: ok".encode(), 'summary')"""


def test_a_container_datasets_output_named_by_entry_name_is_delivered(
    tmp_path: Path, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service delivered container datasets' contents too: the rule's entryName
    picks the output (here the outputFileUriValue's file)."""
    for name, value in moto.client_env().items():
        monkeypatch.setenv(name, value)
    bucket = moto.new_bucket("container-delivered")
    notebook = write_notebook(
        tmp_path / "report.ipynb", SUMMARY, parameters="site = 'lab'\nsummary = ''"
    )
    rule = s3_delivery(bucket, "reports/!{iotanalytics:versionId}.txt", entry="summary.txt")
    document = container_dataset(
        "report",
        string_var("site", "plant-7"),
        output_var("summary", "summary.txt"),
        contentDeliveryRules=[rule],
    )
    with StateStore(Home.locate(tmp_path / "home")) as store:
        store.register(write_json(tmp_path / "report.json", document))
        version = DatasetEngine(store).run("report", use_container=False, notebook=notebook)
    assert version.status == SUCCEEDED, version.reason
    assert [d.status for d in version.deliveries] == [SUCCEEDED], version.deliveries
    key = f"reports/{version.id}.txt"
    assert moto.s3().get_object(Bucket=bucket, Key=key)["Body"].read() == b"plant-7: ok"
    (write,) = moto.object_writes()
    assert header(write, "x-amz-acl") == "bucket-owner-full-control"
