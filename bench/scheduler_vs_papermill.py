"""100 process-mode runs of a small notebook through `iota-container scheduler`, against
the same 100 runs of papermill in a loop.

- scheduler: 100 container datasets (x-iota-notebook: the notebook below, outputs on a
  file:// root, run without a container) on one daily cron at the same minute, the first
  whole minute after the scheduler is up; `iota-container scheduler --no-container
  --workers W` runs them through its process pool (executors/process_pool.py: workers
  and kernels started ahead of the window, one run each), each run a full `iota-container
  run`: params, injection, execution, HTML report, the executed notebook and the report
  written to the output root, the version recorded.
- papermill: one Python process that calls `papermill.execute_notebook` 100 times in a
  loop with the same parameter, writing the executed notebooks (no report, no version):
  its "window" is the loop's start.

Both notebooks' first cell writes `time.time()` into its own output; lateness = that
time minus the window (for all 100: a queue of 100 due at once is in the figure, and so
is the start-up of the first run). Runs per minute = 100 / (the last run's end - the
window). The machine may be shared: the load (uptime) is printed with the figures.

    python bench/scheduler_vs_papermill.py [--quick] [--json] [--repetitions RUNS]
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import format_table, parse_args, progress, report, require_executable, temp_dir
from run_vs_papermill import GREETING
from run_vs_papermill import write_notebook as write_bench_notebook

from iota_container.engine.home import Home
from iota_container.engine.records import SUCCEEDED
from iota_container.engine.state_store import StateStore
from iota_container.storage.uri import parse_output_uri

WORKERS = 2  # the machine's cores
STARTUP_MARGIN = timedelta(seconds=20)  # the pool's workers are ready well before it
FIRST_CELL = "import time\nprint(f'first cell at {time.time()!r}')"
FIRST_CELL_PREFIX = "first cell at "
PAPERMILL_LOOP = """\
import json, sys, time, papermill
notebook, folder, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(json.dumps({"window": time.time()}), flush=True)
for number in range(runs):
    papermill.execute_notebook(
        notebook, f"{folder}/run-{number}.ipynb", parameters={"greeting": sys.argv[4]},
        progress_bar=False,
    )
    print(json.dumps({"end": time.time()}), flush=True)
"""


@dataclass(frozen=True)
class SideResult:
    name: str
    runs: int
    succeeded: int
    window: float
    last_end: float
    first_cells: list[float]

    def lateness(self) -> list[float]:
        return sorted(t - self.window for t in self.first_cells)

    def percentile(self, fraction: float) -> float:
        ordered = self.lateness()
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else math.nan

    def to_json(self) -> dict[str, Any]:
        minutes = (self.last_end - self.window) / 60
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            "runs_per_minute": self.runs / minutes if minutes > 0 else math.nan,
            "total_s": self.last_end - self.window,
            "first_cell_lateness_min_s": min(self.lateness(), default=math.nan),
            "first_cell_lateness_p50_s": self.percentile(0.5),
            "first_cell_lateness_p99_s": self.percentile(0.99),
        }


def write_notebook(path: Path) -> Path:
    """run_vs_papermill's notebook, with a first cell that prints when it ran."""
    import nbformat

    write_bench_notebook(path)
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FIRST_CELL))
    nbformat.write(notebook, str(path))
    return path


def first_cell_time(executed: dict[str, Any]) -> float:
    for cell in executed["cells"]:
        for output in cell.get("outputs", ()):
            text = "".join(output.get("text", ""))
            if text.startswith(FIRST_CELL_PREFIX):
                return float(text.removeprefix(FIRST_CELL_PREFIX))
    raise SystemExit("bench: an executed notebook has no first-cell time")


