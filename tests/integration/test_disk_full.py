"""Full disks, made real: small tmpfs mounts filled to the last byte (root only; the test
script runs as root). A run whose outputs, work folder or state database cannot be
written ends with one line and leaves no half-written file; a version whose run filled
the state database's disk still ends FAILED with that reason, not "interrupted"."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from iota_container.engine.home import Home
from iota_container.engine.records import CREATING, FAILED, MODE_PROCESS, SUCCEEDED, Trigger
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from iota_container.engine.store_schema import StateDiskFull
from tests.dataset_helpers import container_dataset, output_var, sql_dataset, write_definition
from tests.mounts import fill, mounted
from tests.notebooks import write_notebook
from tests.support import run_cli

pytestmark = pytest.mark.integration

# Big enough for a state database, its WAL and its reserve; small enough to fill at once.
DISK = "size=4m"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with mounted(tmp_path / "disk", "tmpfs", DISK) as folder:
        yield folder


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def params_file(tmp_path: Path, out: Path, **variables: str) -> Path:
    path = tmp_path / "params"
    outputs = {"ipynb": (out / "output.ipynb").as_uri(), "html": (out / "output.html").as_uri()}
    path.write_text(json.dumps({"Context": {"OutputUris": outputs}, "Variables": variables}))
    return path


def run(tmp_path: Path, params: Path, *args: str, tmpdir: Path | None = None) -> tuple[int, str]:
    notebook = write_notebook(tmp_path / "nb.ipynb", "print('x' * 100_000)")
    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        *args,
        env={"IOTA_PARAMS_PATH": str(params), "TMPDIR": str(tmpdir or tmp_path)},
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip().splitlines()[-1]


# -- iota-container run ------------------------------------------------------------------


def test_outputs_on_a_full_disk_fail_with_one_line_and_no_half_report(
    tmp_path: Path, disk: Path
) -> None:
    out = disk / "out"
    out.mkdir()
    fill(disk)
    kept = tmp_path / "kept"
    kept.mkdir()

    code, last = run(tmp_path, params_file(tmp_path, out), tmpdir=kept)

    assert code == 2
    assert last.startswith(f"error: cannot write {(out / 'output.ipynb').as_uri()!r}: no space ")
    assert "free some space, or choose another location" in last
    assert files_in(disk) == ["filler"]
    # What could not be stored is kept where there was space, whole.
    (copies,) = kept.iterdir()
    assert sorted(p.name for p in copies.iterdir()) == ["output.html", "output.ipynb"]
    assert json.loads((copies / "output.ipynb").read_text())["nbformat"] == 4
    assert f"kept in {copies}" in last


def test_a_work_folder_on_a_full_disk_fails_with_one_line_and_no_half_copy(
    tmp_path: Path, disk: Path
) -> None:
    out = tmp_path / "out"
    fill(disk)

    code, last = run(tmp_path, params_file(tmp_path, out), "--work-dir", str(disk / "work"))

    assert code == 2
    assert last == (
        f"error: the outputs were uploaded, but their copies cannot be kept in "
        f"{str(disk / 'work')!r} (No space left on device): free some space there, or "
        "choose another --work-dir"
    )
    assert files_in(disk) == ["filler"]
    assert (out / "output.html").read_text().startswith("<!DOCTYPE html>")


def test_a_full_tmpdir_does_not_stop_a_run(tmp_path: Path, disk: Path) -> None:
    out = tmp_path / "out"
    fill(disk)

    code, last = run(tmp_path, params_file(tmp_path, out), tmpdir=disk)

    assert code == 0, last
    assert json.loads((out / "output.ipynb").read_text())["nbformat"] == 4
    assert files_in(disk) == ["filler"]


# -- the dataset engine -------------------------------------------------------------------


FILL_AND_PRINT = """\
import sys
chunk = b"\\0" * 65536
with open(sys.argv[1], "wb", buffering=0) as out:
    try:
        while True:
            out.write(chunk)
    except OSError:
        pass
