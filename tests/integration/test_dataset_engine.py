"""The dataset engine without a container: real kernels in a child process, file://
outputs, SQL datasets feeding container datasets, serialized runs and bad inputs."""

from __future__ import annotations

import json
import shlex
import stat
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from iota_container.engine.home import Home
from iota_container.engine.locks import DatasetBusy
from iota_container.engine.records import (
    CREATING,
    FAILED,
    LATEST,
    LATEST_SUCCEEDED,
    MODE_PROCESS,
    SUCCEEDED,
    Trigger,
)
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore, TriggerAlreadyClaimed, UnknownDataset
from iota_container.errors import IotaError
from iota_container.storage.uri import parse_output_uri
from tests.dataset_helpers import (
    container_dataset,
    content_var,
    double_var,
    output_var,
    run_failure,
    sql_dataset,
    string_var,
    write_definition,
)
from tests.notebooks import write_notebook

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.locate(tmp_path / "home")


@pytest.fixture
def store(home: Home) -> StateStore:
    return StateStore(home)


@pytest.fixture
def engine(store: StateStore) -> DatasetEngine:
    return DatasetEngine(store)


def register(store: StateStore, folder: Path, *documents: dict[str, object]) -> None:
    store.register(*(write_definition(folder, document) for document in documents))


def local(uri: str) -> Path:
    path = parse_output_uri(uri).path
    assert path is not None
    return path


REPORT_CELL = """\
import iota_container as iota
print('site', site, 'threshold', threshold)
iota.upload(f'{site}:{threshold}'.encode(), 'summary')"""

HOT_DEVICES_CELL = """\
import csv, iota_container as iota
from iota_container.content import dataset_content
rows = list(csv.DictReader(open(dataset_content('readings'))))
hot = [row['device'] for row in rows if float(row['temp']) > threshold]
iota.upload(','.join(hot).encode(), 'alerts')"""


def test_a_run_without_a_container_leaves_its_outputs_in_the_version(
    store: StateStore, engine: DatasetEngine, home: Home, tmp_path: Path
) -> None:
    notebook = write_notebook(
        tmp_path / "report.ipynb",
        REPORT_CELL,
        parameters="site = 'lab'\nthreshold = 0.0\nsummary = 'file:///tmp/unused.txt'",
    )
    document = container_dataset(
        "report",
        string_var("site", "plant-7"),
        double_var("threshold", 27.5),
        output_var("summary", "summary.txt"),
    )
    register(store, tmp_path / "defs", document)

    version = engine.run("report", use_container=False, notebook=notebook)

    assert (version.status, version.exit_code, version.mode) == (SUCCEEDED, 0, MODE_PROCESS)
    prefix = home.output_prefix("report", version.id)
    assert version.outputs == {
        "ipynb": f"{prefix}/output.ipynb",
        "html": f"{prefix}/output.html",
        "summary": f"{prefix}/summary.txt",
    }
    assert version.content_uri == f"{prefix}/summary.txt"
    assert local(version.outputs["summary"]).read_text() == "plant-7:27.5"
    executed = nbformat.read(local(version.outputs["ipynb"]), as_version=4)
    printed = [output.get("text") for cell in executed.cells for output in cell.get("outputs", [])]
    assert "site plant-7 threshold 27.5\n" in printed
    params = home.version_dir("report", version.id) / "params"
    assert stat.S_IMODE(params.stat().st_mode) == 0o644
    assert json.loads(params.read_text()) == {
        "Context": {"OutputUris": {k: version.outputs[k] for k in ("ipynb", "html")}},
        "Variables": {"site": "plant-7", "threshold": 27.5, "summary": f"{prefix}/summary.txt"},
    }
    assert "execute (kernel python3): done" in Path(str(version.log_path)).read_text()
    assert version.duration_seconds and version.duration_seconds > 0
    assert store.version("report", LATEST) == version


def test_a_sql_dataset_feeds_a_container_dataset(
    store: StateStore, engine: DatasetEngine, tmp_path: Path
) -> None:
    folder = tmp_path / "defs"
    exports = folder / "exports"
    exports.mkdir(parents=True)
    (exports / "2025-01.csv").write_text("device,temp\nA,31\nB,20\n")
    (exports / "2025-02.csv").write_text("device,temp\nA,20\nB,35\nC,40\n")
    notebook = write_notebook(
        tmp_path / "hot.ipynb",
        HOT_DEVICES_CELL,
        parameters="readings = ''\nthreshold = 30.0\nalerts = 'file:///tmp/unused.txt'",
    )
    hot = container_dataset(
        "hot_devices",
        content_var("readings", "readings"),
        double_var("threshold", 30),
        output_var("alerts", "alerts.txt"),
        triggers=[{"dataset": {"name": "readings"}}],
    )
    readings = sql_dataset("readings", folder="exports")
    readings["versioningConfiguration"] = {"unlimited": True}
    register(store, folder, readings, hot)

    first = engine.run("readings")  # the last file by name is the latest content
    assert first.status == SUCCEEDED
    assert local(str(first.content_uri)).read_text() == (exports / "2025-02.csv").read_text()
    version = engine.run("hot_devices", use_container=False, notebook=notebook)
    assert version.status == SUCCEEDED, version.reason
    assert local(version.outputs["alerts"]).read_text() == "B,C"

    (exports / "2025-03.csv").write_text("device,temp\nD,99\n")
    newer = engine.run("readings")
    # Triggered by the first version, the run reads that one, not the newer latest.
    triggered = engine.run(
        "hot_devices",
        use_container=False,
        notebook=notebook,
        trigger=Trigger.dataset("readings", first.id),
    )
    assert local(triggered.outputs["alerts"]).read_text() == "B,C"
    with pytest.raises(TriggerAlreadyClaimed):
        engine.run("hot_devices", False, notebook=notebook, trigger=triggered.trigger)

    for file in exports.iterdir():
        file.unlink()
    assert engine.run("readings").status == FAILED
    # A failed upstream run changes nothing: the latest succeeded version is still read.
    latest = engine.run("hot_devices", use_container=False, notebook=notebook)
    assert local(latest.outputs["alerts"]).read_text() == "D"
    assert store.version("readings", LATEST_SUCCEEDED).id == newer.id