def write_definitions(folder: Path, notebook: Path, runs: int, window: datetime) -> list[Path]:
    folder.mkdir(parents=True)
    daily = f"cron({window.minute} {window.hour} * * ? *)"
    paths = []
    for number in range(runs):
        name = f"report_{number:03d}"
        action = {
            "image": "iota-container/base:test",  # not used: the runs are processes
            "executionRoleArn": "arn:aws:iam::123456789012:role/bench",
            "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 1},
            "variables": [{"name": "greeting", "stringValue": GREETING}],
            "x-iota-notebook": str(notebook),
        }
        document = {
            "datasetName": name,
            "actions": [{"containerAction": action}],
            "triggers": [{"schedule": {"expression": daily}}],
        }
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def scheduler_side(workdir: Path, notebook: Path, runs: int) -> SideResult:
    home = workdir / "scheduler" / "home"
    output_root = (workdir / "scheduler" / "outputs").as_uri()
    now = datetime.now(timezone.utc)
    window = (now + STARTUP_MARGIN + timedelta(minutes=1)).replace(second=0, microsecond=0)
    with StateStore(Home.locate(home, output_root)) as store:
        store.register(*write_definitions(workdir / "scheduler" / "defs", notebook, runs, window))
    log = workdir / "scheduler" / "scheduler.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTA_")}
    command = [sys.executable, "-m", "iota_container", "scheduler", "--no-container"]
    command += ["--workers", str(WORKERS), "--json-log", "--home", str(home)]
    command += ["--output-root", output_root]
    progress(f"scheduler: {runs} runs due at {window:%H:%M} UTC")
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr)
    try:
        with StateStore(Home.locate(home, output_root)) as store:
            while True:
                versions = [v for d in store.datasets() for v in store.versions(d.name)]
                if len(versions) == runs and all(v.finished_at for v in versions):
                    break
                if process.poll() is not None:
                    raise SystemExit(f"bench: the scheduler ended:\n{log.read_text()[-3000:]}")
                time.sleep(1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
    first_cells = []
    for version in versions:
        path = parse_output_uri(version.outputs["ipynb"]).path
        if version.status == SUCCEEDED and path is not None:
            first_cells.append(first_cell_time(json.loads(path.read_text())))
    ends = [v.finished_at.timestamp() for v in versions if v.finished_at]
    return SideResult(
        name="iota-container scheduler",
        runs=runs,
        succeeded=sum(v.status == SUCCEEDED for v in versions),
        window=window.timestamp(),
        last_end=max(ends),
        first_cells=first_cells,
    )


def papermill_side(workdir: Path, notebook: Path, runs: int) -> SideResult:
    require_executable("papermill")
    folder = workdir / "papermill"
    folder.mkdir()
    progress(f"papermill: {runs} runs in a loop")
    completed = subprocess.run(
        [sys.executable, "-c", PAPERMILL_LOOP, str(notebook), str(folder), str(runs), GREETING],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench: the papermill loop failed:\n{completed.stderr[-3000:]}")
    events = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    window = next(e["window"] for e in events if "window" in e)
    ends = [e["end"] for e in events if "end" in e]
    executed = [json.loads(p.read_text()) for p in sorted(folder.glob("run-*.ipynb"))]
    return SideResult(
        name="papermill loop",
        runs=runs,
        succeeded=len(ends),
        window=window,
        last_end=max(ends),
        first_cells=[first_cell_time(e) for e in executed],
    )


def load_text() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=100, quick_repetitions=20)
    runs = args.repetitions
    loads = [load_text()]
    with temp_dir("scheduler-vs-papermill") as workdir:
        notebook = write_notebook(workdir / "notebook.ipynb")
        results = [papermill_side(workdir, notebook, runs)]
        loads.append(load_text())
        results.append(scheduler_side(workdir, notebook, runs))
        loads.append(load_text())
    rows = []
    for result in results:
        figures = result.to_json()
        rows.append(
            [
                result.name,
                f"{figures['succeeded']}/{runs}",
                f"{figures['runs_per_minute']:.1f}",
                f"{figures['first_cell_lateness_min_s']:.2f} s",
                f"{figures['first_cell_lateness_p50_s']:.2f} s",
                f"{figures['first_cell_lateness_p99_s']:.2f} s",
            ]
        )
    headers = ["side", "runs", "runs/min", "first run late", "p50 late", "p99 late"]
    text = "\n".join(
        [
            format_table(headers, rows),
            "",
            f"scheduler workers: {WORKERS}; lateness = first cell - window (all {runs} due "
            "at once)",
            *(f"load: {line}" for line in loads),
        ]
    )
    document = {
        "runs": runs,
        "workers": WORKERS,
        "load": loads,
        "sides": {r.name: r.to_json() for r in results},
    }
    title = f"{runs} notebook runs: scheduler (process pool) vs papermill loop"
    report(title, text, document, args)


if __name__ == "__main__":
    main()
