"""SQL datasets without x-iota-source: the sqlQuery runs on DuckDB over registered data
stores (real JSON-lines and Parquet files, locally and in the moto S3 server), and each
bad input ends the version FAILED with one line that names it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from iota_container import storage
from iota_container.datastore.definition import read_datastore_file
from iota_container.datastore.put import put_messages
from iota_container.datastore.registry import DatastoreRegistry, flag_definition
from iota_container.engine.home import Home
from iota_container.engine.records import FAILED, SUCCEEDED, Version
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from tests.datastores import (
    content_rows,
    create_datastore,
    customer_managed,
    datastore_template,
    sql_dataset,
    write_json,
    write_json_lines,
    write_parquet,
)
from tests.servers import MotoServer
from tests.support import run_cli

pytestmark = pytest.mark.integration

READINGS = [
    {"device": "d1", "temp": 20.5, "time": 1740830400},
    {"device": "d2", "temp": 25.0, "time": 1740830460},
    {"device": "d1", "temp": 22.5, "time": 1740830520},
]


class Local:
    """A home with data stores and SQL datasets registered in it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.home = Home.locate(tmp_path / "home")
        self.store = StateStore(self.home)
        self.engine = DatasetEngine(self.store)

    def datastore(self, request: dict) -> DatastoreRegistry:  # type: ignore[type-arg]
        path = write_json(self.tmp / f"{request['datastoreName']}-store.json", request)
        (definition,) = read_datastore_file(path).definitions
        with DatastoreRegistry(self.home) as registry:
            registry.register(definition)
        return registry

    def put(self, name: str, messages: list[dict]) -> None:  # type: ignore[type-arg]
        with DatastoreRegistry(self.home) as registry:
            put_messages(registry.get(name), messages)

    def run(self, document: dict) -> Version:  # type: ignore[type-arg]
        path = write_json(self.tmp / "defs" / f"{document['datasetName']}.json", document)
        self.store.register(path)
        return self.engine.run(document["datasetName"])


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    world = Local(tmp_path)
    yield world
    world.store.close()


AVERAGES = (
    "SELECT device, round(avg(temp), 2) AS mean, count(*) AS n FROM readings "
    "GROUP BY device ORDER BY device"
)


def test_a_json_store_filled_by_put_gives_the_querys_rows(local: Local) -> None:
    local.datastore(create_datastore("readings"))
    messages = write_json_lines(local.tmp / "messages.jsonl", READINGS)
    env = {"IOTA_HOME": str(local.home.root)}
    put = run_cli("datastore", "put", "readings", str(messages), "--json", env=env)
    assert put.returncode == 0, put.stderr
    (written,) = json.loads(put.stdout)["objects"]
    assert "/datastore/readings/__dt=" in written and written.endswith(".json.gz")

    version = local.run(sql_dataset("averages", AVERAGES))
    assert (version.status, version.reason) == (SUCCEEDED, None)
    assert content_rows(version, local.tmp) == [
        {"device": "d1", "mean": "21.5", "n": "2"},
        {"device": "d2", "mean": "25.0", "n": "1"},
    ]


def test_presto_functions_are_translated_and_partitions_are_columns(local: Local) -> None:
    request = create_datastore("readings")
    request["datastorePartitions"] = {
        "partitions": [{"attributePartition": {"attributeName": "device"}}]
    }
    local.datastore(request)
    local.put("readings", READINGS)
    files = sorted((local.home.root / "datastores").rglob("*.json.gz"))
    assert [f.parent.name for f in files] == ["device=d1", "device=d2"]
    sql = (
        "SELECT device, date_format(from_unixtime(time), '%Y-%m-%d %H:%i') AS at, "
        "approx_percentile(temp, 0.5) AS median FROM readings "
        "WHERE __dt IS NOT NULL GROUP BY device, 2 ORDER BY at"
    )
    version = local.run(sql_dataset("medians", sql))
    assert version.status == SUCCEEDED, version.reason
    rows = content_rows(version, local.tmp)
    assert [(r["device"], r["at"]) for r in rows] == [
        ("d1", "2025-03-01 12:00"),
        ("d2", "2025-03-01 12:01"),
        ("d1", "2025-03-01 12:02"),
    ]


def test_a_parquet_store_written_by_pyarrow(local: Local) -> None:
    folder = local.tmp / "export"
    write_parquet(folder / "__dt=2025-03-01 00:00:00" / "part-0.parquet", READINGS[:2])
    write_parquet(folder / "__dt=2025-03-02 00:00:00" / "part-0.parquet", READINGS[2:])
    with DatastoreRegistry(local.home) as registry:
        registry.register(flag_definition("Readings", "parquet"), root=str(folder))
    # Presto folds unquoted names to lower case: `readings` is the data store `Readings`.
    sql = "SELECT device, temp, CAST(__dt AS date) AS day FROM readings ORDER BY time"
    version = local.run(sql_dataset("table", sql))
    assert version.status == SUCCEEDED, version.reason
    assert content_rows(version, local.tmp) == [
        {"device": "d1", "temp": "20.5", "day": "2025-03-01"},
        {"device": "d2", "temp": "25.0", "day": "2025-03-01"},
        {"device": "d1", "temp": "22.5", "day": "2025-03-02"},
    ]


