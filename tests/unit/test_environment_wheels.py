"""Wheels for the image's platform, resolved by a real `pip download` with its
cross-platform options. Most tests point pip at a local folder of hand-written wheels only
(PIP_NO_INDEX, PIP_FIND_LINKS), so they do not depend on the index; one fetches from the
index this machine reaches, as a user's build does. pip's failures become one line naming
the package, the image's platform, and a fix that fits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from iota_container.environment.dependency_layer import build_dependency_layer
from iota_container.environment.lock import Lock, Pin
from iota_container.environment.platform import TargetPlatform
from iota_container.environment.python_env import Interpreter, PythonEnvironment
from iota_container.environment.wheels import (
    WheelResolutionError,
    fetch_wheels,
    resolved_lock,
)
from tests.layers import apply_layer
from tests.wheels import make_sdist, make_wheel

CP311 = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"


@pytest.fixture
def links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links folder that is all pip sees."""
    folder = tmp_path / "links"
    make_wheel(folder, "tool-kit", "2.0", {"toolkit/__init__.py": ""}, requires=["tiny-dep>=1"])
    make_wheel(folder, "tiny-dep", "1.0", {"tiny_dep.py": ""})
    make_wheel(folder, "tiny-dep", "1.1", {"tiny_dep.py": ""})
    make_wheel(folder, "fastcalc", "1.0", {"fastcalc.py": ""})
    make_wheel(folder, "fastcalc", "2.0", {"fastcalc.py": ""}, tag=CP311)
    make_wheel(folder, "needs-old", "1.0", {"needs_old.py": ""}, requires=["tiny-dep<1.1"])
    make_wheel(folder, "needs-new", "1.0", {"needs_new.py": ""}, requires=["tiny-dep>=1.1"])
    make_sdist(folder, "onlysdist", "1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def fetch(
    tmp_path: Path, lock: Lock, python: str = "3.11", **options: object
) -> list[tuple[str, str]]:
    wheels = fetch_wheels(lock, TargetPlatform(python), tmp_path / "dest", **options)  # type: ignore[arg-type]
    return [(w.name, w.version) for w in wheels]


def test_a_lock_resolves_with_its_dependencies_and_hashes(links: Path, tmp_path: Path) -> None:
    lock = Lock((Pin("tool-kit", "2.0", ("toolkit",)),))
    lines: list[str] = []
    wheels = fetch_wheels(lock, TargetPlatform("3.11"), tmp_path / "dest", on_line=lines.append)
    assert [(w.name, w.version) for w in wheels] == [("tiny-dep", "1.1"), ("tool-kit", "2.0")]
    assert all(w.path.parent == tmp_path / "dest" and w.path.exists() for w in wheels)
    assert all(line.startswith(("Collecting", "Downloading")) for line in lines)
    resolved = resolved_lock(lock, wheels, TargetPlatform("3.11"))
    assert resolved.python_version == "3.11" and resolved.resolved
    toolkit = resolved.pin("tool-kit")
    assert toolkit is not None and toolkit.modules == ("toolkit",)
    assert toolkit.wheel == "tool_kit-2.0-py3-none-any.whl"
    assert [p.sha256 for p in resolved.pins] == [w.sha256 for w in wheels]
    assert all(len(p.sha256) == 64 for p in resolved.pins)


def test_only_this_resolution_s_wheels_count_not_others_in_the_folder(
    links: Path, tmp_path: Path
) -> None:
    assert fetch(tmp_path, Lock(unresolved=("tiny-dep==1.0",))) == [("tiny-dep", "1.0")]
    assert fetch(tmp_path, Lock(unresolved=("tiny-dep==1.1",))) == [("tiny-dep", "1.1")]
    assert fetch(tmp_path, Lock(unresolved=("tiny-dep==1.0",))) == [("tiny-dep", "1.0")]


def test_the_base_s_versions_constrain_what_the_lock_does_not_pin(
    links: Path, tmp_path: Path
) -> None:
    lock = Lock(unresolved=("tool-kit",))
    assert fetch(tmp_path, lock, constraints=["tiny-dep==1.0", "unrelated==9"]) == [
        ("tiny-dep", "1.0"),
        ("tool-kit", "2.0"),
    ]
    # What the lock names itself is not held to the base's version.
    pinned = Lock((Pin("tiny-dep", "1.1"),))
    assert fetch(tmp_path, pinned, constraints=["tiny-dep==1.0"]) == [("tiny-dep", "1.1")]


def test_hashes_in_the_lock_are_checked_by_pip(links: Path, tmp_path: Path) -> None:
    lock = Lock((Pin("tiny-dep", "1.0", sha256="0" * 64),))
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, lock)
    assert "pip could not fetch the wheels for the image's platform" in str(error.value)
    assert "HASHES" in str(error.value)


