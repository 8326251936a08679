"""`iota-container run` end to end on the host: real kernels, a real S3 endpoint (moto
server in its own process, reached through boto3's standard AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from iota_container.params_file import template_params, write_params
from tests.notebooks import PLOT_CELL, write_notebook
from tests.plots import cell_png, report_cell_png
from tests.servers import FlakyS3Proxy, MotoServer, header
from tests.support import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    return moto.new_bucket("out")


def params_for(tmp_path: Path, root: str, **variables: Any) -> Path:
    return write_params(template_params(root, variables), tmp_path / "params")


def read_object(moto: MotoServer, uri: str) -> bytes:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return bytes(moto.s3().get_object(Bucket=bucket, Key=key)["Body"].read())


def assert_every_write_has_the_acl(moto: MotoServer, expected_writes: int) -> list[dict[str, Any]]:
    writes = moto.object_writes()
    assert len(writes) == expected_writes, [w["url"] for w in writes]
    for write in writes:
        assert header(write, "x-amz-acl") == "bucket-owner-full-control", (
            write["operation"],
            write["url"],
        )
    return writes


def test_run_uploads_notebook_report_and_custom_output(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    notebook = write_notebook(
        tmp_path / "analysis.ipynb",
        "import iota_container as iota\np = iota.params()\n"
        "print('threshold is', threshold, type(threshold).__name__)",
        PLOT_CELL,
        "print('uploaded', iota.upload(b'a,b\\n1,2\\n', 'custom_output'))",
        "print('unassigned', p.variable('only_in_params'))",
        parameters="threshold = 1.0\ncustom_output = 'file:///nowhere.csv'",
    )
    root = f"s3://{bucket}/run-1"
    params = params_for(
        tmp_path, root, threshold=2.5, custom_output=f"{root}/custom.csv", only_in_params="kept"
    )
    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        "--json",
        env={"IOTA_PARAMS_PATH": str(params), **moto.client_env()},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "SUCCEEDED"
    assert summary["outputs"] == {"ipynb": f"{root}/output.ipynb", "html": f"{root}/output.html"}

    executed = nbformat.reads(read_object(moto, f"{root}/output.ipynb").decode(), as_version=4)
    text = json.dumps(executed.cells)
    assert "threshold is 2.5 float" in text
    assert "unassigned kept" in text
    html = read_object(moto, f"{root}/output.html").decode()
    # the plot cell's own PNG, and the report embeds that very image in its output
    assert report_cell_png(html, executed, "plt.show()") == cell_png(executed, "plt.show()")
    assert read_object(moto, f"{root}/custom.csv") == b"a,b\n1,2\n"

    # ipynb, html and the custom output: three PutObjects, each with the ACL on the wire.
    assert_every_write_has_the_acl(moto, 3)
    # one log line per step, each with its duration
    for step in (
        "read params",
        "check outputs",
        "inject variables",
        "execute",
        "export html",
        "upload ipynb",
        "upload html",
    ):
        assert any(
            line.startswith(f"iota-container: {step}") and " in " in line
            for line in result.stderr.splitlines()
        ), step
    assert "cell 3 ran (4 of 6 code cells)" in result.stderr
    assert (
        "variable 'only_in_params' is not in the parameters cell; injected all the same"
        in result.stderr
    )


def test_failing_cell_still_uploads_and_exits_1(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    notebook = write_notebook(
        tmp_path / "fails.ipynb",
        "x = 1",
        "print('before')\nraise ValueError(f'bad reading {x}')",
        "print('never')",
    )
    root = f"s3://{bucket}/failed"
    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        env={"IOTA_PARAMS_PATH": str(params_for(tmp_path, root, x=41)), **moto.client_env()},
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cell 1 (In [2]) raised ValueError: bad reading 41"), last
    assert "Traceback" not in result.stderr
    executed = nbformat.reads(read_object(moto, f"{root}/output.ipynb").decode(), as_version=4)
    assert "Execution failed" in executed.cells[0].source
    assert "never" not in json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "ValueError" in read_object(moto, f"{root}/output.html").decode()
    assert_every_write_has_the_acl(moto, 2)


def test_multipart_upload_carries_the_acl(
    tmp_path: Path, moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import iota_container as iota
    from iota_container import storage

    for key, value in moto.client_env().items():
        monkeypatch.setenv(key, value)
    # One part at a time: moto's request recorder garbles lines written concurrently.
    monkeypatch.setenv("IOTA_S3_MAX_CONCURRENCY", "1")
    storage._stores.clear()  # a fresh client that sees this endpoint
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01" * (20 * 1024 * 1024))
    uri = iota.upload(big, f"s3://{bucket}/big/file.bin")
    assert uri == f"s3://{bucket}/big/file.bin"
    writes = assert_every_write_has_the_acl(moto, 1)
    assert writes[0]["operation"] == "CreateMultipartUpload"
    parts = [e for e in moto.recorded() if "partNumber=" in e["url"]]
    assert len(parts) == 3
    head = moto.s3().head_object(Bucket=bucket, Key="big/file.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024
    storage._stores.clear()


def test_throttled_puts_are_retried(tmp_path: Path, moto: MotoServer, bucket: str) -> None:
    proxy = FlakyS3Proxy(moto.endpoint, failures=3)
    try:
        notebook = write_notebook(tmp_path / "ok.ipynb", "v = 1")
        root = f"s3://{bucket}/throttled"
        env = {
            **moto.client_env(),
            "AWS_ENDPOINT_URL": proxy.endpoint,
            "IOTA_PARAMS_PATH": str(params_for(tmp_path, root)),
        }
        result = run_cli("run", "--notebook", str(notebook), env=env)
        assert result.returncode == 0, result.stderr
        assert proxy.refused == 3
        assert read_object(moto, f"{root}/output.html").startswith(b"<!DOCTYPE html>")
    finally:
        proxy.stop()


def test_missing_bucket_fails_before_running(tmp_path: Path, moto: MotoServer, bucket: str) -> None:
    notebook = write_notebook(tmp_path / "marker.ipynb", "open('ran.txt', 'w').write('ran')")
    params = params_for(tmp_path, "s3://no-such-bucket-here/out")
    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        env={"IOTA_PARAMS_PATH": str(params), **moto.client_env()},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: bucket 'no-such-bucket-here' does not exist "
        "(for s3://no-such-bucket-here/out/output.ipynb): "
        "create it, or fix the URI"
    )
    assert not (tmp_path / "ran.txt").exists()
    assert moto.object_writes() == []


def test_refused_credentials(tmp_path: Path, moto_with_auth: MotoServer) -> None:
    notebook = write_notebook(tmp_path / "marker.ipynb", "open('ran.txt', 'w').write('ran')")
    params = params_for(tmp_path, "s3://some-bucket/out")
    result = run_cli(
        "run",
        "--notebook",
        str(notebook),
        env={"IOTA_PARAMS_PATH": str(params), **moto_with_auth.client_env()},
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: AWS refused the credentials (InvalidClientTokenId)"), last
    assert "testing" not in result.stderr  # never print credentials
    assert not (tmp_path / "ran.txt").exists()


def test_debug_shows_the_traceback(tmp_path: Path, moto: MotoServer) -> None:
    params = params_for(tmp_path, "s3://no-such-bucket-here/out")
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1")
    result = run_cli(
        "--debug",
        "run",
        "--notebook",
        str(notebook),
        env={"IOTA_PARAMS_PATH": str(params), **moto.client_env()},
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "StorageError" in result.stderr
