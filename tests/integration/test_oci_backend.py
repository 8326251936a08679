"""The daemonless backend against real registries: a tiny base image is pushed by hand (no
Docker), the analysis image is built onto it, and what reaches the registry is read back."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from iota_container.environment.options import PackageOptions
from iota_container.image.auth import ChainedCredentials, StaticCredentials
from iota_container.image.layer import analysis_layer
from iota_container.image.media_types import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST
from iota_container.image.metadata import (
    ANALYSIS_DIR,
    KERNEL_LABEL,
    LOCK_LABEL,
    NOTEBOOK_LABEL,
    VARIABLES_LABEL,
)
from iota_container.image.oci import OciBackend
from iota_container.image.reference import ImageReference
from iota_container.image.registry import RegistryClient, RegistryError
from iota_container.image.spec import BuildResult, BuildSpec, CredentialSource
from tests.oci_helpers import (
    PushedImage,
    RecordingProgress,
    make_spec,
    push_base,
    write_notebook,
)
from tests.registry import RegistryServer, TlsFiles
from tests.servers import free_port
from tests.support import REGISTRY_USER

pytestmark = pytest.mark.integration

ANONYMOUS = ChainedCredentials([])


@pytest.fixture(autouse=True)
def no_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> PushedImage:
    return push_base(RegistryClient(registry.address, ANONYMOUS), "base/tiny", "1")


def build(
    spec: BuildSpec, credentials: CredentialSource = ANONYMOUS, **backend: Any
) -> BuildResult:
    return OciBackend(**backend).build_and_push(spec, credentials, RecordingProgress())


def tiny_spec(registry: RegistryServer, notebook: Path, target: str) -> BuildSpec:
    """Building `target` (REPO:TAG in `registry`) onto the module's base/tiny:1."""
    return make_spec(notebook, f"{registry.address}/{target}", f"{registry.address}/base/tiny:1")


def manifest_of(client: RegistryClient, repository: str, reference: str) -> dict[str, Any]:
    body, media_type, _ = client.get_manifest(repository, reference)
    assert media_type == OCI_MANIFEST
    manifest: dict[str, Any] = json.loads(body)
    return manifest


def pushed_bytes(client: RegistryClient, repository: str, reference: str) -> int:
    """What a push that sent only the analysis layer, the config and the manifest weighs."""
    body, _, _ = client.get_manifest(repository, reference)
    manifest = json.loads(body)
    return int(manifest["layers"][-1]["size"]) + int(manifest["config"]["size"]) + len(body)


