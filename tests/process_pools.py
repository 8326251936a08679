"""Helpers for the process pool's tests: a home with container datasets run as processes,
and the processes a pool left behind, found through /proc (psutil)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil

from iota_container.engine.home import Home
from iota_container.engine.state_store import StateStore
from iota_container.executors.process_pool import ProcessPool
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import container_dataset, write_definition

EVERY_MINUTE = {"schedule": {"expression": "cron(* * * * ? *)"}}


def open_store(tmp_path: Path, **options: Any) -> StateStore:
    return StateStore(Home.locate(tmp_path / "home", (tmp_path / "outputs").as_uri()), **options)


def register_notebook_dataset(
    store: StateStore,
    folder: Path,
    name: str,
    notebook: Path,
    *variables: dict[str, Any],
    **fields: Any,
) -> None:
    """A container dataset whose x-iota-notebook is `notebook` (run without a container)."""
    document = container_dataset(name, *variables, **fields)
    document["actions"][0]["containerAction"]["x-iota-notebook"] = str(notebook)
    store.register(write_definition(folder, document))


def output_json(uri: str) -> Any:
    path = parse_output_uri(uri).path
    assert path is not None
    return json.loads(path.read_text())


def pool_processes(pool: ProcessPool) -> list[psutil.Process]:
    """Live processes working in the pool's folder: its waiting workers and their kernels
    (a worker's kernel starts in a folder inside it)."""
    folder = str(pool.folder)
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.cwd().startswith(folder):
                found.append(process)
        except psutil.Error:  # gone, or not ours to look at
            continue
    return found
