"""The runtime closes the stores it uploaded through: after `run_analysis` the S3 store's
transfer threads are gone and the store refuses more work. In process (a real kernel,
moto in its own process), so the store the run used can be looked at afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from iota_container import storage
from iota_container.errors import StorageError
from iota_container.params_file import PARAMS_PATH_ENV, template_params, write_params
from iota_container.runtime import RunOptions, run_analysis
from iota_container.storage.uri import parse_output_uri
from tests.notebooks import write_notebook
from tests.servers import MotoServer
from tests.stores import recorded_s3_stores

pytestmark = pytest.mark.integration


def test_a_run_closes_the_s3_store_it_uploaded_through(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bucket = moto.new_bucket("run-closes")
    made = recorded_s3_stores(moto, monkeypatch)
    monkeypatch.setenv(PARAMS_PATH_ENV, "unset")  # the run sets it for its kernel
    notebook = write_notebook(
        tmp_path / "nb.ipynb", "print(greeting)", parameters="greeting = 'default'"
    )
    params = write_params(
        template_params(f"s3://{bucket}/run", {"greeting": "hi"}), tmp_path / "params"
    )
    before = set(threading.enumerate())

    result = run_analysis(RunOptions(params_path=str(params), notebook=str(notebook)))

    assert result.status == "SUCCEEDED"
    assert len(made) == 1 and not storage._stores
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]
    with pytest.raises(StorageError, match="this S3 store is closed"):
        made[0].put(b"late", parse_output_uri(f"s3://{bucket}/late.txt"))
    keys = {o["Key"] for o in moto.s3().list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"run/output.ipynb", "run/output.html"}
