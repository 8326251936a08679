"""Resolving a run's variables into its params, the output root, and container limits."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from iota_container.definitions.model import ResourceConfiguration, definition_from_document
from iota_container.engine.home import Home
from iota_container.engine.records import LATEST_SUCCEEDED, MODE_QUERY, SUCCEEDED, Trigger, Version
from iota_container.engine.resolve import ResolveError, resolve_run_params
from iota_container.errors import IotaError, StorageError
from iota_container.executors.container_run import GIB, MIB, limits_for, parse_size
from tests.dataset_helpers import (
    container_dataset,
    content_var,
    double_var,
    output_var,
    string_var,
)

PREFIX = "s3://bucket/runs/report/v-2"


def sql_version(version_id: str, content_uri: str | None = "s3://bucket/r.csv") -> Version:
    return Version(
        id=version_id,
        dataset="readings",
        status=SUCCEEDED,
        trigger=Trigger.manual(),
        mode=MODE_QUERY,
        created_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
        output_prefix="s3://bucket/runs/readings/" + version_id,
        content_uri=content_uri,
    )


class Versions:
    """Succeeded versions of `readings`, newest last."""

    def __init__(self, *versions: Version) -> None:
        self.versions = list(versions)

    def latest_succeeded(self, name: str) -> Version | None:
        return self.versions[-1] if self.versions else None

    def version(self, name: str, selector: str = LATEST_SUCCEEDED) -> Version:
        return next(v for v in self.versions if v.id == selector)


REPORT = definition_from_document(
    container_dataset(
        "report",
        string_var("site", "plant-7"),
        double_var("threshold", 27.5),
        content_var("readings", "readings"),
        output_var("alerts", "alerts.csv"),
        output_var("summary", "summary.json"),
    )
)


def test_each_kind_of_variable_gets_its_value() -> None:
    versions = Versions(sql_version("v-old", "s3://bucket/old.csv"), sql_version("v-new"))
    run = resolve_run_params(REPORT, PREFIX, versions)
    assert run.document == {
        "Context": {
            "OutputUris": {"ipynb": f"{PREFIX}/output.ipynb", "html": f"{PREFIX}/output.html"}
        },
        "Variables": {
            "site": "plant-7",
            "threshold": 27.5,
            "readings": "s3://bucket/r.csv",
            "alerts": f"{PREFIX}/alerts.csv",
            "summary": f"{PREFIX}/summary.json",
        },
    }
    assert run.content_uri == f"{PREFIX}/alerts.csv"  # the first output file
    assert run.inputs == {"readings": "s3://bucket/r.csv"}
    assert run.upstream_versions == {"readings": "v-new"}
    assert set(run.outputs) == {"ipynb", "html", "alerts", "summary"}


def test_a_run_triggered_by_an_upstream_version_reads_that_version() -> None:
    versions = Versions(sql_version("v-old", "s3://bucket/old.csv"), sql_version("v-new"))
    trigger = Trigger.dataset("readings", "v-old")
    run = resolve_run_params(REPORT, PREFIX, versions, trigger=trigger, analysis="/a/nb.ipynb")
    assert run.document["Variables"]["readings"] == "s3://bucket/old.csv"
    assert run.document["Context"]["Analysis"] == "/a/nb.ipynb"


def test_content_that_does_not_exist_is_a_one_line_error() -> None:
    with pytest.raises(ResolveError) as none:
        resolve_run_params(REPORT, PREFIX, Versions())
    assert str(none.value) == (
        "dataset 'report' (variable readings) reads the content of dataset 'readings', which "
        "has no succeeded version here: register it if it is not, and run it first "
        "(`iota-container dataset run readings`)"
    )
    with pytest.raises(ResolveError, match="its version v-1 has no content file: give"):
        resolve_run_params(REPORT, PREFIX, Versions(sql_version("v-1", None)))


def test_the_output_root_is_a_uri_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOTA_HOME", "/srv/iota")
    monkeypatch.delenv("IOTA_OUTPUT_ROOT", raising=False)
    assert Home.locate().output_root == "file:///srv/iota/outputs"
    assert Home.locate(output_root="s3://bucket/prefix/").output_root == "s3://bucket/prefix"
    home = Home.locate(output_root="/data/out")
    assert home.output_prefix("report", "v-1") == "file:///data/out/report/v-1"
    with pytest.raises(StorageError, match="is a prefix: s3://BUCKET"):
        Home.locate(output_root="http://example.com/out")


def test_compute_types_become_limits_capped_to_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IOTA_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("IOTA_CPU_LIMIT", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda _: set(range(64)))
    monkeypatch.setattr("os.sysconf", lambda name: 4096 if name == "SC_PAGE_SIZE" else 2**40)
    assert limits_for(ResourceConfiguration("ACU_1", 1)).cpus == 4
    acu_2 = limits_for(ResourceConfiguration("ACU_2", 1))
    assert (acu_2.cpus, acu_2.memory_bytes) == (8, 32 * GIB)
    monkeypatch.setattr("os.sched_getaffinity", lambda _: {0, 1})
    monkeypatch.setattr("os.sysconf", lambda name: 4096 if name == "SC_PAGE_SIZE" else 2**20)
    capped = limits_for(ResourceConfiguration("ACU_2", 1))
    assert (capped.cpus, capped.memory_bytes) == (2, 4 * GIB)
    monkeypatch.setenv("IOTA_MEMORY_LIMIT", "300m")
    monkeypatch.setenv("IOTA_CPU_LIMIT", "0.5")
    forced = limits_for(ResourceConfiguration("ACU_1", 1))
    assert (forced.cpus, forced.memory_bytes, forced.memory_mib) == (0.5, 300 * MIB, 300)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", MIB), ("512m", 512 * MIB), ("2G", 2 * GIB), ("1.5gb", 3 * GIB // 2)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size("IOTA_MEMORY_LIMIT", text) == size


@pytest.mark.parametrize("text", ["lots", "-1m", "0", "12q"])
def test_bad_sizes_say_how_to_write_one(text: str) -> None:
    with pytest.raises(IotaError, match=r"is not a size: write bytes, or e.g. 512m or 2g"):
        parse_size("IOTA_MEMORY_LIMIT", text)
