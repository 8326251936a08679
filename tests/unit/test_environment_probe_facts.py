"""The probe's quick reading of distribution facts gives what importlib.metadata's own
(slow) accessors give, and the kernel's interpreter is found from its kernel.json without
importing jupyter_client."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from iota_container.environment import probe
from iota_container.environment.kernel_python import kernel_python
from iota_container.errors import IotaError


def _slow_top_level(dist: importlib.metadata.Distribution) -> list[str]:
    names = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0] in ("..", "/") or parts[0].startswith(".."):
            continue
        if len(parts) == 1:
            if parts[0].endswith((".py", ".so", ".pyd")) or ".cpython-" in parts[0]:
                names.add(parts[0].split(".", 1)[0])
        elif parts[0] != "__pycache__" and not parts[0].endswith(
            (".dist-info", ".egg-info", ".data")
        ):
            names.add(parts[0])
    if not names:
        text = dist.read_text("top_level.txt") or ""
        names.update(line.strip() for line in text.splitlines() if line.strip())
    return sorted(names)


def _slow_paths(dist: importlib.metadata.Distribution) -> list[str]:
    paths = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0].startswith(".."):
            continue
        paths.add("/".join(parts) if parts[0] == "__pycache__" and len(parts) == 2 else parts[0])
    return sorted(paths)


def test_every_distribution_s_facts_are_those_importlib_metadata_gives() -> None:
    found = probe._distributions()
    seen = set()
    for dist in importlib.metadata.distributions():
        key = probe._normalize(dist.metadata["Name"])
        if key in seen:
            continue
        seen.add(key)
        facts = found[key]
        assert facts["version"] == dist.version, key
        assert facts["requires"] == list(dist.requires or []), key
        assert facts["top_level"] == _slow_top_level(dist), key
        assert facts["paths"] == _slow_paths(dist), key
    assert seen == set(found)


def test_paths_are_left_out_when_not_asked_for() -> None:
    found = probe._distributions(with_paths=False)
    assert found and all("paths" not in facts for facts in found.values())


@pytest.mark.parametrize(
    "path", ["a/b/c/d", "a.py", "/usr/bin/x", "//net/x", "///x", "./a/b", "a//b/./c", "a/", "."]
)
def test_record_paths_split_as_pure_posix_paths_do(path: str) -> None:
    assert probe._posix_head(path) == PurePosixPath(path).parts[:3]


def _kernel_python_in_a_process(jupyter_path: Path, kernel: str) -> dict[str, object]:
    program = (
        "import json, sys\n"
        "from iota_container.environment.kernel_python import kernel_python\n"
        f"found = kernel_python({kernel!r})\n"
        "loaded = {name: name in sys.modules for name in ('jupyter_client', 'IPython')}\n"
        "print(json.dumps({'argv': found.argv, 'env': found.env, **loaded}))\n"
    )
    env = {**os.environ, "JUPYTER_PATH": str(jupyter_path), "IPYTHONDIR": str(jupyter_path)}
    answer = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(answer.stdout))


def test_a_kernel_s_python_is_read_from_its_kernel_json_without_jupyter_client(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "kernels" / "Analysis"
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "language": "python",
        "env": {"PYTHONPATH": "/opt/lib"},
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    found = _kernel_python_in_a_process(tmp_path, "analysis")
    assert found == {
        "argv": [sys.executable],
        "env": {"PYTHONPATH": "/opt/lib"},
        "jupyter_client": False,
        "IPython": False,
    }


def test_a_kernel_without_a_kernel_json_is_asked_of_jupyter_client_s_spec_manager() -> None:
    with pytest.raises(IotaError, match="kernel 'no-such-kernel' is not installed: choose"):
        kernel_python("no-such-kernel")