def test_only_an_sdist_is_one_line_naming_it_and_the_docker_backend(
    links: Path, tmp_path: Path
) -> None:
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, Lock(unresolved=("onlysdist==1.0",)))
    assert str(error.value) == (
        "no wheel of onlysdist==1.0 for the image's platform (CPython 3.11 (cp311), x86_64, "
        "glibc 2.36): no version of it has one there (a source distribution only?): build "
        "with --backend docker (pip then builds it from source in the image), or choose a "
        "base whose platform has a wheel"
    )


def test_a_pin_without_a_wheel_for_the_image_python_names_the_newest_that_has_one(
    links: Path, tmp_path: Path
) -> None:
    lock = Lock((Pin("fastcalc", "2.0"),))
    assert fetch(tmp_path, lock) == [("fastcalc", "2.0")]  # a cp311 wheel for 3.11
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, lock, python="3.10")
    assert str(error.value) == (
        "no wheel of fastcalc==2.0 for the image's platform (CPython 3.10 (cp310), x86_64, "
        "glibc 2.36); the newest version with one there is 1.0: pin fastcalc==1.0 with "
        "--requirements, choose another base, or build with --backend docker (pip then "
        "builds it from source in the image)"
    )


def test_a_kernel_on_another_python_is_named_beside_the_image_s(
    links: Path, tmp_path: Path
) -> None:
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, Lock((Pin("fastcalc", "2.0"),)), python="3.10", kernel_python="3.11.7")
    assert str(error.value) == (
        "no wheel of fastcalc==2.0 for the image's platform (CPython 3.10 (cp310), x86_64, "
        "glibc 2.36); the lock has the versions of the notebook's kernel, which runs Python "
        "3.11.7, not the image's 3.10; the newest version with one there is 1.0: pin "
        "fastcalc==1.0 with --requirements, or choose a base with Python 3.11"
    )
    with pytest.raises(WheelResolutionError) as same:
        fetch(tmp_path, Lock((Pin("fastcalc", "2.0"),)), python="3.10", kernel_python="3.10.4")
    assert "kernel" not in str(same.value)


def test_conflicting_requirements_are_one_line(links: Path, tmp_path: Path) -> None:
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, Lock(unresolved=("needs-old", "needs-new")))
    assert str(error.value) == (
        "the requirements conflict for the image's platform (CPython 3.11 (cp311), x86_64, "
        "glibc 2.36) (needs-old 1.0 depends on tiny-dep<1.1; needs-new 1.0 depends on "
        "tiny-dep>=1.1): keep versions that fit together, or pass your own --requirements"
    )


def test_a_conflict_with_the_base_says_it_is_the_base_s_version(
    links: Path, tmp_path: Path
) -> None:
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, Lock(unresolved=("needs-new",)), constraints=["tiny-dep==1.0"])
    assert "(needs-new 1.0 depends on tiny-dep>=1.1; the base has tiny-dep==1.0)" in str(
        error.value
    )
    assert "/tmp/" not in str(error.value)


def test_a_name_nothing_provides(links: Path, tmp_path: Path) -> None:
    with pytest.raises(WheelResolutionError) as error:
        fetch(tmp_path, Lock(unresolved=("no-such-distribution-anywhere",)))
    assert str(error.value).startswith(
        "no wheel of no-such-distribution-anywhere for the image's platform"
    )


def test_six_from_the_index_replaces_the_base_s_older_six_in_the_image(tmp_path: Path) -> None:
    """The index this machine reaches (through its proxy), as a user's build fetches: a
    base with six 1.16.0 and a lock with 1.17.0 give an image where Python finds 1.17.0
    only, its module and its metadata."""
    python = "{}.{}".format(*sys.version_info[:2])
    platform = TargetPlatform(python)
    old_lock, new_lock = Lock((Pin("six", "1.16.0"),)), Lock((Pin("six", "1.17.0"),))
    old = fetch_wheels(old_lock, platform, tmp_path / "dest")
    new = fetch_wheels(new_lock, platform, tmp_path / "dest")
    assert [(w.name, w.version) for w in old + new] == [("six", "1.16.0"), ("six", "1.17.0")]
    base_layer = build_dependency_layer(
        old, resolved_lock(old_lock, old, platform), platform, None, 0
    )
    base = PythonEnvironment(
        Interpreter(*[""] * 13), {}, frozenset(), {d.key: d for d in base_layer.distributions}
    )
    layer = build_dependency_layer(new, resolved_lock(new_lock, new, platform), platform, base, 0)
    assert layer.replaced == ("six==1.16.0",)
    root = tmp_path / "image"
    apply_layer(base_layer, root)
    apply_layer(layer, root)
    site = str(root / platform.site_packages.lstrip("/"))
    probe = (
        f"import sys; sys.path[:0] = [{site!r}]\n"
        "import importlib.metadata as m, six\n"
        f"print(six.__version__, [d.version for d in m.distributions(path=[{site!r}])])"
    )
    seen = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True)
    assert seen.stdout.strip() == "1.17.0 ['1.17.0']", seen.stderr
