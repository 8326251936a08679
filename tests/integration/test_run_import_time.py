"""`iota-container run` imports nothing slow before its first cell runs.

`import nbformat` imports jsonschema, whose format checkers import `rfc3987_syntax` when it
is installed (it is wherever JupyterLab is), and that package builds a URI grammar at import
time: over a second of the main process before the kernel gets any work. The run here is the
real CLI on a real kernel under `python -X importtime`; its stderr holds the import lines and
the runtime's log lines in the order they happened.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from iota_container.params_file import template_params, write_params
from tests.notebooks import write_notebook
from tests.servers import require
from tests.support import ROOT

pytestmark = pytest.mark.integration

# Packages that cost the run's main process seconds and that it does not need to run cells.
SLOW_BEFORE_EXECUTION = ("rfc3987_syntax", "lark")
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(?P<cumulative>\d+) \|\s*(?P<name>\S+)$")
# What the runtime logs when the kernel takes the notebook (execute.py's _CellProgress).
EXECUTION_STARTED = re.compile(r"^iota-container: kernel ready after ")


def run_under_importtime(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    notebook = write_notebook(
        tmp_path / "nb.ipynb", "print(greeting * 2)", parameters="greeting = 'default'"
    )
    params = write_params(
        template_params((tmp_path / "out").as_uri(), {"greeting": "hi "}), tmp_path / "params"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
    env["IOTA_PARAMS_PATH"] = str(params)
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-X", "importtime", "-m", "iota_container", "run"]
    return subprocess.run(
        [*command, "--notebook", str(notebook)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )


def imports_before_execution(stderr: str) -> dict[str, int]:
    """Each module imported before execution started, with its cumulative import time (µs)."""
    imported: dict[str, int] = {}
    for line in stderr.splitlines():
        if EXECUTION_STARTED.match(line):
            return imported
        match = IMPORT_LINE.match(line)
        if match:
            imported[match["name"]] = int(match["cumulative"])
    raise AssertionError(f"the run never logged the start of execution:\n{stderr[-3000:]}")


def loaded(package: str, imported: dict[str, int]) -> dict[str, int]:
    """The lines of `package`'s submodules: a package that is looked for and not found has
    an import line of its own too, but only one whose code ran imports its submodules
    (rfc3987_syntax.syntax_helpers, which builds the grammar; lark.lark, lark.utils...)."""
    return {name: µs for name, µs in imported.items() if name.startswith(f"{package}.")}


def test_no_slow_import_before_the_first_cell(tmp_path: Path) -> None:
    result = run_under_importtime(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    imported = imports_before_execution(result.stderr)
    assert "nbclient" in imported, "the import lines were not found before execution"
    slow = {
        name: µs
        for package in SLOW_BEFORE_EXECUTION
        for name, µs in loaded(package, imported).items()
    }
    assert not slow, f"imported before the first cell ran (cumulative µs): {slow}"
    # The output is still a valid nbformat 4 notebook, checked here and not in the run.
    executed = nbformat.read(tmp_path / "out" / "output.ipynb", as_version=4)
    nbformat.validate(executed)
    assert executed.cells[-1].outputs[0].text == "hi hi \n"


def test_a_ray_driver_imports_ray_without_the_uri_grammar() -> None:
    """Ray imports jsonschema too: each run's driver (executors/ray_driver.py) imports it
    through uri_grammar, and the grammar stays out of its process."""
    require(importlib.util.find_spec("ray") is not None, "ray is not installed")
    require(importlib.util.find_spec("rfc3987_syntax") is not None, "rfc3987_syntax is absent")
    probe = (
        "import sys\n"
        "from iota_container.uri_grammar import import_without_uri_grammar\n"
        "import_without_uri_grammar('ray')\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SLOW_BEFORE_EXECUTION!r}))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert found.stdout.strip() == "[]", found.stdout
    source = (ROOT / "iota_container" / "executors" / "ray_driver.py").read_text()
    assert 'import_without_uri_grammar("ray")' in source
