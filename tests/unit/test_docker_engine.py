"""The docker backend's pure parts: the generated Dockerfile, its quoting, and reading the
engine's streams. The integration tests run all of it against a real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iota_container.image.docker_stream import BuildLog, PushTally
from iota_container.image.dockerfile import (
    DockerfileError,
    dockerfile_quote,
    render_dockerfile,
    split_labels,
)
from iota_container.image.reference import parse_reference
from tests.docker_helpers import build_spec
from tests.oci_helpers import RecordingProgress

TARGET = parse_reference("127.0.0.1:5000/team/analysis:v1")


def test_quote_escapes_what_env_and_label_would_expand() -> None:
    assert dockerfile_quote('a "b" $HOME \\ c') == '"a \\"b\\" \\$HOME \\\\ c"'
    with pytest.raises(DockerfileError, match="control character"):
        dockerfile_quote("two\nlines")


def test_labels_a_dockerfile_cannot_spell_go_with_the_request() -> None:
    in_file, in_request = split_labels({"a": "one line", "b": "two\nlines"})
    assert (in_file, in_request) == ({"a": "one line"}, {"b": "two\nlines"})


def test_dockerfile_without_requirements_copies_the_notebook_last() -> None:
    spec = build_spec(Path("my notebook.ipynb"), TARGET, "iota-container/base:test")
    dockerfile = render_dockerfile(
        spec, "iota", {"io.x": "$1"}, with_ca_bundle=False, with_requirements=False
    )
    assert dockerfile.splitlines()[1:] == [
        "FROM docker.io/iota-container/base:test",
        'ENV NOTEBOOK_PATH="/home/iota/analysis/my notebook.ipynb" \\',
        '    KERNEL_NAME="python3"',
        'LABEL io.x="\\$1"',
        "COPY --chown=1000:1000 analysis/ /home/iota/analysis/",
    ]


def test_install_step_runs_as_root_and_trusts_the_ca_bundle_only_there() -> None:
    spec = build_spec(Path("a.ipynb"), TARGET, "base:1", requirements=Path("req.txt"))
    lines = render_dockerfile(
        spec, "iota", {}, with_ca_bundle=True, with_requirements=True
    ).splitlines()
    assert lines[2:4] == ["USER root", "COPY requirements.txt extra-ca.pem /tmp/iota-build/"]
    assert "export SSL_CERT_FILE=/tmp/iota-build/pip-ca.pem" in lines[4]
    assert lines[4].endswith("python -m pip check; cd /; rm -rf /tmp/iota-build")
    assert lines[5] == "USER iota"


def test_build_log_joins_split_lines_and_keeps_the_failing_step_output() -> None:
    progress = RecordingProgress()
    log = BuildLog(progress)
    for text in ["Step 3/5 : RUN pip", " install x\n", " ---> Running in 1\n", "ERROR: no x\n"]:
        log.feed({"stream": text})
    log.feed({"errorDetail": {"message": "The command returned a non-zero code: 1"}})
    assert progress.steps == ["Step 3/5 : RUN pip install x", " ---> Running in 1", "ERROR: no x"]
    assert (log.step, list(log.tail)) == ("step 3/5 `RUN pip install x`", ["ERROR: no x"])
    assert log.error == "The command returned a non-zero code: 1"


def test_push_tally_counts_pushed_and_reused_layers_and_keeps_the_digest() -> None:
    tally = PushTally(RecordingProgress())
    chunks: list[dict[str, Any]] = [
        {"status": "Pushing", "id": "a", "progressDetail": {"current": 700, "total": 500}},
        {"status": "Pushed", "id": "a"},
        {"status": "Layer already exists", "id": "b"},
        {"status": "Mounted from other/repo", "id": "c"},
        {"aux": {"Tag": "v1", "Digest": "sha256:" + "0" * 64, "Size": 1}},
    ]
    for chunk in chunks:
        tally.feed(chunk)
    assert (tally.blobs_uploaded, tally.bytes_uploaded, tally.blobs_reused) == (1, 700, 2)
    assert tally.digest == "sha256:" + "0" * 64