def test_same_notebook_and_base_give_the_same_digest_and_a_rebuild_sends_only_the_manifest(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb")
    first = build(tiny_spec(registry, notebook, "analysis/repro:1"))
    again = build(tiny_spec(registry, notebook, "analysis/repro:1"))
    elsewhere = build(tiny_spec(registry, notebook, "analysis/repro-twin:2"))

    assert first.digest == again.digest == elsewhere.digest
    assert first.reference == f"{registry.address}/analysis/repro@{first.digest}"
    assert (first.blobs_uploaded, first.blobs_reused) == (2, 2)
    client = RegistryClient(registry.address, ANONYMOUS)
    manifest, _, _ = client.get_manifest("analysis/repro", "1")
    assert (again.blobs_uploaded, again.blobs_reused) == (0, 4)
    assert again.bytes_uploaded == len(manifest)
    assert client.get_manifest("analysis/repro-twin", "2")[0] == manifest


def test_first_push_to_a_new_repository_mounts_the_base_layers(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb", "x = 1")
    result = build(tiny_spec(registry, notebook, "analysis/mounted:1"))
    client = RegistryClient(registry.address, ANONYMOUS)
    assert (result.blobs_uploaded, result.blobs_reused) == (2, 2)
    assert result.bytes_uploaded == pushed_bytes(client, "analysis/mounted", "1")
    assert result.bytes_uploaded < sum(base.layer_sizes) / 100
    for layer in base.layer_digests:
        assert client.blob_exists("analysis/mounted", layer)


def test_a_one_cell_edit_sends_the_notebook_layer_config_and_manifest(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb", "threshold = 25")
    spec = tiny_spec(registry, notebook, "analysis/edited:1")
    before = build(spec)
    write_notebook(notebook, "threshold = 30")
    after = build(spec)
    client = RegistryClient(registry.address, ANONYMOUS)
    assert after.digest != before.digest
    assert (after.blobs_uploaded, after.blobs_reused) == (2, 2)
    assert after.bytes_uploaded == pushed_bytes(client, "analysis/edited", "1")


def test_the_image_describes_itself_in_labels_annotations_env_and_files(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb")
    spec = tiny_spec(registry, notebook, "analysis/labelled:1")
    result = build(spec)
    client = RegistryClient(registry.address, ANONYMOUS)
    manifest = manifest_of(client, "analysis/labelled", result.digest)
    labels = spec.metadata.labels()

    annotations = manifest["annotations"]
    assert {k: annotations[k] for k in labels} == labels
    assert annotations["org.opencontainers.image.base.name"] == str(spec.base)
    assert annotations["org.opencontainers.image.base.digest"] == base.manifest_digest
    assert manifest["config"]["mediaType"] == OCI_CONFIG
    assert [layer["digest"] for layer in manifest["layers"][:-1]] == base.layer_digests

    config = json.loads(client.get_blob("analysis/labelled", manifest["config"]["digest"]))
    assert config["config"]["Labels"] == {"base": "1", **labels}
    assert json.loads(config["config"]["Labels"][VARIABLES_LABEL])[0]["name"] == "threshold"
    assert config["config"]["Labels"][KERNEL_LABEL] == "python3"
    assert config["config"]["Env"] == [
        "PATH=/usr/bin:/bin",
        f"NOTEBOOK_PATH={ANALYSIS_DIR}/report.ipynb",
        "KERNEL_NAME=python3",
    ]
    assert config["config"]["User"] == "1000"  # the base's, untouched
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert len(config["rootfs"]["diff_ids"]) == len(base.layer_digests) + 1

    layer = client.get_blob("analysis/labelled", manifest["layers"][-1]["digest"])
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as archive:
        stored = archive.extractfile(f"{ANALYSIS_DIR.lstrip('/')}/report.ipynb")
        assert stored is not None and stored.read() == notebook.read_bytes()
        metadata = archive.extractfile(f"{ANALYSIS_DIR.lstrip('/')}/.iota-container.json")
        assert metadata is not None
        assert json.loads(metadata.read())["notebook_path"] == labels[NOTEBOOK_LABEL]


def test_a_docker_schema_2_base_gives_an_oci_image_of_the_same_blobs(
    registry: RegistryServer, tmp_path: Path
) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    docker_base = push_base(client, "base/docker", "1", docker_types=True)
    notebook = write_notebook(tmp_path / "report.ipynb")
    result = build(
        make_spec(
            notebook,
            f"{registry.address}/analysis/from-docker:1",
            f"{registry.address}/base/docker:1",
        )
    )
    manifest = manifest_of(client, "analysis/from-docker", result.digest)
    assert {layer["mediaType"] for layer in manifest["layers"]} == {OCI_LAYER_GZIP}
    assert [layer["digest"] for layer in manifest["layers"][:-1]] == docker_base.layer_digests
    assert (result.blobs_uploaded, result.blobs_reused) == (2, 2)


def test_a_base_in_the_same_repository_is_only_looked_up(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb", "same = 'repository'")
    result = build(tiny_spec(registry, notebook, "base/tiny:analysis"))
    assert (result.blobs_uploaded, result.blobs_reused) == (2, 2)


def test_a_base_in_another_registry_is_copied_in_chunks(
    registry: RegistryServer, auth_registry: RegistryServer, registry_tls: TlsFiles, tmp_path: Path
) -> None:
    user, password = REGISTRY_USER
    credentials = StaticCredentials(auth_registry.address, user, password)
    source = RegistryClient(
        auth_registry.address, credentials, ca_bundle=str(registry_tls.certificate)
    )
    remote_base = push_base(source, "base/remote", "1")
    notebook = write_notebook(tmp_path / "report.ipynb")
    spec = make_spec(
        notebook, f"{registry.address}/analysis/copied:1", f"{auth_registry.address}/base/remote:1"
    )
    progress = RecordingProgress()
    backend = OciBackend(ca_bundle=str(registry_tls.certificate), chunk_size=256 * 1024)
    result = backend.build_and_push(spec, credentials, progress)

    target = RegistryClient(registry.address, ANONYMOUS)
    assert (result.blobs_uploaded, result.blobs_reused) == (4, 0)
    assert result.bytes_uploaded == sum(remote_base.layer_sizes) + pushed_bytes(
        target, "analysis/copied", "1"
    )
    big = remote_base.layer_digests[1]
    assert target.get_blob("analysis/copied", big) == source.get_blob("base/remote", big)
    # The 1 MiB layer went over in 256 KiB chunks, with progress for each.
    assert len([t for t in progress.transfers if t[0] == f"base layer {big[:19]}"]) >= 5
    assert any(step.startswith("copying base layer") for step in progress.steps)


def test_an_interrupted_push_is_resumed_without_sending_what_arrived(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb", "resumed = True")
    spec = tiny_spec(registry, notebook, "analysis/resumed:1")
    # What a push cut off after the analysis layer leaves behind: that blob, and no tag.
    layer = analysis_layer(spec.notebook_name, notebook.read_bytes(), spec.metadata)
    client = RegistryClient(registry.address, ANONYMOUS)
    client.upload_blob("analysis/resumed", layer.data, layer.digest)

    result = build(spec)
    assert (result.blobs_uploaded, result.blobs_reused) == (1, 3)  # only the config went
    manifest = manifest_of(client, "analysis/resumed", "1")
    assert manifest["layers"][-1]["digest"] == layer.digest
    assert result.bytes_uploaded == int(manifest["config"]["size"]) + len(
        client.get_manifest("analysis/resumed", "1")[0]
    )


def test_a_build_that_fails_halfway_leaves_the_tag_where_it_was(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb", "kept = True")
    target = f"{registry.address}/analysis/kept:1"
    good = build(make_spec(notebook, target, f"{registry.address}/base/tiny:1"))
    client = RegistryClient(registry.address, ANONYMOUS)
    broken = push_base(client, "base/broken", "1")
    # The registry loses a layer of the base: the next build cannot copy it and must stop.
    answer = requests.delete(
        f"{registry.url}/v2/base/broken/blobs/{broken.layer_digests[1]}", timeout=10
    )
    assert answer.status_code == 202

    write_notebook(notebook, "kept = False")
    with pytest.raises(RegistryError) as error:
        build(make_spec(notebook, target, f"{registry.address}/base/broken:1"))
    assert broken.layer_digests[1] in str(error.value) and "\n" not in str(error.value)
    assert client.get_manifest("analysis/kept", "1")[2] == good.digest
    # The upload opened for the lost layer was cancelled, not left to expire: the registry's
    # filesystem storage marks an open upload with a `startedat` file.
    repository = registry.log.parent / f"storage-{registry.port}/docker/registry/v2/repositories"
    assert (repository / "analysis/kept").is_dir()
    assert not list((repository / "analysis/kept").glob("_uploads/*/startedat"))


def test_a_missing_base_is_one_line_naming_it(registry: RegistryServer, tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb")
    with pytest.raises(RegistryError) as error:
        build(
            make_spec(
                notebook, f"{registry.address}/analysis/x:1", f"{registry.address}/base/missing:1"
            )
        )
    assert str(error.value) == (
        f"base image {registry.address}/base/missing:1 does not exist: "
        "push it or choose another --base"
    )


def test_an_unreachable_registry_is_one_line_naming_it(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    notebook = write_notebook(tmp_path / "report.ipynb")
    with pytest.raises(RegistryError) as error:
        build(make_spec(notebook, f"{address}/analysis/x:1", f"{address}/base/tiny:1"))
    assert str(error.value).startswith(f"registry {address} is unreachable")
    assert "\n" not in str(error.value)


def test_refused_credentials_are_named_without_the_secret(
    auth_registry: RegistryServer, registry_tls: TlsFiles, tmp_path: Path
) -> None:
    user, _ = REGISTRY_USER
    wrong = StaticCredentials(auth_registry.address, user, "not-the-password")
    notebook = write_notebook(tmp_path / "report.ipynb")
    spec = make_spec(
        notebook, f"{auth_registry.address}/analysis/x:1", f"{auth_registry.address}/base/remote:1"
    )
    with pytest.raises(RegistryError) as error:
        build(spec, wrong, ca_bundle=str(registry_tls.certificate))
    message = str(error.value)
    assert message.startswith(
        f"registry {auth_registry.address} refused the credentials for base/remote"
    )
    assert "not-the-password" not in message and "\n" not in message


def test_a_repository_name_the_registry_rejects(
    registry: RegistryServer, base: PushedImage, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "report.ipynb")
    spec = tiny_spec(registry, notebook, "analysis/x:1")
    # The name grammar of parse_reference would stop this earlier; the registry's own check
    # is what is tested here.
    rejected = BuildSpec(
        spec.notebook, spec.metadata, ImageReference(registry.address, "bad/-name", "1"), spec.base
    )
    with pytest.raises(RegistryError) as error:
        build(rejected)
    assert str(error.value).startswith(
        f"registry {registry.address} rejects the repository name 'bad/-name'"
    )


def test_a_requirements_file_becomes_a_dependency_layer_for_the_described_platform(
    registry: RegistryServer,
    base: PushedImage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pip resolves and fetches the wheel for CPython 3.11 on linux/amd64 (the tiny base
    has no environment label, so --python-version describes it), installer lays it out
    in the base's venv, and the lock label pins what was installed, with its hash."""
    monkeypatch.setenv("IOTA_CACHE_DIR", str(tmp_path / "cache"))
    notebook = write_notebook(tmp_path / "report.ipynb")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.17.0\n")
    spec = make_spec(notebook, f"{registry.address}/analysis/six:1", base_reference(registry))
    spec = replace(
        spec, packages=PackageOptions(requirements_file=requirements, python_version="3.11")
    )
    result = build(spec)
    client = RegistryClient(registry.address, ANONYMOUS)
    manifest = manifest_of(client, "analysis/six", "1")
    dependency = manifest["layers"][-2]
    files = layer_files(client, "analysis/six", dependency["digest"])
    site = "opt/iota/lib/python3.11/site-packages"
    assert b"Benjamin Peterson" in files[f"{site}/six.py"]
    assert files[f"{site}/six-1.17.0.dist-info/INSTALLER"] == b"iota-container\n"
    lock = json.loads(manifest["annotations"][LOCK_LABEL])
    (pin,) = lock["distributions"]
    assert (pin["distribution"], pin["version"]) == ("six", "1.17.0")
    assert len(pin["sha256"]) == 64 and pin["wheel"].startswith("six-1.17.0-")
    assert result.distributions == ("six==1.17.0",)
    assert result.dependency_layer_size == dependency["size"]


def base_reference(registry: RegistryServer) -> str:
    return f"{registry.address}/base/tiny:1"


def layer_files(client: RegistryClient, repository: str, digest: str) -> dict[str, bytes]:
    data = b"".join(client.blob_chunks(repository, digest))
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as archive:
        return {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }
