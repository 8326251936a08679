from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import iota_container as iota
from iota_container.errors import ParamsError, StorageError, VariableError
from iota_container.params_file import (
    DEFAULT_PARAMS_PATH,
    load_params,
    params_path,
    parse_params,
    template_params,
    write_params,
)

VALID = {
    "Context": {
        "OutputUris": {"html": "s3://b/k/output.html", "ipynb": "s3://b/k/output.ipynb"},
        "Analysis": "analysis.ipynb",
    },
    "Variables": {
        "source_dataset_name": "mydataset",
        "threshold": 3,
        "ratio": 0.25,
        "flags": "[true, false]",
        "enabled": "true",
        "custom_output": "s3://b/k/output.txt",
    },
}


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "params"
    path.write_text(json.dumps(document))
    return path


def test_typed_access(tmp_path: Path) -> None:
    p = iota.params(write(tmp_path, VALID))
    assert p.variables["source_dataset_name"] == "mydataset"
    assert p.output_uris["html"] == "s3://b/k/output.html"
    assert p.analysis == "analysis.ipynb"
    assert p.variable("threshold", float) == 3.0
    assert isinstance(p.variable("threshold", float), float)
    assert p.variable("threshold", int) == 3
    assert p.variable("ratio", float) == 0.25
    assert p.variable("flags", list) == [True, False]
    assert p.variable("enabled", bool) is True
    assert p.variable("missing", float, default=0.5) == 0.5
    assert p.variable("source_dataset_name") == "mydataset"


def test_missing_variable_names_it_and_lists_the_known_ones(tmp_path: Path) -> None:
    p = iota.params(write(tmp_path, VALID))
    with pytest.raises(VariableError, match=r"'nope' is not in .*variables: custom_output"):
        p.variable("nope")


@pytest.mark.parametrize(
    ("name", "as_type"),
    [("source_dataset_name", float), ("ratio", int), ("threshold", str), ("threshold", bool)],
)
def test_wrong_type_is_refused_with_the_value(tmp_path: Path, name: str, as_type: type) -> None:
    p = iota.params(write(tmp_path, VALID))
    with pytest.raises(VariableError, match=rf"variable '{name}' is .* not {as_type.__name__}"):
        p.variable(name, as_type)


def test_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IOTA_PARAMS_PATH", raising=False)
    assert params_path() == Path(DEFAULT_PARAMS_PATH)
    monkeypatch.setenv("IOTA_PARAMS_PATH", str(tmp_path / "env"))
    assert params_path() == tmp_path / "env"
    assert params_path(tmp_path / "explicit") == tmp_path / "explicit"


def test_default_path_is_the_contract_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOTA_PARAMS_PATH", raising=False)
    with pytest.raises(ParamsError, match="/opt/ml/input/data/iotanalytics/params' does not exist"):
        iota.params()


BAD_DOCUMENTS = [
    ([], "top level is an array, not an object"),
    ({"Variables": {}}, "Context is missing"),
    ({"Context": [], "Variables": {}}, "Context is an array, not an object"),
    ({"Context": {}, "Variables": {}}, "Context.OutputUris is missing"),
    ({"Context": {"OutputUris": "s3://b/k"}, "Variables": {}}, "Context.OutputUris is a string"),
    (
        {"Context": {"OutputUris": {"html": "s3://b/k.html", "ipynb": "s3://b/k.ipynb"}}},
        "Variables is missing",
    ),
    (
        {
            "Context": {"OutputUris": {"html": "s3://b/k.html", "ipynb": "s3://b/k.ipynb"}},
            "Variables": [1],
        },
        "Variables is an array, not an object",
    ),
    (
        {"Context": {"OutputUris": {"html": 3, "ipynb": "s3://b/k.ipynb"}}, "Variables": {}},
        "Context.OutputUris.html is a number, not a string",
    ),
    (
        {"Context": {"OutputUris": {"ipynb": "s3://b/k.ipynb"}}, "Variables": {}},
        "Context.OutputUris has no 'html'",
    ),
    (
        {
            "Context": {
                "OutputUris": {"html": "s3://b/k.html", "ipynb": "s3://b/k.ipynb"},
                "Analysis": 5,
            },
            "Variables": {},
        },
        "Context.Analysis is 5",
    ),
]


@pytest.mark.parametrize(("document", "message"), BAD_DOCUMENTS)
def test_contract_violations_name_the_key(tmp_path: Path, document: object, message: str) -> None:
    with pytest.raises(ParamsError, match=message) as caught:
        load_params(write(tmp_path, document))
    assert "\n" not in str(caught.value)
    assert str(tmp_path / "params") in str(caught.value)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://b/k.html", "neither s3:// nor file://"),
        ("s3://bucket-only", "needs both a bucket and an object key"),
        ("s3:///key.html", "needs both a bucket and an object key"),
        ("s3://b/folder/", "needs both a bucket and an object key"),
        ("file://relative/out.html", "not an absolute file URI"),
        ("file:///tmp/dir/", "names a directory"),
    ],
)
def test_bad_output_uris(tmp_path: Path, uri: str, message: str) -> None:
    document = {
        "Context": {"OutputUris": {"html": uri, "ipynb": "s3://b/k.ipynb"}},
        "Variables": {},
    }
    with pytest.raises(StorageError, match=message) as caught:
        load_params(write(tmp_path, document))
    assert "Context.OutputUris.html" in str(caught.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "params"
    path.write_text('{"Context": ')
    with pytest.raises(ParamsError, match="is not JSON"):
        load_params(path)


def test_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "params"
    path.write_text(
        '{"Context": {"OutputUris": {"html": "s3://b/k.html", "ipynb": "s3://b/k.ipynb"}},'
        ' "Variables": {"x": NaN}}'
    )
    with pytest.raises(ParamsError, match=r"Variables\.x is nan"):
        load_params(path)


def test_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(ParamsError, match="cannot be read"):
            load_params(path)
        return
    # Root reads any file: read it from a process without the capabilities that allow it.
    drop = "-dac_override,-dac_read_search"
    probe = subprocess.run(
        [
            "setpriv",
            f"--inh-caps={drop}",
            f"--bounding-set={drop}",
            sys.executable,
            "-m",
            "iota_container",
            "params",
            "validate",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 2, probe.stderr
    assert "cannot be read (PermissionError)" in probe.stderr


def test_unreadable_directory(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="is a directory"):
        load_params(tmp_path)


def test_undecodable(tmp_path: Path) -> None:
    path = tmp_path / "params"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ParamsError, match="cannot be read"):
        load_params(path)


def test_template_round_trips(tmp_path: Path) -> None:
    document = template_params("file:///tmp/out/", {"x": 1}, analysis="nb.ipynb")
    written = write_params(document, tmp_path / "p.json")
    loaded = load_params(written)
    assert loaded.output_uris == {
        "ipynb": "file:///tmp/out/output.ipynb",
        "html": "file:///tmp/out/output.html",
    }
    assert loaded.variables == {"x": 1}
    assert loaded.analysis == "nb.ipynb"
    assert oct(written.stat().st_mode & 0o777) == "0o644"


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    target.write_text("keep me")
    with pytest.raises(ParamsError, match="already exists"):
        write_params(template_params("file:///tmp/out"), target)
    assert target.read_text() == "keep me"


def test_parse_params_keeps_unknown_output_keys() -> None:
    document = json.loads(json.dumps(VALID))
    document["Context"]["OutputUris"]["extra"] = "file:///tmp/extra.txt"
    assert parse_params(document).output_uris["extra"] == "file:///tmp/extra.txt"