print("device,temp\\nA,20\\n" * 1000)
"""


def test_a_run_that_fills_the_state_disk_ends_failed_with_that_reason(
    tmp_path: Path, disk: Path
) -> None:
    home = Home.locate(disk / "home", (tmp_path / "outputs").as_uri())
    store = StateStore(home)
    script = tmp_path / "defs" / "fill.py"
    script.parent.mkdir()
    script.write_text(FILL_AND_PRINT)
    filler = disk / "filler"
    command = f"{sys.executable} {script} {filler}"
    store.register(write_definition(tmp_path / "defs", sql_dataset("readings", command=command)))

    version = DatasetEngine(store).run("readings")

    assert version.status == FAILED
    reason = str(version.reason)
    assert reason.startswith("x-iota-source.command of dataset 'readings'"), reason
    assert reason.endswith(f"; the disk of {home.version_dir('readings', version.id)} is full")
    # The staged content was cut short: it is gone. The log is kept.
    assert files_in(home.version_dir("readings", version.id)) == ["run.log"]
    assert list((tmp_path / "outputs").glob("**/*.csv")) == []
    # Another process sees the same end, not "interrupted".
    listed = run_cli("dataset", "contents", "readings", "--json", env={"IOTA_HOME": str(home.root)})
    assert listed.returncode == 0, listed.stderr
    assert [(v["status"], v["reason"]) for v in json.loads(listed.stdout)] == [(FAILED, reason)]

    filler.unlink()  # space again: the next run works, and the reserve is made again
    script.write_text('print("device,temp\\nA,20")')
    assert DatasetEngine(StateStore(home)).run("readings").status == SUCCEEDED
    assert home.reserve.stat().st_size > 0


def test_the_end_of_a_version_is_written_on_a_full_disk(tmp_path: Path, disk: Path) -> None:
    store = StateStore(Home.locate(disk / "home"))
    store.register(write_definition(tmp_path / "defs", container_dataset("report")))
    version = store.start_version("report", Trigger.manual(), MODE_PROCESS)
    store.record_start(version, outputs={}, log_path=tmp_path / "run.log")
    fill(disk)
    with pytest.raises(StateDiskFull):
        store.start_version("report", Trigger.manual(), MODE_PROCESS)

    finished = store.finish_version(version, FAILED, reason="the analysis filled the disk")

    assert (finished.status, finished.reason) == (FAILED, "the analysis filled the disk")
    assert [v.status for v in StateStore(store.home).versions("report")] == [FAILED]


def test_a_full_state_disk_before_a_run_is_one_line(tmp_path: Path, disk: Path) -> None:
    home = disk / "home"
    notebook = write_notebook(tmp_path / "report.ipynb", "print('ran')")
    document = container_dataset("report")
    document["actions"][0]["containerAction"]["x-iota-notebook"] = str(notebook)
    StateStore(Home.locate(home)).register(write_definition(tmp_path / "defs", document))
    fill(disk)

    result = run_cli(
        "dataset", "run", "report", "--no-container", env={"IOTA_HOME": str(home)}, cwd=tmp_path
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: the state database {str(home / 'state.db')!r} cannot be written: its disk "
        "is full; free some space there, or point IOTA_HOME at another folder"
    )
    os.unlink(disk / "filler")
    assert [v.status for v in StateStore(Home.locate(home)).versions("report")] == []


def test_a_content_output_on_a_full_disk_leaves_no_half_file(tmp_path: Path, disk: Path) -> None:
    store = StateStore(Home.locate(tmp_path / "home", (disk / "outputs").as_uri()))
    notebook = write_notebook(
        tmp_path / "report.ipynb",
        "import iota_container as iota\niota.upload(b'x' * 1_000_000, 'content')",
        parameters="content = ''",
    )
    store.register(
        write_definition(
            tmp_path / "defs", container_dataset("report", output_var("content", "c.bin"))
        )
    )
    (disk / "outputs").mkdir()
    fill(disk)

    version = DatasetEngine(store).run("report", use_container=False, notebook=notebook)

    assert version.status == FAILED
    assert "no space left on its disk" in str(version.reason), version.reason
    assert version.status != CREATING
    assert files_in(disk) == ["filler"]
