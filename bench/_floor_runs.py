"""The floor of scheduler_lateness.py: each run's system work alone, without the engine.

    python bench/_floor_runs.py WORKDIR RUNS WORKERS   # prints a JSON object

What every engine run of that bench must do, whatever the code around it, done as
plainly as Python does it: a state row written at the run's start (one SQLite write
transaction, WAL, synchronous=NORMAL, as engine/store_schema.py sets), a version folder
and its log, the `true` command with its output staged in that folder, the content's
folder under the output root, its real path (the engine must resolve the links in it:
resolve.py keeps every output inside the output root), and the content copied there (a
temporary file beside it, fsync, mode 0644, rename: atomic.py's write), and a second
write transaction at its end. No claim (the no-op side measures the scheduler's), no
lock, no definition, no other checks: those cost CPU only, and the engine can cut them.

WORKERS processes (the engine's worker processes: two a core) are forked ahead and
released at once; each takes every WORKERS-th run. Printed, as one JSON object:
`start_lateness`, for each run the moment it was about to start `true` (its start row)
minus the release, in seconds; `workers_cpu_s`, the workers' own CPU time (user +
system) over their runs; `children_cpu_s`, their `true` commands'.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_share(workdir: Path, runs: range, release: float) -> list[float]:
    database = sqlite3.connect(workdir / "state.db", isolation_level=None, timeout=60)
    database.execute("PRAGMA synchronous = NORMAL")
    started = []
    for number in runs:
        moment = time.time()
        with database:
            database.execute("UPDATE versions SET started = ? WHERE id = ?", (moment, number))
        started.append(moment - release)
        folder = workdir / "home" / f"dataset_{number:04d}" / "versions" / "1"
        folder.mkdir(parents=True)
        staged = folder / "content.csv"
        with (folder / "run.log").open("ab") as log, staged.open("wb") as content:
            subprocess.run(["true"], stdout=content, stderr=log, check=True)
        target = workdir / "output" / f"dataset_{number:04d}" / "1" / "content.csv"
        target.parent.mkdir(parents=True)
        os.path.realpath(target.parent)
        handle, temporary = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(handle, "wb") as out, staged.open("rb") as source:
            shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), 0o644)  # mkstemp's file is private; content is not
        os.replace(temporary, target)
        with database:
            database.execute("UPDATE versions SET finished = ? WHERE id = ?", (time.time(), number))
    database.close()
    return started


def main() -> None:
    workdir, runs, workers = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    database = sqlite3.connect(workdir / "state.db", isolation_level=None)
    database.execute("PRAGMA journal_mode = WAL")
    database.execute("CREATE TABLE versions (id INTEGER PRIMARY KEY, started REAL, finished REAL)")
    with database:
        database.executemany("INSERT INTO versions (id) VALUES (?)", [(n,) for n in range(runs)])
    database.close()
    children = []
    for worker in range(workers):
        go_read, go_write = os.pipe()
        out_read, out_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: waits for the release, runs its share, reports
            os.close(go_write)
            os.close(out_read)
            release = float(os.read(go_read, 64).decode())
            before = os.times()
            started = run_share(workdir, range(worker, runs, workers), release)
            after = os.times()
            share = {
                "start_lateness": started,
                "workers_cpu_s": after.user + after.system - before.user - before.system,
                "children_cpu_s": after.children_user
                + after.children_system
                - before.children_user
                - before.children_system,
            }
            with os.fdopen(out_write, "w") as out:
                json.dump(share, out)
            os._exit(0)
        os.close(go_read)
        os.close(out_write)
        children.append((pid, go_write, out_read))
    time.sleep(0.5)  # every worker forked and waiting
    release = time.time()
    for _, go_write, _ in children:
        os.write(go_write, repr(release).encode())
    lateness: list[float] = []
    workers_cpu = children_cpu = 0.0
    for pid, go_write, out_read in children:
        with os.fdopen(out_read) as results:
            share = json.load(results)
        lateness += share["start_lateness"]
        workers_cpu += share["workers_cpu_s"]
        children_cpu += share["children_cpu_s"]
        os.close(go_write)
        _, status = os.waitpid(pid, 0)
        if status:
            raise SystemExit(f"bench: a floor worker ended with status {status}")
    figures = {
        "start_lateness": lateness,
        "workers_cpu_s": workers_cpu,
        "children_cpu_s": children_cpu,
    }
    json.dump(figures, sys.stdout)


if __name__ == "__main__":
    main()
