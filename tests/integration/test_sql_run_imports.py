"""A SQL dataset's run imports only what a query needs.

Its whole run is a few hundred milliseconds, so the start-up of the `dataset run` process
is most of what it costs beyond DuckDB's own (bench/sql_dataset_vs_duckdb.py): a run whose
query was translated before must not import sqlglot (the translation is kept in the state
database), pyarrow (a local store needs no S3 file system), the schedule parser (the
dataset has no schedule), the params file writer (a SQL run writes none), the definition
validator (a run registers nothing), the CreateDatastore model (a query needs the store's
name, root and format only) or the container executor. The runs here are the real
CLI under `python -X importtime`, over a real JSON-lines data store.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.datastores import sql_dataset, write_json, write_json_lines
from tests.support import ROOT, run_cli

pytestmark = pytest.mark.integration

NOT_FOR_A_KEPT_QUERY = (
    "sqlglot",
    "pyarrow",
    "numpy",
    "iota_container.schedule.expressions",
    "iota_container.params_file",
    "iota_container.definitions.validate",
    "iota_container.datastore.definition",
    "iota_container.executors.container_run",
    "iota_container.executors.local",
)
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(?P<name>\S+)$")
SQL = "SELECT device, count(*) AS n FROM readings GROUP BY device ORDER BY device"


def imported_modules(stderr: str) -> set[str]:
    return {m["name"] for line in stderr.splitlines() if (m := IMPORT_LINE.match(line))}


def needless(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in NOT_FOR_A_KEPT_QUERY)


def cli(*args: str, env: dict[str, str]) -> str:
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_kept_query_runs_without_translator_scheduler_or_container_imports(
    tmp_path: Path,
) -> None:
    env = {"IOTA_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    store = tmp_path / "store"
    messages = [{"device": "a", "ts": 1764460800}, {"device": "a", "ts": 1764460801}]
    write_json_lines(store / "__dt=2026-11-30 00:00:00" / "1764460800000_r.json", messages)
    cli("datastore", "register", "readings", "--location", str(store), "--format", "json", env=env)
    for name in ("first", "second"):  # the first run translates and keeps the translation
        definition = sql_dataset(name, SQL, delta=("from_unixtime(ts)", 0))
        cli("dataset", "register", str(write_json(tmp_path / f"{name}.json", definition)), env=env)
    cli("dataset", "run", "first", "--json", env=env)

    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
    command = [sys.executable, "-X", "importtime", "-m", "iota_container"]
    result = subprocess.run(
        [*command, "dataset", "run", "second", "--json"],
        capture_output=True,
        text=True,
        env=full_env | env,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    version = json.loads(result.stdout)
    content = Path(version["contentUri"].removeprefix("file://")).read_text(encoding="utf-8")
    assert content.splitlines() == ["device,n", "a,2"]
    imported = imported_modules(result.stderr)
    # The lines are read: the query's own modules are among them.
    assert {"duckdb", "iota_container.datastore.query"} <= imported
    found = sorted(module for module in imported if needless(module))
    assert found == [], f"a SQL run with a kept translation imported {found}"
