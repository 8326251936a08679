"""`python -m tests.pool_owner TMP NOTEBOOK`: a process that owns a process pool and runs
one notebook dataset in it, to be killed mid-run by a test (tests/integration/
test_process_pool.py): the stand-in for a scheduler killed with a run under way."""

from __future__ import annotations

import sys
from pathlib import Path

from iota_container.engine.run import DatasetEngine
from iota_container.executors.local import LocalExecutor
from iota_container.executors.process_pool import ProcessPool
from tests.process_pools import open_store, register_notebook_dataset


def main() -> None:
    folder, notebook = Path(sys.argv[1]), Path(sys.argv[2])
    with open_store(folder) as store, ProcessPool(1) as pool:
        register_notebook_dataset(store, folder / "defs", "owned", notebook)
        DatasetEngine(store, executor=LocalExecutor(pool=pool)).run("owned", False)


if __name__ == "__main__":
    main()