def test_a_customer_managed_store_in_s3(
    local: Local, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in moto.client_env().items():
        monkeypatch.setenv(key, value)
    bucket = moto.new_bucket("iota-datastore")
    request = create_datastore(
        "readings",
        parquet_columns=[("device", "string"), ("temp", "double"), ("time", "bigint")],
        datastoreStorage=customer_managed(bucket),
    )
    local.datastore(request)
    local.put("readings", READINGS)
    keys = [o["Key"] for o in moto.s3().list_objects_v2(Bucket=bucket)["Contents"]]
    (key,) = keys
    assert key.startswith("exports/datastore/readings/__dt=") and key.endswith(".parquet")
    version = local.run(sql_dataset("averages", AVERAGES))
    assert version.status == SUCCEEDED, version.reason
    assert [r["n"] for r in content_rows(version, local.tmp)] == ["2", "1"]


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT * FROM nowhere", "reads 'nowhere', which is not a registered data store"),
        ("SELECT device FROM readings WHERE", "does not parse as Presto SQL"),
        ("SELECT approx_set(device) FROM readings", "uses approx_set, which sqlglot cannot"),
    ],
)
def test_bad_queries_fail_in_one_line_naming_what(local: Local, sql: str, words: str) -> None:
    local.datastore(create_datastore("readings"))
    local.put("readings", READINGS)
    version = local.run(sql_dataset("bad", sql))
    assert version.status == FAILED
    assert version.reason and words in version.reason and "\n" not in version.reason, version.reason
    if "nowhere" in sql:
        assert "datastore list" in version.reason


def test_a_time_expression_that_is_not_a_time(local: Local) -> None:
    local.datastore(create_datastore("readings"))
    local.put("readings", READINGS)
    document = sql_dataset("bad", "SELECT * FROM readings", delta=("device", 0))
    version = local.run(document)
    assert version.status == FAILED
    assert version.reason and "timeExpression 'device'" in version.reason
    assert "gives VARCHAR, not a time" in version.reason


def test_an_unreadable_store_file_fails_the_run_naming_it(local: Local) -> None:
    local.datastore(create_datastore("readings"))
    local.put("readings", READINGS)
    (good,) = (local.home.root / "datastores").rglob("*.json.gz")
    broken = good.with_name("1_broken_readings.json")
    broken.write_text('{"device": "d3", "temp": ')
    version = local.run(sql_dataset("averages", AVERAGES))
    assert version.status == FAILED
    assert version.reason and str(broken) in version.reason, version.reason
    assert version.content_uri is None


def test_without_the_sql_extra_the_run_names_the_install(local: Local, tmp_path: Path) -> None:
    local.datastore(create_datastore("readings"))
    local.put("readings", READINGS)
    definition = write_json(tmp_path / "defs" / "averages.json", sql_dataset("averages", AVERAGES))
    blocker = tmp_path / "no-duckdb"
    blocker.mkdir()
    (blocker / "duckdb.py").write_text(
        "raise ImportError('duckdb is not installed', name='duckdb')\n"
    )
    env = {"IOTA_HOME": str(local.home.root), "PYTHONPATH": f"{blocker}{os.pathsep}{os.getcwd()}"}
    assert run_cli("dataset", "register", str(definition), env=env).returncode == 0
    result = run_cli("dataset", "run", "averages", env=env)
    assert result.returncode == 2
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.endswith("is not installed: pip install 'iota-container[sql]'"), error


def test_a_timestamp_partition_keeps_the_messages_own_time(local: Local) -> None:
    request = create_datastore("readings")
    stamp = {"attributeName": "time"}  # seconds since 1970, the service's default
    request["datastorePartitions"] = {"partitions": [{"timestampPartition": stamp}]}
    local.datastore(request)
    local.put("readings", READINGS)
    sql = "SELECT time, CAST(__time AS varchar) AS day FROM readings ORDER BY time"
    version = local.run(sql_dataset("days", sql, delta=("from_unixtime(time)", 0)))
    assert version.status == SUCCEEDED, version.reason
    assert content_rows(version, local.tmp) == [
        {"time": str(m["time"]), "day": "2025-03-01"} for m in READINGS
    ]


def test_one_cloudformation_template_with_its_datastore_and_sql_dataset(tmp_path: Path) -> None:
    template = datastore_template()
    template["Resources"]["Averages"] = {
        "Type": "AWS::IoTAnalytics::Dataset",
        "Properties": {
            "DatasetName": "averages",
            "Actions": [
                {
                    "ActionName": "query",
                    "QueryAction": {
                        "SqlQuery": "SELECT site, count(*) AS n FROM plant_readings GROUP BY site"
                    },
                }
            ],
        },
    }
    path = write_json(tmp_path / "stack.json", template)
    env = {"IOTA_HOME": str(tmp_path / "home")}
    for args in (("datastore", "register", str(path)), ("dataset", "register", str(path))):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr
    messages = write_json_lines(tmp_path / "m.jsonl", [{"site": "north"}, {"site": "north"}])
    assert run_cli("datastore", "put", "plant_readings", str(messages), env=env).returncode == 0
    ran = run_cli("dataset", "run", "averages", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    version = json.loads(ran.stdout)
    local = storage.get(version["contentUri"], tmp_path / "content.csv")
    assert local.read_text().splitlines() == ["site,n", "north,2"]
