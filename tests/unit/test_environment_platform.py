"""The platform packages are installed for: wheel tags, pip's cross-platform options, the
base's paths, and the three ways to learn it (options, a probed environment, a label)."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from iota_container.environment.platform import (
    ENVIRONMENT_LABEL,
    PlatformError,
    TargetPlatform,
    base_environment,
)
from iota_container.environment.probe import describe
from iota_container.environment.python_env import PythonEnvironment


def test_glibc_2_36_runs_every_manylinux_tag_down_to_manylinux1_newest_first() -> None:
    tags = TargetPlatform("3.11").platform_tags()
    perennial = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)]
    assert [t for t in tags if t.startswith("manylinux_")] == perennial
    assert tags[0] == "manylinux_2_36_x86_64"
    assert tags[-1] == "manylinux1_x86_64"
    # PEP 600's legacy aliases come right after the tag they stand for.
    for minor, legacy in [(17, "manylinux2014"), (12, "manylinux2010"), (5, "manylinux1")]:
        index = tags.index(f"manylinux_2_{minor}_x86_64")
        assert tags[index + 1] == f"{legacy}_x86_64"
    assert len(tags) == len(set(tags)) == len(perennial) + 3


def test_older_glibc_and_other_architectures() -> None:
    assert TargetPlatform("3.11", "aarch64", "2.17").platform_tags()[:3] == [
        "manylinux_2_17_aarch64",
        "manylinux2014_aarch64",
        "manylinux_2_16_aarch64",
    ]
    assert "manylinux_2_18_aarch64" not in TargetPlatform("3.11", "aarch64", "2.17").platform_tags()
    assert TargetPlatform("3.12", glibc="").platform_tags() == ["linux_x86_64"]


def test_pip_arguments_ask_for_wheels_of_this_interpreter_only() -> None:
    arguments = TargetPlatform("3.10").pip_arguments()
    assert arguments[:3] == ["--only-binary=:all:", "--python-version", "3.10"]
    pairs = list(zip(arguments[3::2], arguments[4::2]))
    assert ("--implementation", "cp") in pairs
    assert [value for option, value in pairs if option == "--abi"] == ["cp310", "abi3", "none"]
    platforms = [value for option, value in pairs if option == "--platform"]
    assert platforms == TargetPlatform("3.10").platform_tags()


def test_the_default_layout_is_the_base_venv_in_opt_iota() -> None:
    platform = TargetPlatform("3.11")
    assert platform.site_packages == "/opt/iota/lib/python3.11/site-packages"
    assert platform.scripts == "/opt/iota/bin"
    assert platform.interpreter == "/opt/iota/bin/python"
    assert platform.include == "/opt/iota/include/site/python3.11"
    assert platform.abi == "cp311"
    assert platform.describe() == "CPython 3.11 (cp311), x86_64, glibc 2.36"


def test_the_key_changes_with_every_field() -> None:
    keys = {
        TargetPlatform("3.11").key(),
        TargetPlatform("3.12").key(),
        TargetPlatform("3.11", "aarch64").key(),
        TargetPlatform("3.11", glibc="2.31").key(),
        TargetPlatform("3.11", prefix="/usr/local").key(),
    }
    assert len(keys) == 5
    assert TargetPlatform("3.11").key() == TargetPlatform("3.11").key()


@pytest.mark.parametrize(
    ("platform", "machine"),
    [(None, "x86_64"), ("linux/amd64", "x86_64"), ("linux/arm64", "aarch64"),
     ("linux/arm64/v8", "aarch64"), ("linux/x86_64", "x86_64")],
)  # fmt: skip
def test_of_options(platform: str | None, machine: str) -> None:
    target = TargetPlatform.of_options("3.12", platform)
    assert (target.python_version, target.machine, target.glibc) == ("3.12", machine, "2.36")


@pytest.mark.parametrize(
    "platform", ["windows/amd64", "darwin/arm64", "linux/arm/v7", "linux", "linux/", "LINUX/AMD64"]
)
def test_of_options_refuses_platforms_it_cannot_install_for(platform: str) -> None:
    with pytest.raises(PlatformError) as error:
        TargetPlatform.of_options("3.11", platform)
    assert str(error.value) == (
        f"--platform {platform!r} is not one this can install for: use linux/amd64 or linux/arm64"
    )


@pytest.mark.parametrize("version", ["3", "3.x", "2.7", "3.100", " 3.11", "3.11\n", "3.11.2", ""])
def test_of_options_refuses_what_is_not_a_python_3_minor_version(version: str) -> None:
    with pytest.raises(PlatformError) as error:
        TargetPlatform.of_options(version, None)
    message = str(error.value)
    assert message.startswith(f"Python version {version!r} is not MAJOR.MINOR of a Python 3")
    assert message.endswith("write e.g. --python-version 3.11")


@pytest.mark.parametrize("glibc", ["3.1", "2.x", "2", "2.36.1"])
def test_a_glibc_that_is_not_2_n_is_refused(glibc: str) -> None:
    with pytest.raises(PlatformError, match=r"is not 2\.N"):
        TargetPlatform("3.11", glibc=glibc)


@functools.cache
def _described() -> str:
    return json.dumps(describe())  # about a second in a venv with many distributions


def this_environment() -> PythonEnvironment:
    """This interpreter's environment, as the probe describes it (a fresh copy)."""
    return PythonEnvironment.from_json(json.loads(_described()))