SLOW_COMMAND = (
    f"{shlex.quote(sys.executable)} -c "
    "'import time; print(time.time()); time.sleep(1); print(time.time())'"
)


def test_runs_of_one_dataset_are_serialized(store: StateStore, home: Home, tmp_path: Path) -> None:
    slow = sql_dataset("slow", command=SLOW_COMMAND)
    slow["versioningConfiguration"] = {"unlimited": True}
    register(store, tmp_path / "defs", slow)
    runs: list[str] = []

    def run() -> None:  # each thread its own store (and database connection)
        with StateStore(home) as own:
            runs.append(DatasetEngine(own).run("slow").id)

    threads = [threading.Thread(target=run) for _ in range(2)]
    threads[0].start()
    deadline = time.monotonic() + 30
    while not any(v.status == CREATING for v in store.versions("slow")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(DatasetBusy, match="'slow' is running in another process"):
        DatasetEngine(store).run("slow", wait=False)
    threads[1].start()
    for thread in threads:
        thread.join(60)

    versions = [store.version("slow", version_id) for version_id in runs]
    assert [v.status for v in versions] == [SUCCEEDED, SUCCEEDED]
    spans = [[float(t) for t in local(str(v.content_uri)).read_text().split()] for v in versions]
    assert spans[0][1] <= spans[1][0], spans  # the second started after the first ended


def test_an_upstream_without_content_fails_the_run_and_says_which(
    store: StateStore, engine: DatasetEngine, tmp_path: Path
) -> None:
    hot = container_dataset("hot_devices", content_var("readings", "readings"))
    register(store, tmp_path / "defs", sql_dataset("readings", file="missing.csv"), hot)

    sql = engine.run("readings")
    assert sql.status == FAILED
    assert "x-iota-source.file of dataset 'readings' is" in str(sql.reason)
    version = engine.run("hot_devices", use_container=False)
    assert (version.status, version.exit_code) == (FAILED, None)
    assert version.reason == (
        "dataset 'hot_devices' (variable readings) reads the content of dataset 'readings', "
        "which has no succeeded version here: register it if it is not, and run it first "
        "(`iota-container dataset run readings`)"
    )
    failure = run_failure(version)
    assert failure.exit_code == 2
    assert str(failure) == f"dataset hot_devices version {version.id}: {version.reason}"


def test_a_run_needs_the_dataset_it_reads_registered(
    store: StateStore, engine: DatasetEngine, tmp_path: Path
) -> None:
    """Registration only warns of a dataset it does not know; the run that reads its
    content fails, with one line that says what to do."""
    register(store, tmp_path / "defs", container_dataset("report", content_var("data", "data")))
    version = engine.run("report", use_container=False)
    assert version.status == FAILED
    assert str(version.reason).startswith(
        "dataset 'report' (variable data) reads the content of dataset 'data', which has no "
        "succeeded version here: register it"
    )


def test_a_failing_cell_fails_the_version_with_its_error(
    store: StateStore, engine: DatasetEngine, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "broken.ipynb", "1 / 0")
    register(store, tmp_path / "defs", container_dataset("broken"))
    version = engine.run("broken", use_container=False, notebook=notebook)
    assert (version.status, version.exit_code) == (FAILED, 1)
    assert str(version.reason).startswith(
        "the analysis exited with code 1: cell 0 (In [1]) raised ZeroDivisionError"
    )
    assert local(version.outputs["html"]).is_file()  # uploaded even though a cell failed
    assert run_failure(version).exit_code == 1


def test_bad_sources_and_settings_fail_with_one_line(
    store: StateStore, engine: DatasetEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = "sh -c 'echo no such table >&2; exit 3'"
    register(
        store,
        tmp_path / "defs",
        sql_dataset("failing", command=failing),
        container_dataset("no_notebook"),
    )
    version = engine.run("failing")
    assert (version.status, version.reason) == (
        FAILED,
        f"x-iota-source.command of dataset 'failing' ({failing}) exited with code 3: "
        f"no such table (log: {version.log_path})",
    )
    version = engine.run("no_notebook", use_container=False)
    assert str(version.reason).startswith(
        "dataset 'no_notebook' has no notebook to run without a container: add x-iota-notebook"
    )
    with pytest.raises(UnknownDataset, match="no dataset 'nope' is registered"):
        engine.run("nope")

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    before = len(store.versions("no_notebook"))
    with pytest.raises(IotaError, match="a container run needs a Docker engine, and none"):
        DatasetEngine(store).run("no_notebook", use_container=True)
    assert len(store.versions("no_notebook")) == before  # nothing was created
    # Without a choice and without an engine, the run happens in a process.
    assert DatasetEngine(store).run("no_notebook").mode == MODE_PROCESS


def test_versioning_is_applied_after_each_run(
    store: StateStore, engine: DatasetEngine, tmp_path: Path
) -> None:
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "r.csv").write_text("a\n1\n")
    document = sql_dataset("readings", file="r.csv")
    document["versioningConfiguration"] = {"maxVersions": 1}
    register(store, tmp_path / "defs", document)
    first = engine.run("readings")
    second = engine.run("readings")
    assert [v.id for v in store.versions("readings")] == [second.id]
    assert not local(str(first.content_uri)).exists()
    assert local(str(second.content_uri)).read_text() == "a\n1\n"
