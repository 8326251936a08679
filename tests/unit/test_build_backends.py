"""The build backend registry: docker and oci built in, others registered by name or
found through the `iota_container.build_backends` entry point group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest

from iota_container.containerize import Containerize, ContainerizeError, check_request
from iota_container.errors import IotaError
from iota_container.image import backends
from iota_container.image.backends import (
    ENTRY_POINT_GROUP,
    BackendSettings,
    backend_for,
    backend_names,
    register_backend,
)
from iota_container.image.build import BuildOptions, choose_backend
from iota_container.image.docker_engine import DockerBackend
from iota_container.image.oci import OciBackend
from iota_container.image.spec import BuildResult, BuildSpec, CredentialSource, Progress
from tests.notebooks import write_notebook


class RecordingBackend:
    name: ClassVar[str] = "recording"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    def build_and_push(
        self, spec: BuildSpec, credentials: CredentialSource, progress: Progress
    ) -> BuildResult:
        raise NotImplementedError


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_factories", {})


def test_docker_and_oci_are_built_in_by_name(tmp_path: Path) -> None:
    settings = BackendSettings(ca_bundle=None, plain_http=True, registry_timeout=7.0)
    oci = backend_for("oci", settings)
    assert isinstance(oci, OciBackend)
    assert (oci.plain_http, oci.timeout) == (True, 7.0)
    assert isinstance(backend_for("docker", settings), DockerBackend)
    assert backend_names()[:2] == ("docker", "oci")


def test_without_an_engine_the_automatic_choice_is_oci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    options = BuildOptions(notebook=tmp_path / "a.ipynb", repository="localhost:5000/a")
    assert isinstance(choose_backend(options), OciBackend)


def test_a_registered_backend_is_chosen_by_name_with_the_build_settings(
    clean_registry: None, tmp_path: Path
) -> None:
    register_backend("recording", RecordingBackend)
    options = BuildOptions(
        notebook=tmp_path / "a.ipynb",
        repository="localhost:5000/a",
        backend="recording",
        ca_bundle=tmp_path / "ca.pem",
    )
    chosen = choose_backend(options)
    assert isinstance(chosen, RecordingBackend)
    assert chosen.settings.ca_bundle == tmp_path / "ca.pem"
    assert "recording" in backend_names()


def test_an_entry_point_backend_is_found_by_its_name(
    clean_registry: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An installed distribution's entry point, as importlib.metadata reads it off sys.path."""
    (tmp_path / "kaniko_backend.py").write_text(
        "class KanikoBackend:\n"
        "    name = 'kaniko'\n"
        "    def __init__(self, settings):\n"
        "        self.settings = settings\n"
    )
    info = tmp_path / "kaniko_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kaniko-backend\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nkaniko = kaniko_backend:KanikoBackend\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "kaniko" in backend_names()
    chosen = backend_for("kaniko", BackendSettings())
    assert type(chosen).__name__ == "KanikoBackend"
    monkeypatch.delitem(sys.modules, "kaniko_backend")


def test_an_unknown_backend_names_the_known_ones_and_the_entry_point_group(
    clean_registry: None,
) -> None:
    with pytest.raises(IotaError) as refused:
        backend_for("podman", BackendSettings())
    assert str(refused.value) == (
        "--backend 'podman' is unknown: use docker or oci, or install the package that "
        f"registers it (entry point group {ENTRY_POINT_GROUP})"
    )


def test_the_wizard_accepts_a_registered_backend(clean_registry: None, tmp_path: Path) -> None:
    request = Containerize(
        notebook=write_notebook(tmp_path / "nb.ipynb", "rows = 3"),
        name="temp-daily",
        repository="localhost:5000/team/temp",
        definition_path=tmp_path / "temp.dataset.yaml",
        backend="recording",
    )
    with pytest.raises(ContainerizeError, match="backend 'recording' is unknown"):
        check_request(request)
    register_backend("recording", RecordingBackend)
    check_request(request)
