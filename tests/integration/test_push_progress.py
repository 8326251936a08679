"""The bytes a build shows pushed are the bytes it reports uploaded: the transfers of the
pushing phase, and nothing mounted, already there or pulled, for both backends against a
real registry (and, for the docker backend, the real Docker engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iota_container.image.auth import ChainedCredentials
from iota_container.image.docker_engine import DockerBackend
from iota_container.image.oci import OciBackend
from iota_container.image.registry import RegistryClient
from tests.docker_helpers import Anonymous, build_spec, unique_target
from tests.oci_helpers import RecordingProgress, make_spec, push_base, write_notebook
from tests.registry import RegistryServer

pytestmark = pytest.mark.integration


def test_oci_push_progress_adds_up_to_the_bytes_uploaded(
    registry: RegistryServer, tmp_path: Path
) -> None:
    anonymous = ChainedCredentials([])
    push_base(RegistryClient(registry.address, anonymous), "progress/base", "1")
    spec = make_spec(
        write_notebook(tmp_path / "a.ipynb"),
        f"{registry.address}/progress/oci:v1",
        f"{registry.address}/progress/base:1",  # its layers are mounted, not sent
    )
    progress = RecordingProgress()

    result = OciBackend().build_and_push(spec, anonymous, progress)

    assert progress.phases == ["pushing"]
    assert result.bytes_uploaded > 0
    assert progress.bytes_sent_in("pushing") == result.bytes_uploaded

    # Built again: the registry has every blob, so only the manifest goes, and is shown.
    again = RecordingProgress()
    second = OciBackend().build_and_push(spec, anonymous, again)
    assert {label for label, _, _ in again.transfers} == {"image manifest"}
    assert again.bytes_sent_in("pushing") == second.bytes_uploaded > 0


def test_docker_push_progress_adds_up_to_the_bytes_uploaded(
    registry: RegistryServer, base_image: str, docker_client: Any, tmp_path: Path
) -> None:
    target = unique_target(registry, "progress/docker")
    spec = build_spec(write_notebook(tmp_path / "a.ipynb"), target, base_image)
    progress = RecordingProgress()
    try:
        result = DockerBackend().build_and_push(spec, Anonymous(), progress)
        again = RecordingProgress()
        second = DockerBackend().build_and_push(spec, Anonymous(), again)
    finally:
        docker_client.images.remove(str(target), force=True)

    assert progress.phases == ["pushing"]
    assert result.bytes_uploaded > 0
    assert progress.bytes_sent_in("pushing") == result.bytes_uploaded
    # Every layer is in the registry already: nothing sent, nothing shown as pushed.
    assert again.bytes_sent_in("pushing") == second.bytes_uploaded == 0
