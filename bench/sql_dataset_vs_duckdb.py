"""A SQL dataset's delta-window query through `iota-container dataset run` versus the
same query run directly with DuckDB's Python API on the same files.

Two data stores, generated untimed with pyarrow in the service's layout (one folder a
day, `__dt=YYYY-MM-DD 00:00:00`): 10 million messages in Parquet (one file a day) and 1
million in JSON lines (gzip, one file a day); `--quick`: 1 million and 100,000. Each
message is {device, ts (seconds since 1970), temp}, its times spread over ten days
around now, so the delta window of a first run (from the first message to the run's
time, deltaTime `from_unixtime(ts)`) reads about half of them.

The iota side: one IOTA_HOME per data store, the store registered there once
(`datastore register NAME --location FOLDER --format F`); per round, a new SQL dataset
(a CreateDataset request, the same query) registered untimed, so that each run is a
first run with the same window; timed: one `iota-container dataset run NAME --json`
process (CLI start-up, state, window, DuckDB over the files, CSV content, version). The
warm-up round's run translates the query with sqlglot and keeps the translation
(datastore/translations.py); the timed runs find it, as every run after a dataset's
first does. The other side: one `python bench/_duckdb_query.py` process that imports
duckdb and COPYs the same query (the same relation over the same file list, the same
window filter with its own start time as the end) to CSV. Both sides' results are summed
(messages counted).

A second row per store: both sides in one warm process (_sql_in_process.py), as a
scheduler's worker runs a SQL dataset: `DatasetEngine.run` of a new dataset against
_duckdb_query.py's function, alternated, after an untimed round. It shows the engine's
own cost per run (state, window, CSV content, version) without the interpreter's and
the imports' start-up, which the process row adds to the iota side only.
Memory: each side's peak RSS, read with `os.wait4` by a small launcher process that
forks and execs the side (Linux keeps the peak RSS across exec: forked from the
benchmark itself, a side would report the benchmark's own size).
Bytecode: both sides run as installed packages do, from compiled bytecode (pip compiles
a package's modules when it installs it; the editable install of a source tree does not,
and with PYTHONDONTWRITEBYTECODE set every run would compile the project's modules again
while DuckDB's come compiled). Their environment drops PYTHONDONTWRITEBYTECODE and points
PYTHONPYCACHEPREFIX into the work folder, so the untimed warm-up rounds compile and the
timed ones read, and nothing is written into the source tree.
Target: wall time iota / duckdb <= 1.2, for each format (both rows are reported).

    python bench/sql_dataset_vs_duckdb.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    BenchArgs,
    Measured,
    alternate,
    format_table,
    messages_counted,
    parse_args,
    progress,
    report,
    seconds_text,
    temp_dir,
)

TARGET = 1.2
DAYS = 10
DEVICES = 100
SQL = "SELECT device, count(*) AS n, avg(temp) AS mean FROM {store} GROUP BY device ORDER BY device"
TIME_EXPRESSION = "from_unixtime(ts)"
DUCKDB_QUERY = BENCH_DIR / "_duckdb_query.py"  # the DuckDB side, written by hand
IN_PROCESS = BENCH_DIR / "_sql_in_process.py"


@dataclass(frozen=True)
class Store:
    name: str
    format: str
    root: Path
    messages: int

    @property
    def files(self) -> list[str]:
        suffix = ".parquet" if self.format == "parquet" else ".json.gz"
        return sorted(str(p) for p in self.root.rglob(f"*{suffix}"))


def generate(root: Path, name: str, store_format: str, messages: int) -> Store:
    """`messages` messages, one file a day of their time, in the data store layout."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    progress(f"generating {messages:,} {store_format} messages")
    now = datetime.now(timezone.utc)
    first_day = (now - timedelta(days=DAYS // 2)).replace(hour=0, minute=0, second=0)
    random = np.random.default_rng(20261201)
    per_day = messages // DAYS
    devices = pa.array([f"device-{n:03d}" for n in range(DEVICES)])
    for day in range(DAYS):
        start = first_day + timedelta(days=day)
        ts = int(start.timestamp()) + random.integers(0, 86400, per_day)
        table = pa.table(
            {
                "device": devices.take(pa.array(random.integers(0, DEVICES, per_day))),
                "ts": pa.array(ts, pa.int64()),
                "temp": pa.array(random.normal(21.0, 3.0, per_day)),
            }
        )
        folder = root / f"__dt={start:%Y-%m-%d} 00:00:00"
        folder.mkdir(parents=True)
        stem = f"{int(start.timestamp() * 1000)}_bench_{name}"
        if store_format == "parquet":
            pq.write_table(table, folder / f"{stem}.parquet")
        else:
            _write_json_lines(table, folder / f"{stem}.json.gz")
    return Store(name, store_format, root, per_day * DAYS)


def _write_json_lines(table: Any, path: Path) -> None:
    import duckdb

    connection = duckdb.connect()
    connection.register("messages", table)
    connection.execute(f"COPY messages TO '{path}' (FORMAT json, COMPRESSION gzip)")
    connection.close()


# Started for each side, it forks and execs the side and reaps it with os.wait4: Linux
# keeps a process's peak RSS across exec, so a side forked from this (large) process would
# report this process's size; forked from this small launcher, it reports its own.
LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
               "maxrss_kib": usage.ru_maxrss}, out)
