"""`iota-container build --backend oci` with the notebook's packages, against a real
registry and the tiny hand-pushed base (no environment label: --python-version describes
it). Bad input is one line naming the package and the fix, exit code 2, and nothing in the
registry. pip sees only a local find-links folder of hand-written wheels and sdists
(PIP_NO_INDEX), except where the real index is the point (numpy for Python 3.10)."""

from __future__ import annotations

import gzip
import importlib.metadata
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from iota_container.image.auth import ChainedCredentials
from iota_container.image.metadata import LOCK_LABEL
from iota_container.image.registry import ImageNotFound, RegistryClient, RegistryError
from tests.notebooks import write_notebook
from tests.oci_helpers import PushedImage, push_base
from tests.registry import RegistryServer
from tests.support import run_cli
from tests.wheels import make_sdist, make_wheel

pytestmark = pytest.mark.integration

ANONYMOUS = ChainedCredentials([])
SITE = "opt/iota/lib/python3.11/site-packages"


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> PushedImage:
    return push_base(RegistryClient(registry.address, ANONYMOUS), "base/tiny", "1")


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("links")
    make_wheel(folder, "tiny-dep", "1.0", {"tiny_dep.py": "VALUE = 1\n"})
    make_sdist(folder, "onlysdist", "1.0")
    return folder


def build(
    registry: RegistryServer,
    notebook: Path,
    target: str,
    *args: str,
    links: Path | None = None,
    cache: Path,
) -> subprocess.CompletedProcess[str]:
    env = {"IOTA_CACHE_DIR": str(cache)}
    if links is not None:
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(links))
    return run_cli(
        "build", str(notebook), "-r", f"{registry.address}/{target}", "--backend", "oci",
        "--base", f"{registry.address}/base/tiny:1", "--python-version", "3.11", *args,
        env=env,
    )  # fmt: skip


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def assert_nothing_pushed(registry: RegistryServer, repository: str, tag: str = "1") -> None:
    with pytest.raises((ImageNotFound, RegistryError)):
        RegistryClient(registry.address, ANONYMOUS).get_manifest(repository, tag)


def manifest(registry: RegistryServer, repository: str) -> dict[str, Any]:
    body, _, _ = RegistryClient(registry.address, ANONYMOUS).get_manifest(repository, "1")
    document: dict[str, Any] = json.loads(body)
    return document


def layer_files(registry: RegistryServer, repository: str, digest: str) -> dict[str, bytes]:
    client = RegistryClient(registry.address, ANONYMOUS)
    data = b"".join(client.blob_chunks(repository, digest))
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def test_a_package_with_only_an_sdist_is_one_line_naming_it_and_the_fix(
    registry: RegistryServer, base: PushedImage, links: Path, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "%pip install onlysdist==1.0")
    result = build(registry, notebook, "bad/sdist:1", links=links, cache=tmp_path / "cache")
    assert error_line(result) == (
        "error: no wheel of onlysdist==1.0 for the image's platform (CPython 3.11 (cp311), "
        "x86_64, glibc 2.36): no version of it has one there (a source distribution only?): "
        "build with --backend docker (pip then builds it from source in the image), or "
        "choose a base whose platform has a wheel"
    )
    assert_nothing_pushed(registry, "bad/sdist")


