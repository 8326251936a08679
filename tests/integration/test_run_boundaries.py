"""file:// outputs that must not be written are refused before any cell runs, with one
line: `iota-container run` as its own process with a real kernel; a cell that leaves a
marker file proves that nothing ran. And engine runs keep their outputs inside the
output root, whatever links are planted in it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from iota_container.engine.home import Home
from iota_container.engine.records import FAILED, SUCCEEDED
from iota_container.engine.run import DatasetEngine
from iota_container.engine.state_store import StateStore
from tests.dataset_helpers import container_dataset, output_var, sql_dataset, write_definition
from tests.notebooks import write_notebook
from tests.servers import require
from tests.support import run_cli

pytestmark = pytest.mark.integration


def marked_notebook(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "a-cell-ran"
    notebook = write_notebook(tmp_path / "nb.ipynb", f"open({str(marker)!r}, 'w').close()")
    return notebook, marker


def params_with(tmp_path: Path, ipynb: str, html: str) -> Path:
    path = tmp_path / "params"
    document = {"Context": {"OutputUris": {"ipynb": ipynb, "html": html}}, "Variables": {}}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def run(tmp_path: Path, notebook: Path, params: Path, *args: str) -> tuple[int, str]:
    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        *args,
        env={"IOTA_PARAMS_PATH": str(params)},
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip().splitlines()[-1]


def assert_refused_before_running(
    tmp_path: Path, ipynb: str, html: str, message: str, *args: str
) -> None:
    notebook, marker = marked_notebook(tmp_path)
    code, last = run(tmp_path, notebook, params_with(tmp_path, ipynb, html), *args)
    assert code == 2, last
    assert last.startswith("error: ") and message in last, last
    assert not marker.exists(), "a cell ran"


def test_a_rerun_replaces_its_own_outputs(tmp_path: Path) -> None:
    notebook, marker = marked_notebook(tmp_path)
    out = tmp_path / "out"
    params = params_with(tmp_path, (out / "o.ipynb").as_uri(), (out / "o.html").as_uri())
    for _ in range(2):
        code, last = run(tmp_path, notebook, params)
        assert code == 0, last
        marker.unlink()
    assert json.loads((out / "o.ipynb").read_text())["nbformat"] == 4
    assert sorted(p.name for p in out.iterdir()) == ["o.html", "o.ipynb"]


def test_one_place_for_the_notebook_and_the_report_is_refused(tmp_path: Path) -> None:
    same = (tmp_path / "out" / "both").as_uri()
    assert_refused_before_running(
        tmp_path, same, same, f"two outputs would be written to one place, {same!r}"
    )
    spelled_apart = f"file://{tmp_path}/out/./both"
    assert_refused_before_running(
        tmp_path, same, spelled_apart, "two outputs would be written to one place"
    )


def test_an_output_over_the_run_s_own_inputs_is_refused(tmp_path: Path) -> None:
    report = (tmp_path / "out.html").as_uri()
    notebook = (tmp_path / "nb.ipynb").as_uri()
    assert_refused_before_running(
        tmp_path, notebook, report, "is the notebook being run, which the run would overwrite"
    )
    notebook_copy = tmp_path / "nb.ipynb.before"
    shutil.copyfile(tmp_path / "nb.ipynb", notebook_copy)
    assert (tmp_path / "nb.ipynb").read_bytes() == notebook_copy.read_bytes()
    params = (tmp_path / "params").as_uri()
    assert_refused_before_running(
        tmp_path, (tmp_path / "o.ipynb").as_uri(), params, "is the params file"
    )


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("file:///proc/self/comm", "lies under /proc"),
        ("file:///proc/1/../self/status", "lies under /proc"),
        ("file:///sys/kernel/uevent_helper", "lies under /sys"),
        ("file:///dev/null", "lies under /dev"),
        ("file:///dev/shm/report.html", "lies under /dev"),
    ],
)
def test_kernel_places_are_refused_before_running(tmp_path: Path, html: str, message: str) -> None:
    assert_refused_before_running(tmp_path, (tmp_path / "o.ipynb").as_uri(), html, message)


def test_an_existing_folder_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    assert_refused_before_running(
        tmp_path,
        (tmp_path / "o.ipynb").as_uri(),
        (tmp_path / "reports").as_uri(),
        "is an existing folder: add a file name",
    )


def test_a_system_file_is_refused_before_running(tmp_path: Path) -> None:
    # A copy of /etc/passwd where /etc would be: the rule is the same, and a test that
    # fails must not break the machine it runs on.
    # The rule under test is root's: another user is stopped by the file's permissions.
    require(os.geteuid() == 0, "run as root: only root could replace /etc/passwd")
    passwd = tmp_path / "etc" / "passwd"
    passwd.parent.mkdir()
    shutil.copyfile("/etc/passwd", passwd)
    assert_refused_before_running(
        tmp_path,
        passwd.as_uri(),
        (tmp_path / "o.html").as_uri(),
        "is an existing file, and root replaces only earlier notebooks and reports",
    )
    assert_refused_before_running(
        tmp_path,
        (tmp_path / "o.ipynb").as_uri(),
        f"file://{tmp_path}/etc/../etc/passwd",
        "root replaces only earlier notebooks and reports",
    )
    (tmp_path / "etc" / "report.html").write_bytes(passwd.read_bytes())
    assert_refused_before_running(
        tmp_path,
        (tmp_path / "o.ipynb").as_uri(),
        (tmp_path / "etc" / "report.html").as_uri(),
        "is an existing file that is not HTML",
    )
    assert passwd.read_bytes() == Path("/etc/passwd").read_bytes()


def test_a_work_folder_that_is_a_file_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "work").write_text("a file")
    assert_refused_before_running(
        tmp_path,
        (tmp_path / "o.ipynb").as_uri(),
        (tmp_path / "o.html").as_uri(),
        "--work-dir",
        "--work-dir",
        str(tmp_path / "work" / "copies"),
    )


# -- engine runs: outputs stay inside the output root ------------------------------------


def test_a_link_planted_in_the_output_root_does_not_lead_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    home = Home.locate(tmp_path / "home", (tmp_path / "outputs").as_uri())
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "report").symlink_to(outside)
    store = StateStore(home)
    notebook, marker = marked_notebook(tmp_path)
    store.register(
        write_definition(tmp_path / "defs", container_dataset("report", output_var("out", "a.txt")))
    )

    version = DatasetEngine(store).run("report", use_container=False, notebook=notebook)

    assert version.status == FAILED
    reason = str(version.reason)
    assert reason.startswith(f"output ipynb of report is '{home.output_root}/report/"), reason
    assert f"outside the output root {str(tmp_path / 'outputs')!r}" in reason
    assert not marker.exists()
    assert list(outside.iterdir()) == []


def test_a_sql_dataset_s_content_stays_inside_the_output_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "readings").symlink_to(outside)
    store = StateStore(Home.locate(tmp_path / "home", (tmp_path / "outputs").as_uri()))
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "readings.csv").write_text("device,temp\nA,20\n")
    store.register(
        write_definition(tmp_path / "defs", sql_dataset("readings", file="readings.csv"))
    )

    version = DatasetEngine(store).run("readings", use_container=False)

    assert version.status == FAILED
    assert "outside the output root" in str(version.reason)
    assert list(outside.iterdir()) == []


def test_a_link_inside_the_output_root_is_followed(tmp_path: Path) -> None:
    # The root's own folders may be links, as long as they stay in the root.
    (tmp_path / "outputs" / "real").mkdir(parents=True)
    (tmp_path / "outputs" / "report").symlink_to(tmp_path / "outputs" / "real")
    store = StateStore(Home.locate(tmp_path / "home", (tmp_path / "outputs").as_uri()))
    notebook, _ = marked_notebook(tmp_path)
    store.register(write_definition(tmp_path / "defs", container_dataset("report")))

    version = DatasetEngine(store).run("report", use_container=False, notebook=notebook)

    assert version.status == SUCCEEDED, version.reason
    assert (tmp_path / "outputs" / "real" / version.id / "output.html").is_file()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            [output_var("notes", "output.html")],
            "variable notes of dataset 'report' has the fileName of the html output "
            "('output.html'): give it another fileName",
        ),
        (
            [output_var("first", "a.csv"), output_var("second", "a.csv")],
            "variable second of dataset 'report' has the fileName of variable first ('a.csv')",
        ),
    ],
)
def test_two_outputs_of_an_engine_run_at_one_place_are_refused(
    tmp_path: Path, variables: list[dict[str, object]], message: str
) -> None:
    store = StateStore(Home.locate(tmp_path / "home"))
    notebook, marker = marked_notebook(tmp_path)
    store.register(write_definition(tmp_path / "defs", container_dataset("report", *variables)))

    version = DatasetEngine(store).run("report", use_container=False, notebook=notebook)

    assert version.status == FAILED
    assert str(version.reason).startswith(message), version.reason
    assert not marker.exists()