"""


def run_measured(argv: list[str], env: dict[str, str], work: Path) -> tuple[float, int, str]:
    """Wall time, peak RSS (bytes) and stdout of one process, as LAUNCHER measured them."""
    out, err, measured = work / "side.out", work / "side.err", work / "side.json"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        launcher = [sys.executable, "-c", LAUNCHER, str(measured), *argv]
        subprocess.run(launcher, env=env, stdout=stdout, stderr=stderr, check=False)
    result = json.loads(measured.read_text())
    if result["code"] != 0:
        raise SystemExit(f"bench: {argv[:4]} failed: {err.read_text()[-2000:]}")
    return result["seconds"], result["maxrss_kib"] * 1024, out.read_text()


class Sides:
    def __init__(self, work: Path, store: Store) -> None:
        self.work = work
        self.store = store
        dropped = ("IOTA_", "AWS_", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        self.env["PYTHONPYCACHEPREFIX"] = str(work / "bytecode")  # see the docstring
        self.rounds = 0
        self.rows: dict[str, int] = {}
        self.home = work / f"home-{store.name}"
        root, store_format = str(store.root), store.format
        self.cli("datastore", "register", store.name, "--location", root, "--format", store_format)

    def cli(self, *args: str) -> str:
        env = self.env | {"IOTA_HOME": str(self.home)}
        argv = [sys.executable, "-m", "iota_container", *args]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"bench: iota-container {args[:2]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def iota(self) -> Measured:
        name = self.new_dataset()
        argv = [sys.executable, "-m", "iota_container", "dataset", "run", name, "--json"]
        seconds, rss, stdout = run_measured(
            argv, self.env | {"IOTA_HOME": str(self.home)}, self.work
        )
        version = json.loads(stdout)
        content = Path(version["contentUri"].removeprefix("file://"))
        self.rows["iota"] = messages_counted(content)
        return Measured(seconds, {"peak_rss": rss})

    def new_dataset(self) -> str:
        """A new SQL dataset over the store, registered (untimed): its run is a first run."""
        self.rounds += 1
        name = f"{self.store.name}_counts_{self.rounds}"
        filters = [{"deltaTime": {"timeExpression": TIME_EXPRESSION, "offsetSeconds": 0}}]
        action = {"sqlQuery": SQL.format(store=self.store.name), "filters": filters}
        definition = {
            "datasetName": name,
            "actions": [{"actionName": "query", "queryAction": action}],
        }
        path = self.work / f"{name}.json"
        path.write_text(json.dumps(definition), encoding="utf-8")
        self.cli("dataset", "register", str(path))
        return name

    def duckdb(self) -> Measured:
        self.rounds += 1
        out = self.work / f"duckdb-{self.rounds}.csv"
        end = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        sql = SQL.format(store="messages")
        files = "\n".join(self.store.files)
        argv = [sys.executable, str(DUCKDB_QUERY), files, self.store.format, end, sql, str(out)]
        seconds, rss, _ = run_measured(argv, self.env, self.work)
        self.rows["duckdb"] = messages_counted(out)
        return Measured(seconds, {"peak_rss": rss})

    def in_process(self, rounds: int) -> dict[str, Any]:
        """Both sides in one warm process (_sql_in_process.py), as a scheduler runs them."""
        request = {
            "datasets": [self.new_dataset() for _ in range(rounds + 1)],
            "files": self.store.files,
            "format": self.store.format,
            "sql": SQL.format(store="messages"),
            "out": str(self.work),
        }
        request_path = self.work / "in-process.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        argv = [sys.executable, str(IN_PROCESS), str(request_path)]
        env = self.env | {"IOTA_HOME": str(self.home)}
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"bench: the in-process sides failed: {result.stderr[-2000:]}")
        found: dict[str, Any] = json.loads(result.stdout)
        return found


def measure(work: Path, store: Store, args: BenchArgs) -> dict[str, Any]:
    sides = Sides(work, store)
    samples = alternate({"iota": sides.iota, "duckdb": sides.duckdb}, args.repetitions)
    iota, duck = samples["iota"], samples["duckdb"]
    ratios = [a / b for a, b in zip(iota.seconds, duck.seconds)]
    rss = {name: max(e["peak_rss"] for e in s.extras) for name, s in samples.items()}
    progress(f"{store.format}: both sides in one process, {args.repetitions} rounds")
    warm = sides.in_process(args.repetitions)
    warm_ratio = statistics.median(warm["iota"]) / statistics.median(warm["duckdb"])
    return {
        "format": store.format,
        "messages": store.messages,
        "files": len(store.files),
        "iota": iota.to_json() | {"peak_rss_bytes": rss["iota"]},
        "duckdb": duck.to_json() | {"peak_rss_bytes": rss["duckdb"]},
        "ratio_median": iota.median / duck.median,
        "ratio_per_round": ratios,
        "rows_in_window": sides.rows,
        "target": TARGET,
        "met": iota.median / duck.median <= TARGET,
        "in_process": {
            "iota_s": warm["iota"],
            "duckdb_s": warm["duckdb"],
            "iota_median_s": statistics.median(warm["iota"]),
            "duckdb_median_s": statistics.median(warm["duckdb"]),
            "ratio_median": warm_ratio,
            "rows_in_window": warm["counts"],
            "met": warm_ratio <= TARGET,
        },
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=5, quick_repetitions=2)
    scale = 10 if args.quick else 1
    results = []
    uptime_before = _uptime()
    with temp_dir("bench-sql-") as work:
        for store_format, messages in (("parquet", 10_000_000), ("json", 1_000_000)):
            root = work / f"{store_format}-store"
            store = generate(root, f"{store_format}_store", store_format, messages // scale)
            results.append(measure(work, store, args))
    rows = []
    for r in results:
        label = f"{r['format']} ({r['messages']:,} messages, {r['files']} files)"
        warm = r["in_process"]
        rows.append(
            (
                label,
                "a process each",
                f"{seconds_text(r['iota']['median_s'])} ({seconds_text(r['iota']['min_s'])})",
                f"{seconds_text(r['duckdb']['median_s'])} ({seconds_text(r['duckdb']['min_s'])})",
                f"{r['ratio_median']:.2f} (rounds {statistics.median(r['ratio_per_round']):.2f})",
                f"{_mib(r['iota']['peak_rss_bytes'])} / {_mib(r['duckdb']['peak_rss_bytes'])} MiB",
                f"≤ {TARGET}: {'met' if r['met'] else 'not met'}",
            )
        )
        rows.append(
            (
                "",
                "one warm process",
                f"{seconds_text(warm['iota_median_s'])} ({seconds_text(min(warm['iota_s']))})",
                f"{seconds_text(warm['duckdb_median_s'])} ({seconds_text(min(warm['duckdb_s']))})",
                f"{warm['ratio_median']:.2f}",
                "",
                f"≤ {TARGET}: {'met' if warm['met'] else 'not met'}",
            )
        )
    headers = (
        "store",
        "sides",
        "iota, median (min)",
        "duckdb, median (min)",
        "ratio",
        "peak RSS",
        "target",
    )
    text = format_table(headers, rows)
    text += f"\n\nuptime before: {uptime_before}\nuptime after:  {_uptime()}"
    report("sql_dataset_vs_duckdb", text, {"results": results, "uptime": _uptime()}, args)


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f}"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
