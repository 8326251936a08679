"""`iota-container run` and `params` with file:// outputs: real kernels, no S3."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from iota_container.params_file import template_params, write_params
from tests.notebooks import (
    AGG_DISPLAY_PLOT_CELL,
    INLINE_DISPLAY_PLOT_CELL,
    PLOT_CELL,
    write_notebook,
)
from tests.plots import PlotMissing, cell_png, plot_cell, report_cell_png
from tests.support import ROOT, run_cli

pytestmark = pytest.mark.integration


def local_params(tmp_path: Path, analysis: str | None = None, **variables: object) -> Path:
    return write_params(
        template_params((tmp_path / "out").as_uri(), variables, analysis), tmp_path / "params"
    )


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None, params: Path | None = None):  # type: ignore[no-untyped-def]
    environment = {"IOTA_PARAMS_PATH": str(params or local_params(tmp_path)), **(env or {})}
    return run_cli("run", *args, env=environment, cwd=tmp_path)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_local_run_writes_outputs_and_keeps_work_copies(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "greeting = 'hello'", "print(greeting * 2)")
    params = local_params(tmp_path, greeting="hé ")
    result = run(
        tmp_path, "--notebook", str(notebook), "--work-dir", str(tmp_path / "work"), params=params
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == f"succeeded: report at {(tmp_path / 'out' / 'output.html').as_uri()}"
    )
    executed = nbformat.read(tmp_path / "out" / "output.ipynb", as_version=4)
    assert executed.cells[0].source == "greeting = 'hé '"
    assert executed.cells[1].outputs[0].text == "hé hé \n"
    assert (tmp_path / "work" / "output.html").read_text() == (
        tmp_path / "out" / "output.html"
    ).read_text()


def test_notebook_source_precedence(tmp_path: Path) -> None:
    for name in ("analysis", "env", "cli"):
        write_notebook(tmp_path / f"{name}.ipynb", f"print('ran {name}')")
    cli = ("--notebook", str(tmp_path / "cli.ipynb"))
    env = {"NOTEBOOK_PATH": str(tmp_path / "env.ipynb")}
    with_analysis = local_params(tmp_path, analysis=str(tmp_path / "analysis.ipynb"))
    without_analysis = write_params(
        template_params((tmp_path / "out").as_uri()), tmp_path / "params-no-analysis"
    )
    output = tmp_path / "out" / "output.ipynb"
    for params, environment, expected in [
        (with_analysis, env, "ran analysis"),
        (without_analysis, env, "ran env"),
        (without_analysis, {}, "ran cli"),
    ]:
        result = run(tmp_path, *cli, env=environment, params=params)
        assert result.returncode == 0, result.stderr
        assert expected in output.read_text()


def test_no_notebook_named(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 2
    assert "no notebook to run" in last_line(result.stderr)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist: fix the path"),
        ("not json at all", "is not a Jupyter notebook (not JSON: "),
        ('{"just": "json"}', "is not a Jupyter notebook"),
    ],
)
def test_bad_notebooks(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.ipynb"
    if content is not None:
        path.write_text(content)
    result = run(tmp_path, "--notebook", str(path))
    assert result.returncode == 2
    line = last_line(result.stderr)
    assert line.startswith("error: ") and message in line and str(path) in line, line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_unknown_kernel(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1")
    result = run(tmp_path, "--notebook", str(notebook), env={"KERNEL_NAME": "cobol"})
    assert result.returncode == 2
    assert last_line(result.stderr).startswith(
        "error: kernel 'cobol' is not installed (installed: "
    )
    assert not (tmp_path / "out").exists()


def test_notebook_kernel_missing_falls_back_to_an_installed_one(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "print('fine')")
    data = json.loads(notebook.read_text())
    data["metadata"]["kernelspec"] = {
        "name": "conda_python3",
        "display_name": "x",
        "language": "python",
    }
    notebook.write_text(json.dumps(data))
    result = run(tmp_path, "--notebook", str(notebook))
    assert result.returncode == 0, result.stderr
    assert "notebook kernel 'conda_python3' is not installed here; using 'python3'" in result.stderr


def test_bad_params_file_exit_2_one_line(tmp_path: Path) -> None:
    (tmp_path / "params").write_text('{"Context": {}, "Variables": {}}')
    result = run(tmp_path, "--notebook", "x.ipynb", params=tmp_path / "params")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: params file '{tmp_path / 'params'}': Context.OutputUris is missing: add it "
        "(see `iota-container params init`)"
    )


def test_params_init_and_validate(tmp_path: Path) -> None:
    init = run_cli(
        "params",
        "init",
        "p.json",
        "--output-root",
        "s3://bucket/prefix",
        "--var",
        "n=3",
        "--var",
        "s=hi there",
        "--var",
        "flags=[true]",
        cwd=tmp_path,
    )
    assert init.returncode == 0, init.stderr
    document = json.loads((tmp_path / "p.json").read_text())
    assert document["Variables"] == {"n": 3, "s": "hi there", "flags": [True]}
    assert document["Context"]["OutputUris"]["html"] == "s3://bucket/prefix/output.html"
    again = run_cli("params", "init", "p.json", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    valid = run_cli("params", "validate", "p.json", "--json", cwd=tmp_path)
    assert valid.returncode == 0
    assert json.loads(valid.stdout)["variables"] == ["flags", "n", "s"]
    (tmp_path / "bad.json").write_text(
        '{"Context": {"OutputUris": {"html": "ftp://x/y", "ipynb": "s3://b/k"}}, "Variables": {}}'
    )
    invalid = run_cli("params", "validate", "bad.json", cwd=tmp_path)
    assert invalid.returncode == 2
    assert invalid.stderr.strip() == (
        "error: Context.OutputUris.html in bad.json 'ftp://x/y' is neither s3:// nor file://: "
        "write s3://BUCKET/KEY, or file:///absolute/path for a local run"
    )


def test_params_init_to_stdout_and_bad_var(tmp_path: Path) -> None:
    out = run_cli("params", "init", "-", "--output-root", "file:///tmp/x", cwd=tmp_path)
    assert json.loads(out.stdout)["Context"]["OutputUris"]["ipynb"] == "file:///tmp/x/output.ipynb"
    bad = run_cli("params", "init", "-", "--var", "novalue", cwd=tmp_path)
    assert bad.returncode == 2 and "'novalue' is not NAME=VALUE" in bad.stderr
    bad_root = run_cli("params", "init", "-", "--output-root", "https://x/y", cwd=tmp_path)
    assert bad_root.returncode == 2 and "neither s3:// nor file://" in bad_root.stderr


def test_variables_command(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "limit = 5  # rows to keep\nflag = False")
    listed = run_cli("variables", str(notebook), "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["variables"] == [
        {
            "name": "limit",
            "type": "int",
            "default": 5,
            "description": "rows to keep",
            "datasetType": "double",
            "hint": None,
        },
        {
            "name": "flag",
            "type": "bool",
            "default": False,
            "description": "",
            "datasetType": "string",
            "hint": None,
        },
    ]
    table = run_cli("variables", str(notebook))
    assert table.stdout.splitlines()[1].split() == [
        "limit",
        "int",
        "double",
        "5",
        "rows",
        "to",
        "keep",
    ]
    bad = run_cli("variables", str(tmp_path / "missing.ipynb"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_a_kernel_that_dies_fails_the_run_instead_of_hanging(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "dies.ipynb",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "print('never')",
    )
    result = run(tmp_path, "--notebook", str(notebook))
    assert result.returncode == 1, result.stderr
    # The prompt number is there only when the kernel acknowledged the cell before dying.
    assert re.match(
        r"error: cell 0 (\(In \[1\]\) )?raised DeadKernelError: the kernel process died",
        last_line(result.stderr),
    ), result.stderr
    assert "DeadKernelError" in (tmp_path / "out" / "output.html").read_text()


def run_outputs(tmp_path: Path) -> tuple[object, str]:
    """The executed notebook and the HTML report of a run whose outputs are under out/."""
    out = tmp_path / "out"
    return nbformat.read(out / "output.ipynb", as_version=4), (out / "output.html").read_text()


@pytest.mark.parametrize(
    "plot", [PLOT_CELL, INLINE_DISPLAY_PLOT_CELL], ids=["plt.show", "inline-display"]
)
def test_the_report_embeds_the_plot_cells_png(tmp_path: Path, plot: str) -> None:
    notebook = write_notebook(tmp_path / "plot.ipynb", plot, parameters="threshold = 1.0")
    result = run(tmp_path, "--notebook", str(notebook), params=local_params(tmp_path, threshold=2))
    assert result.returncode == 0, result.stderr
    executed, html = run_outputs(tmp_path)
    assert report_cell_png(html, executed, "plt.subplots()") == cell_png(executed, "plt.subplots()")


def test_a_figure_displayed_under_agg_is_no_plot_and_the_checks_say_so(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "agg.ipynb", AGG_DISPLAY_PLOT_CELL, parameters="threshold = 1.0"
    )
    result = run(tmp_path, "--notebook", str(notebook))
    assert result.returncode == 0, result.stderr
    executed, html = run_outputs(tmp_path)
    outputs = plot_cell(executed, "plt.subplots()").outputs
    assert [sorted(output.data) for output in outputs] == [["text/plain"]]  # a repr, no image
    assert "data:image/png;base64," in html  # the theme's own images, which are no plot
    with pytest.raises(PlotMissing):
        cell_png(executed, "plt.subplots()")
    with pytest.raises(PlotMissing):
        report_cell_png(html, executed, "plt.subplots()")


def test_the_example_report_embeds_its_plot(tmp_path: Path) -> None:
    # As scripts/demo runs it: params init, then run with file:// outputs.
    out = tmp_path / "out"
    init = run_cli(
        "params",
        "init",
        str(out / "params.json"),
        "--output-root",
        out.as_uri(),
        "--var",
        "threshold=27.5",
        "--var",
        f"custom_output={(out / 'alerts.csv').as_uri()}",
    )
    assert init.returncode == 0, init.stderr
    example = ROOT / "examples" / "sensor-report" / "sensor-report.ipynb"
    result = run(
        tmp_path,
        "--notebook",
        str(example),
        "--work-dir",
        str(out / "work"),
        params=out / "params.json",
    )
    assert result.returncode == 0, result.stderr
    executed, html = run_outputs(tmp_path)
    assert report_cell_png(html, executed, "plt.show()") == cell_png(executed, "plt.show()")
    assert (out / "alerts.csv").read_text().startswith("minute,temperature")
