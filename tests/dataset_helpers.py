"""Dataset definitions for the store and engine tests, written as real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iota_container.engine.records import Version
from iota_container.engine.run import DatasetRunFailed, raise_for_status

ROLE = "arn:aws:iam::123456789012:role/iota-tests"


def write_definition(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document['datasetName']}.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def sql_dataset(name: str, **source: str) -> dict[str, Any]:
    """A SQL dataset whose content comes from `file=`, `folder=` or `command=`."""
    return {
        "datasetName": name,
        "actions": [{"queryAction": {"sqlQuery": "SELECT * FROM store", "x-iota-source": source}}],
    }


def container_dataset(
    name: str,
    *variables: dict[str, Any],
    image: str = "iota-container/base:test",
    compute_type: str = "ACU_1",
    **fields: Any,
) -> dict[str, Any]:
    """A container dataset with `variables` and any other top-level fields."""
    action = {
        "image": image,
        "executionRoleArn": ROLE,
        "resourceConfiguration": {"computeType": compute_type, "volumeSizeInGB": 1},
        "variables": list(variables),
    }
    return {"datasetName": name, "actions": [{"containerAction": action}], **fields}


def string_var(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "stringValue": value}


def double_var(name: str, value: float) -> dict[str, Any]:
    return {"name": name, "doubleValue": value}


def output_var(name: str, file_name: str) -> dict[str, Any]:
    return {"name": name, "outputFileUriValue": {"fileName": file_name}}


def content_var(name: str, dataset: str) -> dict[str, Any]:
    return {"name": name, "datasetContentVersionValue": {"datasetName": dataset}}


def run_failure(version: Version) -> DatasetRunFailed:
    """What `raise_for_status` raises for a FAILED version (as the CLI would report it)."""
    with pytest.raises(DatasetRunFailed) as failed:
        raise_for_status(version)
    return failed.value
