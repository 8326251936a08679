"""Files beside the notebook that go into its image: local modules, data files the code
names, and --include. Nothing from outside the notebook's folder gets in, not even through
a symbolic link with an innocent name inside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iota_container.environment import local_files
from iota_container.environment.local_files import (
    LocalFileError,
    collect_local_files,
    module_files,
    named_data_files,
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "utils" / "__pycache__").mkdir(parents=True)
    (root / "utils" / ".ipynb_checkpoints").mkdir()
    (root / "utils" / "__init__.py").write_text("")
    (root / "utils" / "more.py").write_text("X = 1\n")
    (root / "utils" / "data.json").write_text("{}")
    (root / "utils" / "__pycache__" / "more.cpython-311.pyc").write_bytes(b"pyc")
    (root / "utils" / ".ipynb_checkpoints" / "more-checkpoint.py").write_text("")
    (root / "helpers.py").write_text("def f(): pass\n")
    (root / "limits.csv").write_text("a,b\n")
    (root / "nb.ipynb").write_text("{}")
    (tmp_path / "secret.txt").write_text("aws_secret_access_key = hunter2\n")
    return root


def cells(*sources: str) -> dict[str, Any]:
    return {"cells": [{"cell_type": "code", "source": s} for s in sources]}


def relative(files: tuple[local_files.LocalFile, ...]) -> list[str]:
    return [f.relative for f in files]


def test_a_package_is_all_its_files_but_caches_and_checkpoints(folder: Path) -> None:
    files = module_files(folder, str(folder / "utils" / "__init__.py"), package=True)
    assert [p.relative_to(folder).as_posix() for p in files] == [
        "utils/__init__.py",
        "utils/data.json",
        "utils/more.py",
    ]
    assert module_files(folder, str(folder / "helpers.py"), package=False) == [
        folder / "helpers.py"
    ]


def test_data_files_are_the_existing_files_the_code_names(folder: Path) -> None:
    notebook = cells(
        'import pandas as pd\ndf = pd.read_csv("limits.csv")',
        "open('utils/data.json')\nmissing = 'nothere.csv'\nnb = 'nb.ipynb'\nd = 'utils'",
        "x = '../secret.txt'\ny = '/etc/passwd'\nz = 'a\\x00b'\nw = 'x' * 300",
        "%%bash\ncat limits.csv",
    )
    found = [
        (path.relative_to(folder).as_posix(), cell)
        for path, cell in named_data_files(notebook, folder, folder / "nb.ipynb")
    ]
    assert found == [("limits.csv", 0), ("utils/data.json", 1)]


def test_a_name_that_reaches_outside_through_a_link_is_not_a_data_file(folder: Path) -> None:
    (folder / "innocent.csv").symlink_to(folder.parent / "secret.txt")
    notebook = cells("pd.read_csv('innocent.csv')")
    assert list(named_data_files(notebook, folder, folder / "nb.ipynb")) == []


def test_a_cell_too_deep_to_parse_names_no_file_and_does_not_crash(folder: Path) -> None:
    notebook = cells("x = " + " + ".join(["'limits.csv'"] * 60000), "open('limits.csv')")
    found = list(named_data_files(notebook, folder, folder / "nb.ipynb"))
    assert [cell for _, cell in found] == [1]


def test_collected_files_are_sorted_each_once_with_their_reason(folder: Path) -> None:
    found = [
        (folder / "limits.csv", "named in cell 2"),
        (folder / "helpers.py", "module helpers"),
        (folder / "limits.csv", "named in cell 5"),
    ]
    files = collect_local_files(folder, found, [folder / "utils"])
    assert [(f.relative, f.reason) for f in files] == [
        ("helpers.py", "module helpers"),
        ("limits.csv", "named in cell 2"),
        ("utils/__init__.py", "--include"),
        ("utils/data.json", "--include"),
        ("utils/more.py", "--include"),
    ]
    assert files[1].size == len("a,b\n")


def test_an_include_relative_to_the_working_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder / "utils")
    assert relative(collect_local_files(folder, [], [Path("more.py")])) == ["utils/more.py"]


@pytest.mark.parametrize("include", ["../secret.txt", "/etc/passwd", ".."])
def test_an_include_outside_the_folder_is_refused(folder: Path, include: str) -> None:
    with pytest.raises(LocalFileError) as error:
        collect_local_files(
            folder, [], [folder / include if include != "/etc/passwd" else Path(include)]
        )
    assert "is outside the notebook's folder" in str(error.value)
    assert str(error.value).endswith("move it there")


def test_an_include_that_escapes_through_a_link_is_refused(folder: Path) -> None:
    (folder / "link.txt").symlink_to(folder.parent / "secret.txt")
    with pytest.raises(LocalFileError, match="is outside the notebook's folder"):
        collect_local_files(folder, [], [folder / "link.txt"])


def test_a_missing_include_is_refused(folder: Path) -> None:
    with pytest.raises(LocalFileError, match="does not exist: fix the path"):
        collect_local_files(folder, [], [folder / "nothere"])


def test_a_link_to_outside_inside_an_included_folder_is_refused(folder: Path) -> None:
    """The folder itself is inside, but one of its files is a link to a secret elsewhere:
    the image would carry the secret under the link's name."""
    (folder / "utils" / "config.txt").symlink_to(folder.parent / "secret.txt")
    with pytest.raises(LocalFileError) as error:
        collect_local_files(folder, [], [folder / "utils"])
    message = str(error.value)
    assert message.startswith("utils/config.txt (--include) is a link to ")
    assert "secret.txt" in message and "outside the notebook's folder" in message


def test_a_link_to_outside_inside_a_local_package_is_refused(folder: Path) -> None:
    (folder / "utils" / "credentials").symlink_to(folder.parent / "secret.txt")
    package = module_files(folder, str(folder / "utils" / "__init__.py"), package=True)
    with pytest.raises(LocalFileError, match=r"utils/credentials \(module utils\) is a link to"):
        collect_local_files(folder, [(path, "module utils") for path in package])


def test_a_link_to_a_file_inside_keeps_its_own_place(folder: Path) -> None:
    (folder / "utils" / "alias.py").symlink_to("../helpers.py")
    files = collect_local_files(folder, [(folder / "utils" / "alias.py", "module utils")])
    assert [(f.relative, f.size) for f in files] == [("utils/alias.py", len("def f(): pass\n"))]


def test_too_many_bytes_beside_the_notebook_are_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_files, "MAX_LOCAL_BYTES", 10)
    (folder / "big.bin").write_bytes(b"x" * 20)
    with pytest.raises(LocalFileError) as error:
        collect_local_files(folder, [(folder / "big.bin", "named in cell 1")])
    assert "(largest: big.bin): keep data in S3 or a dataset" in str(error.value)
