"""The in-process rows of sql_dataset_vs_duckdb.py: one warm Python process, as a scheduler's
worker is, timing the SQL dataset's run by the engine against the same query through
DuckDB's Python API, alternated.

    IOTA_HOME=HOME python bench/_sql_in_process.py REQUEST_JSON

REQUEST_JSON: {"datasets": [names, registered in HOME, one a round and one to warm up],
"files": [the store's files], "format": "parquet"|"json", "sql": the query over `messages`,
"out": a folder for the DuckDB side's CSV files}. Each round: `DatasetEngine.run(name)` of
a new dataset (a first run, as in the process rows: the same window), and the DuckDB side
(_duckdb_query.py: connect, the same view and window filter, COPY to CSV, close), each timed with
perf_counter; the first round is not timed (imports, first connection). Prints
{"iota": [seconds], "duckdb": [seconds], "counts": {side: messages counted}} as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import messages_counted
from _duckdb_query import run_query

from iota_container.engine.records import SUCCEEDED
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    out_folder = Path(request["out"])
    timings: dict[str, list[float]] = {"iota": [], "duckdb": []}
    counts: dict[str, int] = {}
    with StateStore.open(None, None) as store:
        engine = DatasetEngine(store)
        for index, name in enumerate(request["datasets"]):
            out = out_folder / f"in-process-{index}.csv"
            sides = ["iota", "duckdb"] if index % 2 == 0 else ["duckdb", "iota"]
            for side in sides:
                started = time.perf_counter()
                if side == "iota":
                    version = engine.run(name)
                else:
                    end = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")
                    run_query(request["files"], request["format"], end, request["sql"], str(out))
                seconds = time.perf_counter() - started
                if side == "iota":
                    if version.status != SUCCEEDED:
                        raise SystemExit(f"bench: {name}: {version.status}: {version.reason}")
                    assert version.content_uri is not None
                    counts["iota"] = messages_counted(
                        Path(version.content_uri.removeprefix("file://"))
                    )
                else:
                    counts["duckdb"] = messages_counted(out)
                if index > 0:  # the first round warms both up
                    timings[side].append(seconds)
    print(json.dumps(timings | {"counts": counts}))


if __name__ == "__main__":
    main()
