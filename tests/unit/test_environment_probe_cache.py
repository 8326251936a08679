"""The kernel environment's distributions kept between probes: reused while the folders
holding them are unchanged, read again as soon as a distribution is installed, upgraded
or removed (a stale answer would lock the wrong versions). A real venv, real pip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iota_container.environment.probe_cache import cache_file
from iota_container.environment.python_env import PythonEnvironment, probe_environment
from tests.wheels import make_wheel


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOTA_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder / "bin" / "python"


def pip(python: Path, *args: str) -> None:
    command = [sys.executable, "-m", "pip", "--python", str(python), "--no-input", "-q", *args]
    subprocess.run(command, check=True, env={"PIP_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin"})


def wheel(tmp_path: Path, version: str) -> Path:
    files = {"tinyprobe/__init__.py": f"VERSION = {version!r}\n"}
    return make_wheel(tmp_path / f"wheels-{version}", "tinyprobe", version, files).path


def probe(python: Path, folder: Path) -> PythonEnvironment:
    return probe_environment([str(python)], ["tinyprobe"], folder)


def kept(python: Path) -> dict[str, object]:
    return dict(json.loads(cache_file([str(python)], {}).read_text())["distributions"])


def test_installing_upgrading_and_removing_a_distribution_each_invalidate_the_cache(
    venv: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "notebook"
    folder.mkdir()
    assert probe(venv, folder).distribution("tinyprobe") is None
    assert "tinyprobe" not in kept(venv)
    assert probe(venv, folder).distribution("tinyprobe") is None  # a hit, still right

    pip(venv, "install", "--no-index", str(wheel(tmp_path, "1.0")))
    installed = probe(venv, folder)
    found = installed.distribution("tinyprobe")
    assert found is not None and found.version == "1.0"
    assert installed.providers("tinyprobe") == [found]
    assert installed.modules["tinyprobe"].kind == "installed"
    assert "tinyprobe" in kept(venv)

    pip(venv, "install", "--no-index", str(wheel(tmp_path, "2.0")))
    upgraded = probe(venv, folder).distribution("tinyprobe")
    assert upgraded is not None and upgraded.version == "2.0"

    pip(venv, "uninstall", "-y", "tinyprobe")
    removed = probe(venv, folder)
    assert removed.distribution("tinyprobe") is None
    assert removed.modules["tinyprobe"].kind == "missing"


def test_a_hit_gives_the_same_environment_as_a_fresh_probe(venv: Path, tmp_path: Path) -> None:
    pip(venv, "install", "--no-index", str(wheel(tmp_path, "1.0")))
    fresh = probe(venv, tmp_path)
    request = json.dumps({"modules": ["tinyprobe"], "known_fingerprint": "x"})
    again = probe(venv, tmp_path)
    assert again == fresh
    answer = _raw_answer(venv, tmp_path, request)
    assert "distributions" in answer  # an unknown fingerprint gets them all


def test_the_probe_leaves_the_distributions_out_only_for_its_own_fingerprint(
    venv: Path, tmp_path: Path
) -> None:
    first = _raw_answer(venv, tmp_path, json.dumps({"modules": []}))
    same = _raw_answer(venv, tmp_path, json.dumps({"known_fingerprint": first["fingerprint"]}))
    assert same.get("distributions_unchanged") is True and "distributions" not in same
    assert same["fingerprint"] == first["fingerprint"]


def test_an_unreadable_cache_file_is_a_miss(venv: Path, tmp_path: Path) -> None:
    probe(venv, tmp_path)
    cache_file([str(venv)], {}).write_text("{not json")
    pip(venv, "install", "--no-index", str(wheel(tmp_path, "1.0")))
    found = probe(venv, tmp_path).distribution("tinyprobe")
    assert found is not None and found.version == "1.0"
    assert "tinyprobe" in kept(venv)


def _raw_answer(python: Path, folder: Path, request: str) -> dict[str, object]:
    from iota_container.environment.python_env import probe_command

    answer = subprocess.run(
        [str(python), "-c", probe_command()],
        input=request,
        capture_output=True,
        text=True,
        cwd=folder,
        check=True,
    )
    return dict(json.loads(answer.stdout))


def test_metadata_rewritten_in_place_invalidates_the_cache(venv: Path, tmp_path: Path) -> None:
    """An egg-info rebuilt by a develop install rewrites its PKG-INFO in place: the folder
    holding it keeps its modification time."""
    pip(venv, "install", "--no-index", str(wheel(tmp_path, "1.0")))
    assert probe(venv, tmp_path).distribution("tinyprobe") is not None
    (metadata,) = venv.parent.parent.glob(
        "lib/python*/site-packages/tinyprobe-1.0.dist-info/METADATA"
    )
    site = metadata.parent.parent
    before = site.stat().st_mtime_ns
    with open(metadata, "r+", encoding="utf-8") as handle:
        text = handle.read().replace("Version: 1.0", "Version: 1.1")
        handle.seek(0)
        handle.write(text)
        handle.truncate()
    assert site.stat().st_mtime_ns == before
    found = probe(venv, tmp_path).distribution("tinyprobe")
    assert found is not None and found.version == "1.1"
