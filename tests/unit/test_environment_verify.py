"""The check before a push: every import the notebook needs resolves in the image about to
be pushed (base + dependency layer + files beside the notebook), and the image's
distributions fit together as `pip check` would say."""

from __future__ import annotations

from pathlib import Path

import pytest

from iota_container.environment.detect import ModuleSource, Requirements
from iota_container.environment.imports import notebook_imports
from iota_container.environment.lock import Lock
from iota_container.environment.python_env import (
    InstalledDistribution,
    Interpreter,
    PythonEnvironment,
)
from iota_container.environment.verify import (
    UnresolvedImports,
    check_consistency,
    check_image_imports,
    check_listed_imports,
)

D = InstalledDistribution
IMAGE = "registry.example/analysis:1"


def base(
    *distributions: InstalledDistribution, stdlib: tuple[str, ...] = ("os", "json")
) -> PythonEnvironment:
    markers = {"python_version": "3.10", "sys_platform": "linux", "platform_system": "Linux"}
    return PythonEnvironment(
        Interpreter(*[""] * 13), markers, frozenset(stdlib), {d.key: d for d in distributions}
    )


def found(*modules: ModuleSource) -> Requirements:
    return Requirements("nb.ipynb", "python3", "3.11.7", modules, Lock())


def source(module: str, provider: str, optional: bool = False) -> ModuleSource:
    return ModuleSource(module, provider, optional, (0,))


BASE = base(D("nbclient", "0.10", top_level=("nbclient",)), D("six", "1.16.0", top_level=("six",)))
LAYER = (
    D("pandas", "3.1.1", ("numpy>=2",), top_level=("pandas",)),
    D("numpy", "2.4.6", top_level=("numpy",)),
)


def test_imports_resolved_by_the_base_the_layer_the_stdlib_and_local_files_pass() -> None:
    report = found(
        source("os", "stdlib"),
        source("nbclient", "base"),
        source("pandas", "distribution"),
        source("helpers", "local"),
        source("cupy", "missing", optional=True),
    )
    check_image_imports(report, BASE, LAYER, IMAGE)


def test_every_import_the_image_lacks_is_named_and_nothing_is_pushed() -> None:
    report = found(
        source("pandas", "distribution"),
        source("matplotlib", "distribution"),
        source("tomllib", "stdlib"),  # the kernel's 3.11 has it, the 3.10 base does not
    )
    with pytest.raises(UnresolvedImports) as error:
        check_image_imports(report, BASE, (), IMAGE)
    assert str(error.value).startswith(
        f"{IMAGE} would not import pandas, matplotlib, tomllib: nothing was pushed; install them"
    )


def test_an_unknown_base_is_trusted_for_what_detection_gave_it() -> None:
    check_image_imports(found(source("six", "base"), source("os", "stdlib")), None, (), IMAGE)
    with pytest.raises(UnresolvedImports, match="would not import pandas"):
        check_image_imports(found(source("pandas", "distribution")), None, (), IMAGE)


def test_a_replaced_version_that_breaks_a_base_distribution_is_refused() -> None:
    image_base = base(D("python-dateutil", "2.9", ("six>=1.5",)), D("six", "1.16.0"))
    check_consistency(image_base, (D("six", "1.17.0"),), IMAGE)
    with pytest.raises(UnresolvedImports) as error:
        check_consistency(image_base, (D("six", "1.4.0"),), IMAGE)
    assert str(error.value) == (
        f"{IMAGE} would have broken requirements: python-dateutil 2.9 needs six>=1.5, but "
        "the image has six 1.4.0: nothing was pushed; pin versions that fit together with "
        "--requirements"
    )


def test_the_layer_must_bring_its_own_dependencies() -> None:
    with pytest.raises(
        UnresolvedImports, match=r"extra 1 needs missing-too, which the image lacks \(and 1 more\)"
    ):
        check_consistency(base(), (LAYER[0], D("extra", "1", ("missing-too",))), IMAGE)
    check_consistency(base(), LAYER, IMAGE)
    check_consistency(None, (LAYER[0],), IMAGE)  # an unknown base: nothing to check against


def test_a_listed_lock_checks_the_notebook_s_imports_against_the_image(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("")
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "more.py").write_text("")
    (tmp_path / "data").mkdir()  # a folder without Python is no module
    notebook = {
        "cells": [
            {"cell_type": "code", "source": "import os, helpers, utils, six, pandas"},
            {"cell_type": "code", "source": "try:\n    import cv2\nexcept ImportError:\n    pass"},
        ]
    }
    imports = notebook_imports(notebook)
    check_listed_imports(imports, tmp_path, BASE, LAYER, IMAGE)
    with pytest.raises(UnresolvedImports) as error:
        check_listed_imports(imports, tmp_path, BASE, (), IMAGE)
    assert str(error.value) == (
        f"{IMAGE} would not import pandas: nothing was pushed; add it to the --requirements "
        "file, or guard the import with try/except ImportError"
    )
    data = notebook_imports({"cells": [{"cell_type": "code", "source": "import data"}]})
    with pytest.raises(UnresolvedImports, match="would not import data"):
        check_listed_imports(data, tmp_path, BASE, LAYER, IMAGE)
