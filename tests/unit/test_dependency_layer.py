"""The dependency layer, from wheels written by hand (no index needed): the base's layout,
reproducible bytes, shebangs naming the image's Python, pycs that do not depend on time,
and a base distribution of another version replaced through OCI whiteouts, proved by
applying the layers as an image runtime does and asking a real Python what it sees. The
build machine's cache of layers, including entries it must not trust."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from iota_container.environment.dependency_layer import (
    DependencyLayer,
    DependencyLayerError,
    build_dependency_layer,
)
from iota_container.environment.layer_cache import LayerCache
from iota_container.environment.lock import Lock, Pin
from iota_container.environment.platform import TargetPlatform
from iota_container.environment.python_env import Interpreter, PythonEnvironment
from iota_container.environment.wheels import FetchedWheel
from iota_container.image.tree_layer import OPAQUE_WHITEOUT, WHITEOUT_PREFIX
from tests.layers import apply_layer
from tests.wheels import make_wheel

THIS_PYTHON = "{}.{}".format(*sys.version_info[:2])
OTHER_PYTHON = "3.10" if THIS_PYTHON != "3.10" else "3.12"
SITE = f"opt/iota/lib/python{THIS_PYTHON}/site-packages"

TOOLKIT_V1 = {
    "toolkit/__init__.py": "VERSION = 1\n",
    "toolkit/legacy.py": "OLD = True\n",
    "toolkit_old_helpers/__init__.py": "",
    "toolkit_single.py": "ONE = 1\n",
    "shared_ns/toolkit_part/__init__.py": "",
}
TOOLKIT_V2 = {
    "toolkit/__init__.py": "VERSION = 2\n",
    "toolkit/new.py": "NEW = True\n",
    "shared_ns/toolkit_part/__init__.py": "",
}


def lock_of(*wheels: FetchedWheel) -> Lock:
    pins = tuple(Pin(w.name, w.version, sha256=w.sha256, wheel=w.path.name) for w in wheels)
    return Lock(pins, python_version=THIS_PYTHON)


def layer_of(
    wheels: list[FetchedWheel],
    base: PythonEnvironment | None = None,
    mtime: int = 0,
    python: str = THIS_PYTHON,
) -> DependencyLayer:
    return build_dependency_layer(wheels, lock_of(*wheels), TargetPlatform(python), base, mtime)


def members(layer: DependencyLayer) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.layer.data))) as archive:
        return {member.name: member for member in archive.getmembers()}


def content(layer: DependencyLayer, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.layer.data))) as archive:
        extracted = archive.extractfile(name)
        assert extracted is not None
        return extracted.read()


def environment_of(layer: DependencyLayer) -> PythonEnvironment:
    """A base whose distributions are those `layer` installs (as its label would say)."""
    interpreter = Interpreter(*[""] * 13)
    return PythonEnvironment(interpreter, {}, frozenset(), {d.key: d for d in layer.distributions})


def with_pip_records(base: PythonEnvironment) -> PythonEnvironment:
    """The base as pip installed it: pip's RECORD also lists the pycs of top-level
    modules (`__pycache__/NAME.TAG.pyc`), which the probe reports among a distribution's
    paths."""
    tag = sys.implementation.cache_tag
    distributions = {
        key: replace(
            d,
            paths=tuple(
                [*d.paths]
                + [f"__pycache__/{p[:-3]}.{tag}.pyc" for p in d.paths if p.endswith(".py")]
            ),
        )
        for key, d in base.distributions.items()
    }
    return replace(base, distributions=distributions)


@pytest.fixture
def wheels(tmp_path: Path) -> dict[str, FetchedWheel]:
    folder = tmp_path / "wheels"
    return {
        "toolkit-1": make_wheel(folder, "tool-kit", "1.0", TOOLKIT_V1, console_scripts={
            "toolkit-old": "toolkit:main"}),
        "toolkit-2": make_wheel(
            folder, "tool-kit", "2.0", TOOLKIT_V2, requires=["tiny-dep>=1"],
            console_scripts={"toolkit": "toolkit:main"},
        ),
        "other": make_wheel(folder, "other-ns", "3.0", {"shared_ns/other_part/__init__.py": ""}),
        "tiny-dep": make_wheel(folder, "tiny-dep", "1.0", {"tiny_dep.py": "X = 1\n"}),
    }  # fmt: skip


# --- layout and reproducibility ------------------------------------------------------


def test_the_same_wheels_give_the_same_layer_byte_for_byte(
    wheels: dict[str, FetchedWheel],
) -> None:
    chosen = [wheels["toolkit-2"], wheels["tiny-dep"]]
    first, again = layer_of(chosen), layer_of(list(reversed(chosen)))
    assert first.layer.digest == again.layer.digest
    assert first.layer.diff_id == again.layer.diff_id
    assert first.layer.data == again.layer.data
    assert layer_of(chosen, mtime=1_700_000_000).layer.digest != first.layer.digest


def test_files_land_in_the_base_venv_owned_by_root_at_a_fixed_time(
    wheels: dict[str, FetchedWheel],
) -> None:
    layer = layer_of([wheels["toolkit-2"], wheels["tiny-dep"]], mtime=1234)
    found = members(layer)
    assert f"{SITE}/toolkit/__init__.py" in found
    assert f"{SITE}/tiny_dep.py" in found
    assert f"{SITE}/tool_kit-2.0.dist-info/RECORD" in found
    assert content(layer, f"{SITE}/tool_kit-2.0.dist-info/INSTALLER") == b"iota-container\n"
    for name, member in found.items():
        assert name == "opt" or name.startswith("opt/"), name
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1234
        if member.isdir():
            assert member.mode == 0o755
    assert found[f"{SITE}/tiny_dep.py"].mode == 0o644
    assert list(found) == sorted(found)
    assert layer.installed_size >= len("X = 1\n")
    assert [d.name for d in layer.distributions] == ["tiny-dep", "tool-kit"]
    toolkit = layer.distributions[1]
    assert toolkit.requires == ("tiny-dep>=1",)
    assert set(toolkit.top_level) == {"toolkit", "shared_ns"}
    assert layer.lock.python_version == THIS_PYTHON
    assert [p.requirement for p in layer.lock.pins] == ["tiny-dep==1.0", "tool-kit==2.0"]


def test_console_scripts_run_the_image_python(wheels: dict[str, FetchedWheel]) -> None:
    layer = layer_of([wheels["toolkit-2"]])
    script = members(layer)["opt/iota/bin/toolkit"]
    assert script.mode == 0o755
    text = content(layer, "opt/iota/bin/toolkit").decode()
    assert text.splitlines()[0] == "#!/opt/iota/bin/python"
    assert "from toolkit import main" in text


def test_pycs_are_unchecked_hash_when_this_python_is_the_image_python(
    wheels: dict[str, FetchedWheel],
) -> None:
    import importlib.util

    layer = layer_of([wheels["toolkit-2"]])
    assert layer.compiled
    tag = sys.implementation.cache_tag
    name = f"{SITE}/toolkit/__pycache__/__init__.{tag}.pyc"
    pyc = content(layer, name)
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    # PEP 552 flags: bit 0 hash-based, bit 1 check_source; unchecked is 0b01.
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    assert f"/{SITE}/toolkit/__init__.py".encode() in pyc  # tracebacks name the image's path


def test_no_pycs_for_another_python(wheels: dict[str, FetchedWheel]) -> None:
    layer = layer_of([wheels["toolkit-2"]], python=OTHER_PYTHON)
    assert not layer.compiled
    assert not [name for name in members(layer) if name.endswith(".pyc")]
    assert f"opt/iota/lib/python{OTHER_PYTHON}/site-packages/toolkit/__init__.py" in members(layer)


def test_a_broken_wheel_is_one_line_naming_it(tmp_path: Path) -> None:
    bogus = tmp_path / "broken-1.0-py3-none-any.whl"
    bogus.write_bytes(b"not a zip")
    wheel = FetchedWheel(bogus, "broken", "1.0", "0" * 64)
    with pytest.raises(DependencyLayerError) as error:
        layer_of([wheel])
    assert str(error.value).startswith("wheel broken-1.0-py3-none-any.whl cannot be installed (")
    assert str(error.value).endswith("pin another version with --requirements")


def test_a_wheel_writing_outside_its_scheme_is_refused(tmp_path: Path) -> None:
    """A RECORD path with '..' would write outside the staging root (and so outside the
    image's site-packages): installer refuses it, and the build says so in one line."""
    evil = make_wheel(tmp_path, "evil", "1.0", {"../../../../../../tmp/pwned.py": "x = 1\n"})
    with pytest.raises(DependencyLayerError, match=r"wheel evil-1\.0-py3-none-any\.whl"):
        layer_of([evil])
    assert not Path("/tmp/pwned.py").exists()


# --- replacing the base's distributions ------------------------------------------------


def test_a_same_version_base_distribution_is_not_installed_again(
    wheels: dict[str, FetchedWheel],
) -> None:
    base = environment_of(layer_of([wheels["tiny-dep"]]))
    layer = layer_of([wheels["toolkit-2"], wheels["tiny-dep"]], base)
    assert [d.name for d in layer.distributions] == ["tool-kit"]
    assert [p.name for p in layer.lock.pins] == ["tool-kit"]
    assert layer.replaced == ()
    assert not [n for n in members(layer) if "tiny_dep" in n or WHITEOUT_PREFIX in n]


def test_another_version_in_the_base_is_hidden_by_whiteouts(
    wheels: dict[str, FetchedWheel],
) -> None:
    base = with_pip_records(environment_of(layer_of([wheels["toolkit-1"], wheels["other"]])))
    layer = layer_of([wheels["toolkit-2"]], base)
    assert layer.replaced == ("tool-kit==1.0",)
    whiteouts = sorted(n for n in members(layer) if f"/{WHITEOUT_PREFIX}" in n)
    assert whiteouts == [
        f"{SITE}/{WHITEOUT_PREFIX}tool_kit-1.0.dist-info",
        f"{SITE}/{WHITEOUT_PREFIX}toolkit_old_helpers",
        f"{SITE}/{WHITEOUT_PREFIX}toolkit_single.py",
        f"{SITE}/__pycache__/{WHITEOUT_PREFIX}toolkit_single.{sys.implementation.cache_tag}.pyc",
        f"{SITE}/toolkit/{OPAQUE_WHITEOUT}",
    ]
    # The namespace folder another base distribution shares is left as it is.
    assert not [n for n in whiteouts if "shared_ns" in n]
    for name in whiteouts:
        member = members(layer)[name]
        assert member.isfile() and member.size == 0


def test_the_image_of_base_and_layer_has_only_the_new_version(
    wheels: dict[str, FetchedWheel], tmp_path: Path
) -> None:
    """Apply both layers as a container runtime does (whiteouts included) and ask a real
    Python which distributions and modules it finds: one tool-kit, 2.0, and the other
    distribution's half of the shared namespace folder still there."""
    base_layer = layer_of([wheels["toolkit-1"], wheels["other"]])
    layer = layer_of([wheels["toolkit-2"], wheels["tiny-dep"]], environment_of(base_layer))
    root = tmp_path / "image"
    apply_layer(base_layer, root)
    apply_layer(layer, root)
    site = root / SITE
    probe = (
        "import importlib.metadata as m, json, sys\n"
        f"sys.path[:0] = [{str(site)!r}]\n"
        "import toolkit, shared_ns.other_part, shared_ns.toolkit_part\n"
        "print(json.dumps({'dists': sorted((d.metadata['Name'], d.version) for d in "
        f"m.distributions(path=[{str(site)!r}])), 'version': toolkit.VERSION}}))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True
    )
    seen = json.loads(answer.stdout)
    assert seen == {
        "dists": [["other-ns", "3.0"], ["tiny-dep", "1.0"], ["tool-kit", "2.0"]],
        "version": 2,
    }
    assert not (site / "toolkit" / "legacy.py").exists()
    assert not (site / "toolkit_single.py").exists()
    assert not (site / "toolkit_old_helpers").exists()
    assert (site / "toolkit" / "new.py").exists()


# --- the layer cache -------------------------------------------------------------------


@pytest.fixture
def built(wheels: dict[str, FetchedWheel]) -> DependencyLayer:
    return layer_of([wheels["toolkit-2"], wheels["tiny-dep"]])


def test_a_saved_layer_loads_back_whole(tmp_path: Path, built: DependencyLayer) -> None:
    cache = LayerCache(tmp_path / "cache")
    key = cache.key(built.lock, TargetPlatform(THIS_PYTHON), None)
    assert cache.load(key) is None
    cache.save(key, built)
    assert cache.load(key) == built
    assert [p.name for p in (tmp_path / "cache" / "layers").iterdir()] == [key]
    cache.save(key, built)  # over an existing entry
    assert cache.load(key) == built


def test_the_cache_root_comes_from_iota_cache_dir_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("IOTA_CACHE_DIR", raising=False)
    assert LayerCache().root == tmp_path / "xdg" / "iota-container"
    monkeypatch.setenv("IOTA_CACHE_DIR", str(tmp_path / "mine"))
    assert LayerCache().root == tmp_path / "mine"


def test_the_key_depends_on_the_lock_the_platform_and_the_base(
    built: DependencyLayer, wheels: dict[str, FetchedWheel]
) -> None:
    cache = LayerCache(Path("/nonexistent"))
    platform = TargetPlatform(THIS_PYTHON)
    key = cache.key(built.lock, platform, None)
    base = environment_of(layer_of([wheels["other"]]))
    assert key == cache.key(
        Lock(tuple(replace(p, sha256="") for p in built.lock.pins)), platform, None
    )
    assert key != cache.key(Lock(built.lock.pins[:1]), platform, None)
    assert key != cache.key(built.lock, TargetPlatform(OTHER_PYTHON), None)
    assert key != cache.key(built.lock, TargetPlatform(THIS_PYTHON, "aarch64"), None)
    assert key != cache.key(built.lock, platform, base)


def entry(cache: LayerCache, key: str) -> Path:
    return cache.root / "layers" / key


@pytest.mark.parametrize("damage", ["truncate", "flip", "description", "format", "json", "gone"])
def test_an_entry_that_cannot_be_trusted_is_ignored(
    tmp_path: Path, built: DependencyLayer, damage: str
) -> None:
    cache = LayerCache(tmp_path / "cache")
    cache.save("k", built)
    data, description = entry(cache, "k") / "layer.tar.gz", entry(cache, "k") / "layer.json"
    if damage == "truncate":
        data.write_bytes(built.layer.data[:-10])
    elif damage == "flip":  # same size, other bytes: it would be pushed under a wrong digest
        altered = bytearray(built.layer.data)
        altered[len(altered) // 2] ^= 0xFF
        data.write_bytes(bytes(altered))
    elif damage == "description":  # what another version of the program may have written
        document = json.loads(description.read_text())
        del document["lock"]
        description.write_text(json.dumps(document))
    elif damage == "format":
        document = json.loads(description.read_text())
        document["format"] = 999
        description.write_text(json.dumps(document))
    elif damage == "json":
        description.write_text("[1, 2")
    else:
        data.unlink()
    assert cache.load("k") is None


def test_pushes_are_recorded_per_registry_newest_first(
    tmp_path: Path, built: DependencyLayer
) -> None:
    cache = LayerCache(tmp_path / "cache")
    assert cache.pushed_to("k", "registry.example") == []
    cache.record_push("k", "registry.example", "a/one")  # no entry yet: nothing recorded
    assert cache.pushed_to("k", "registry.example") == []
    cache.save("k", built)
    cache.record_push("k", "registry.example", "a/one")
    cache.record_push("k", "registry.example", "a/two")
    cache.record_push("k", "registry.example", "a/one")
    cache.record_push("k", "other:5000", "b/x")
    assert cache.pushed_to("k", "registry.example") == ["a/two", "a/one"]
    assert cache.pushed_to("k", "other:5000") == ["b/x"]
    for index in range(30):
        cache.record_push("k", "registry.example", f"many/{index}")
    assert len(cache.pushed_to("k", "registry.example")) == 20
    assert cache.pushed_to("k", "registry.example")[0] == "many/29"


@pytest.mark.parametrize("text", ["[]", "{bad", '{"registry.example": "a/one"}', "null"])
def test_a_damaged_push_record_is_no_error(
    tmp_path: Path, built: DependencyLayer, text: str
) -> None:
    cache = LayerCache(tmp_path / "cache")
    cache.save("k", built)
    (entry(cache, "k") / "pushed.json").write_text(text)
    assert cache.pushed_to("k", "registry.example") == []
    cache.record_push("k", "registry.example", "a/one")
    assert cache.pushed_to("k", "registry.example") == ["a/one"]