def test_of_environment_takes_the_probed_interpreter_and_its_paths() -> None:
    import sys
    import sysconfig

    target = TargetPlatform.of_environment(this_environment())
    assert target.python_version == "{}.{}".format(*sys.version_info[:2])
    assert target.site_packages == sysconfig.get_paths()["purelib"]
    assert target.scripts == sysconfig.get_paths()["scripts"]
    assert target.prefix == sys.prefix
    assert target.interpreter == f"{sysconfig.get_paths()['scripts']}/python"
    # Headers go under the venv, as pip puts them, not to the system's include folder.
    assert target.include == f"{sys.prefix}/include/site/python{target.python_version}"


def test_of_environment_refuses_other_implementations() -> None:
    document = this_environment().to_json()
    document["interpreter"]["implementation"] = "pypy"
    with pytest.raises(PlatformError, match="the base's Python is pypy, not CPython"):
        TargetPlatform.of_environment(PythonEnvironment.from_json(document))


def test_a_musl_base_gets_no_manylinux_tags() -> None:
    document = this_environment().to_json()
    document["interpreter"].update(libc="", libc_version="")
    assert TargetPlatform.of_environment(PythonEnvironment.from_json(document)).glibc == ""


def test_base_environment_reads_the_label_the_base_build_writes() -> None:
    from iota_container.environment.__main__ import label_environment

    label = json.dumps(label_environment(this_environment()).to_json(), separators=(",", ":"))
    found = base_environment({ENVIRONMENT_LABEL: label, "other": "x"})
    assert found is not None
    assert found.interpreter == this_environment().interpreter
    assert "packaging" in found.distributions
    assert all("extra" not in r for d in found.distributions.values() for r in d.requires)


@pytest.mark.parametrize("labels", [None, {}, {ENVIRONMENT_LABEL: ""}, {"other": "{}"}])
def test_a_base_without_the_label_has_no_known_environment(labels: Any) -> None:
    assert base_environment(labels) is None


@pytest.mark.parametrize(
    "text",
    [
        "{bad json",
        "[]",
        "{}",
        '{"interpreter": 1}',
        '{"interpreter": {}}',
        '{"interpreter": {"version": "3.11.2"}, "distributions": []}',
        '{"interpreter": {"version": "3.11.2"}, "distributions": {"x": 1}}',
        '"' + "x" * 3_000_000 + '"',
    ],
    ids=["json", "list", "empty", "int", "no-fields", "list-dists", "int-dist", "string"],
)
def test_an_unreadable_label_is_one_line_naming_the_fix(text: str) -> None:
    with pytest.raises(PlatformError) as error:
        base_environment({ENVIRONMENT_LABEL: text})
    message = str(error.value)
    assert message.startswith(f"the base image's {ENVIRONMENT_LABEL} label is unreadable (")
    assert message.endswith("rebuild the base with scripts/build-base-image.sh")
    assert "\n" not in message and len(message) < 600


@pytest.mark.parametrize(
    ("text", "limit"),
    [("[" * 10000 + "]" * 10000, "nested deeper than 64 levels"), ("x" * (5 << 20), "larger than")],
    ids=["deep", "huge"],
)
def test_a_label_past_the_limits_is_refused_with_the_same_fix(text: str, limit: str) -> None:
    from iota_container.errors import IotaError

    with pytest.raises(IotaError) as error:
        base_environment({ENVIRONMENT_LABEL: text})
    assert str(error.value) == (
        f"the base image's label {ENVIRONMENT_LABEL!r} is {limit}"
        + str(error.value).split(limit, 1)[1]
    )
    assert str(error.value).endswith(": rebuild the base with scripts/build-base-image.sh")
