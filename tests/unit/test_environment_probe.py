"""The probe, run by real interpreters as a kernel's Python runs it (`python -c SOURCE`):
its answer, on every Python it promises (3.9+), and what it must never do: run files that
lie beside the notebook."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iota_container.environment.python_env import (
    EnvironmentProbeError,
    PythonEnvironment,
    probe_environment,
)
from tests.servers import require


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "notebook folder"
    (root / "utils").mkdir(parents=True)
    (root / "utils" / "__init__.py").write_text("")
    (root / "helpers.py").write_text("")
    (tmp_path / "elsewhere.py").write_text("")
    (root / "linked.py").symlink_to(tmp_path / "elsewhere.py")
    return root


def probe(
    folder: Path, *modules: str, argv: tuple[str, ...] = (sys.executable,)
) -> PythonEnvironment:
    return probe_environment(list(argv), modules, folder)


def test_each_module_is_traced_to_where_it_comes_from(folder: Path) -> None:
    found = probe(folder, "os", "sys", "json", "helpers", "utils", "linked", "packaging", "nope")
    kinds = {name: origin.kind for name, origin in found.modules.items()}
    assert kinds == {
        "os": "stdlib",
        "sys": "stdlib",
        "json": "stdlib",
        "helpers": "local",
        "utils": "local",
        "linked": "installed",  # it is not beside the notebook: the build will refuse it
        "packaging": "installed",
        "nope": "missing",
    }
    assert found.modules["utils"].package and not found.modules["helpers"].package
    assert found.modules["helpers"].origin == str(folder / "helpers.py")
    packaging = found.distribution("packaging")
    assert packaging is not None and "packaging" in packaging.top_level
    assert found.providers("packaging") == [packaging]
    assert found.interpreter.executable == sys.executable
    assert found.markers["python_version"] == "{}.{}".format(*sys.version_info[:2])
    assert "json" in found.stdlib


def test_files_beside_the_notebook_named_like_the_probe_s_modules_are_not_run(
    folder: Path,
) -> None:
    """`-c` puts the working folder first on sys.path: a `platform.py` or `json.py` beside
    the notebook would be imported by the probe itself, and run, by `requirements`."""
    for name in ("json", "platform", "sysconfig", "importlib", "email", "csv", "zipfile"):
        (folder / f"{name}.py").write_text(
            f"open({str(folder / 'ran')!r} + '-{name}', 'w').close()\nraise SystemExit('shadow')\n"
        )
    found = probe(folder, "helpers")
    assert found.modules["helpers"].kind == "local"
    assert found.distributions
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("ran")) == []


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_the_probe_runs_on_the_pythons_it_promises(folder: Path, version: str) -> None:
    python = other_python(version)
    require(python is not None, f"no python{version} on this machine (pyenv install {version})")
    assert python is not None
    found = probe(folder, "helpers", "json", "tomllib", argv=(python,))
    assert found.interpreter.version.startswith(f"{version}.")
    assert found.modules["helpers"].kind == "local"
    assert found.modules["tomllib"].kind == ("missing" if version == "3.9" else "stdlib")


def other_python(version: str) -> str | None:
    """An interpreter of `version`: pyenv's own (its shims refuse a version that is not
    selected), else one on PATH that runs."""
    installed = sorted(Path(sys.base_prefix).parent.glob(f"{version}.*/bin/python{version}"))
    for candidate in [*map(str, installed), shutil.which(f"python{version}")]:
        if (
            candidate
            and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0
        ):
            return candidate
    return None


def test_an_interpreter_that_cannot_run_is_one_line(folder: Path) -> None:
    with pytest.raises(EnvironmentProbeError) as error:
        probe(folder, argv=(str(folder / "no-such-python"),))
    assert str(error.value).startswith(
        f"cannot run the kernel's Python {str(folder / 'no-such-python')!r}"
    )
    assert "--kernel" in str(error.value) and "\n" not in str(error.value)


def test_an_interpreter_that_fails_says_its_last_line(folder: Path, tmp_path: Path) -> None:
    failing = tmp_path / "python-broken"
    failing.write_text(
        "#!/bin/sh\necho 'line one' >&2\necho 'ImportError: no encodings' >&2\nexit 3\n"
    )
    failing.chmod(0o755)
    with pytest.raises(EnvironmentProbeError) as error:
        probe(folder, argv=(str(failing),))
    assert "failed to describe its packages (ImportError: no encodings)" in str(error.value)


def test_an_answer_that_is_not_a_description_is_one_line(folder: Path, tmp_path: Path) -> None:
    chatty = tmp_path / "python-chatty"
    chatty.write_text("#!/bin/sh\necho '[1, 2, 3]'\n")
    chatty.chmod(0o755)
    with pytest.raises(EnvironmentProbeError) as error:
        probe(folder, argv=(str(chatty),))
    assert "gave an unreadable description" in str(error.value)
    assert str(error.value).endswith("is it Python 3.9 or newer?")