def test_a_kernel_python_newer_than_the_base_s_names_the_package_and_both_pythons(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    """The kernel is this Python with numpy 2.3 or newer; a base described as Python 3.10
    has no such numpy (those need 3.11): resolved for the base, on the real index."""
    numpy = importlib.metadata.version("numpy")
    # The test extras ask for numpy 2.3 or newer.
    assert Version(numpy) >= Version("2.3"), (
        f"the kernel has numpy {numpy}: pip install -e '.[test]'"
    )
    notebook = write_notebook(tmp_path / "nb.ipynb", "import numpy\nprint(numpy.pi)")
    result = run_cli(
        "build", str(notebook), "-r", f"{registry.address}/bad/numpy:1", "--backend", "oci",
        "--base", f"{registry.address}/base/tiny:1", "--python-version", "3.10",
        env={"IOTA_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    kernel = "{}.{}.{}".format(*sys.version_info[:3])
    line = error_line(result)
    assert line.startswith(
        f"error: no wheel of numpy=={numpy} for the image's platform (CPython 3.10 (cp310), "
        f"x86_64, glibc 2.36); the lock has the versions of the notebook's kernel, which "
        f"runs Python {kernel}, not the image's 3.10; the newest version with one there is "
    )
    assert line.endswith(
        "with --requirements, or choose a base with Python {}.{}".format(*sys.version_info[:2])
    )
    newest = line.split("the newest version with one there is ", 1)[1].split(":", 1)[0]
    assert newest.startswith("2.") and f"pin numpy=={newest} with --requirements" in line
    assert_nothing_pushed(registry, "bad/numpy")


def test_an_import_nothing_provides_pushes_nothing(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "import sklearn")
    line = error_line(build(registry, notebook, "bad/missing:1", cache=tmp_path / "cache"))
    assert line == (
        "error: module sklearn (cell 1) is not installed in kernel 'python3': install it "
        "where the notebook runs (%pip install scikit-learn), or remove the import; nothing "
        "was pushed"
    )
    assert_nothing_pushed(registry, "bad/missing")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%pip install https://example.com/pkg-1.0-py3-none-any.whl", "installs a URL"),
        ("%pip install ./vendor/pkg", "installs a local path"),
        ("%pip install tiny-dep==1.0\n%pip install tiny-dep==0.9", "conflicts with"),
    ],
    ids=["url", "path", "conflict"],
)
def test_pip_lines_an_image_cannot_be_built_from_push_nothing(
    registry: RegistryServer, base: PushedImage, links: Path, tmp_path: Path, line: str,
    expected: str,
) -> None:  # fmt: skip
    notebook = write_notebook(tmp_path / "nb.ipynb", line)
    message = error_line(build(registry, notebook, "bad/pip:1", links=links, cache=tmp_path))
    assert expected in message and message.endswith("; nothing was pushed")
    assert_nothing_pushed(registry, "bad/pip")


def test_a_runtime_distribution_counts_as_the_unknown_base_s_in_both_detection_and_check(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    """Without an environment label the runtime's own distributions (packaging, six via
    python-dateutil, ...) count as the base's: detection does not lock them, and the
    check before the push must agree (it refused 'would not import six')."""
    notebook = write_notebook(tmp_path / "nb.ipynb", "import packaging\nimport six")
    result = build(registry, notebook, "ok/runtime:1", "--json", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["distributions"] == []


def test_a_pip_requirement_the_kernel_lacks_is_resolved_for_the_image_and_locked(
    registry: RegistryServer, base: PushedImage, links: Path, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb", "%pip install tiny-dep==1.0")
    result = build(registry, notebook, "ok/pip:1", "--json", links=links, cache=tmp_path / "c")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["distributions"] == ["tiny-dep==1.0"]
    document = manifest(registry, "ok/pip")
    files = layer_files(registry, "ok/pip", document["layers"][-2]["digest"])
    assert files[f"{SITE}/tiny_dep.py"] == b"VALUE = 1\n"
    (pin,) = json.loads(document["annotations"][LOCK_LABEL])["distributions"]
    assert (pin["distribution"], pin["version"], len(pin["sha256"])) == ("tiny-dep", "1.0", 64)


def test_a_second_notebook_with_the_same_lock_reuses_the_cached_layer(
    registry: RegistryServer, base: PushedImage, links: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = write_notebook(tmp_path / "one" / "nb.ipynb", "%pip install tiny-dep==1.0")
    second = write_notebook(tmp_path / "two" / "nb.ipynb", "%pip install tiny-dep==1.0\nx = 2")
    assert build(registry, first, "ok/first:1", links=links, cache=cache).returncode == 0
    again = build(registry, second, "ok/second:1", "--json", links=links, cache=cache)
    assert again.returncode == 0, again.stderr
    assert "dependency layer from the cache (1 distributions)" in again.stderr
    assert "resolving" not in again.stderr
    body, _, _ = RegistryClient(registry.address, ANONYMOUS).get_manifest("ok/second", "1")
    document = json.loads(body)
    assert document["layers"][-2] == manifest(registry, "ok/first")["layers"][-2]
    # Only the notebook layer, the config and the manifest went up: the layer was mounted.
    own = document["layers"][-1]["size"] + document["config"]["size"] + len(body)
    assert json.loads(again.stdout)["bytes_uploaded"] == own


def test_a_requirements_file_brings_local_modules_and_data_files_too(
    registry: RegistryServer, base: PushedImage, links: Path, tmp_path: Path
) -> None:
    """No kernel is asked with --requirements, but the image still needs `helpers.py` and
    the CSV the code reads (they were left out)."""
    folder = tmp_path / "project"
    (folder / "utils").mkdir(parents=True)
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "utils" / "__init__.py").write_text("SCALE = 3\n")
    (folder / "limits.csv").write_text("a,3\n")
    notebook = write_notebook(
        folder / "nb.ipynb", "import helpers, utils, tiny_dep\nopen('limits.csv').read()"
    )
    (tmp_path / "requirements.txt").write_text("tiny-dep==1.0\n")
    result = build(
        registry, notebook, "ok/listed:1", "--requirements", str(tmp_path / "requirements.txt"),
        links=links, cache=tmp_path / "cache",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    layers = manifest(registry, "ok/listed")["layers"]
    beside = layer_files(registry, "ok/listed", layers[-1]["digest"])
    analysis = "home/iota/analysis"
    assert beside[f"{analysis}/helpers.py"].startswith(b"def double")
    assert beside[f"{analysis}/utils/__init__.py"] == b"SCALE = 3\n"
    assert beside[f"{analysis}/limits.csv"] == b"a,3\n"


def test_a_requirements_file_that_leaves_out_an_import_pushes_nothing(
    registry: RegistryServer, base: PushedImage, links: Path, tmp_path: Path
) -> None:
    """The notebook imports pandas; the file lists only tiny-dep: the image would fail at
    its first cell (it was pushed)."""
    notebook = write_notebook(
        tmp_path / "nb.ipynb",
        "import os, tiny_dep\nimport pandas",
        "try:\n    import cv2\nexcept ImportError:\n    cv2 = None",
    )
    (tmp_path / "requirements.txt").write_text("tiny-dep==1.0\n")
    result = build(
        registry, notebook, "bad/listed:1", "--requirements", str(tmp_path / "requirements.txt"),
        links=links, cache=tmp_path / "cache",
    )  # fmt: skip
    assert error_line(result) == (
        f"error: {registry.address}/bad/listed:1 would not import pandas: nothing was pushed; "
        "add it to the --requirements file, or guard the import with try/except ImportError"
    )
    assert_nothing_pushed(registry, "bad/listed")
