"""S3 keys land exactly as written, or the URI is refused before anything runs: the moto
server (its own process) says where each object went, and its request recorder that a
refused URI sent nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iota_container.errors import StorageError
from iota_container.storage import put, register_store
from iota_container.storage.s3 import S3Store
from tests.notebooks import write_notebook
from tests.servers import MotoServer
from tests.support import run_cli

pytestmark = pytest.mark.integration

ODD_KEYS = ["/p/x", "p//x", "p/../x", "p/./x", "a%20b", "a b", "ü+&=;:@$,", "k "]


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    return moto.new_bucket("keys")


def keys_in(moto: MotoServer, bucket: str) -> list[str]:
    answer = moto.s3().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def write_params_document(path: Path, outputs: dict[str, str], **variables: str) -> Path:
    # By hand: the params writer itself refuses the bad URIs these tests need.
    document = {"Context": {"OutputUris": outputs}, "Variables": variables}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_each_object_lands_at_exactly_its_key(
    moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_store("s3", lambda: S3Store(client=moto.s3()))
    try:
        for key in ODD_KEYS:
            assert put(key.encode(), f"s3://{bucket}/{key}").key == key
    finally:
        register_store("s3", S3Store)

    assert keys_in(moto, bucket) == sorted(ODD_KEYS)
    for key in ODD_KEYS:
        body = moto.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == key.encode()


def test_a_custom_output_with_an_empty_first_segment_keeps_it(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    notebook = write_notebook(
        tmp_path / "nb.ipynb",
        "import iota_container as iota\nprint(iota.upload(b'rows', 'custom'))",
        parameters="custom = ''",
    )
    params = write_params_document(
        tmp_path / "params",
        {"ipynb": f"s3://{bucket}/run/output.ipynb", "html": f"s3://{bucket}/run/output.html"},
        custom=f"s3://{bucket}//run/custom.csv",
    )

    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        env={"IOTA_PARAMS_PATH": str(params), **moto.client_env()},
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert keys_in(moto, bucket) == ["/run/custom.csv", "run/output.html", "run/output.ipynb"]


@pytest.mark.parametrize(
    "html", ["{root}/p/k?x=1#frag", "{root}/p/k#frag", "{root}/p/k?versionId=1", "{root}/p\tk"]
)
def test_a_key_that_would_change_is_refused_before_any_cell_runs(
    tmp_path: Path, moto: MotoServer, bucket: str, html: str
) -> None:
    marker = tmp_path / "a-cell-ran"
    notebook = write_notebook(tmp_path / "nb.ipynb", f"open({str(marker)!r}, 'w').close()")
    root = f"s3://{bucket}"
    params = write_params_document(
        tmp_path / "params", {"ipynb": f"{root}/p/out.ipynb", "html": html.format(root=root)}
    )

    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        env={"IOTA_PARAMS_PATH": str(params), **moto.client_env()},
        cwd=tmp_path,
    )

    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Context.OutputUris.html in "), last
    assert "Traceback" not in result.stderr
    assert not marker.exists()
    assert moto.object_writes() == []
    assert keys_in(moto, bucket) == []


def test_upload_refuses_a_key_with_a_query(moto: MotoServer, bucket: str) -> None:
    with pytest.raises(StorageError, match="drop them from the key"):
        put(b"x", f"s3://{bucket}/p/k?x=1")
    assert moto.object_writes() == []
