"""The daemonless build backend (`--backend oci`): adds one layer holding the notebook and
its metadata to a base image, directly in the target registry, with no Docker engine.

Only what the target repository lacks is sent: each base layer is looked up first (HEAD),
then mounted from the base's repository when both live in the same registry, and copied
(streamed, chunk by chunk) only when the base lives in another registry or the mount is
refused. The manifest goes last, under the tag: a build that fails on the way leaves the tag
where it was, and blobs already sent are found by the next run's HEAD."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import requests

from iota_container.errors import IotaError, NotebookError
from iota_container.image.layer import analysis_layer, sha256_digest, source_date_epoch
from iota_container.image.media_types import OCI_MANIFEST
from iota_container.image.metadata import ANALYSIS_DIR
from iota_container.image.oci_image import (
    BASE_DIGEST_ANNOTATION,
    BASE_NAME_ANNOTATION,
    analysis_config,
    image_manifest,
    serialize,
    timestamp,
)
from iota_container.image.reference import ImageReference
from iota_container.image.registry import (
    DEFAULT_CHUNK_SIZE,
    ImageNotFound,
    RegistryClient,
    RegistryError,
    RemoteImage,
)
from iota_container.image.spec import BuildResult, BuildSpec, CredentialSource, Progress


class OciBuildError(IotaError):
    """A build this backend cannot do."""


class OciBackend:
    name: ClassVar[str] = "oci"

    def __init__(
        self,
        ca_bundle: str | None = None,
        plain_http: bool | None = None,
        session: requests.Session | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.ca_bundle = ca_bundle
        self.plain_http = plain_http
        self.session = session
        self.chunk_size = chunk_size

    def build_and_push(
        self, spec: BuildSpec, credentials: CredentialSource, progress: Progress
    ) -> BuildResult:
        started = time.perf_counter()
        if spec.requirements is not None:
            raise OciBuildError(
                f"--requirements {spec.requirements}: the oci backend cannot pip install (it "
                "runs no container); build with --backend docker, or install them in the base"
            )
        notebook = _read_notebook(spec.notebook)
        target = self._client(spec.target.registry, credentials)
        source = (
            target
            if spec.base.registry == spec.target.registry
            else self._client(spec.base.registry, credentials)
        )
        progress.step(f"reading base image {spec.base}")
        base = _read_base(source, spec.base)

        layer = analysis_layer(spec.notebook_name, notebook, spec.metadata)
        created = timestamp(source_date_epoch())
        config = serialize(
            analysis_config(
                base.config,
                layer,
                labels=spec.metadata.labels(),
                env=_environment(spec),
                added=f"COPY {spec.notebook_name} {ANALYSIS_DIR}/",
                created=created,
            )
        )
        config_digest = sha256_digest(config)
        annotations = {
            **spec.metadata.labels(),
            BASE_NAME_ANNOTATION: str(spec.base),
            BASE_DIGEST_ANNOTATION: base.digest,
        }
        manifest = image_manifest(config, config_digest, _layers(base), layer, annotations)

        pusher = _BlobPusher(target, spec.target.repository, progress)
        progress.step(f"pushing blobs to {spec.target.name}")
        for descriptor in _layers(base):
            pusher.ensure_base_layer(source, spec.base.repository, descriptor)
        pusher.ensure(layer.data, layer.digest, f"layer {spec.notebook_name}")
        pusher.ensure(config, config_digest, "image config")
        reference = spec.target.tag or sha256_digest(manifest)
        progress.step(f"pushing manifest {spec.target.name}:{reference}")
        digest = target.put_manifest(spec.target.repository, reference, manifest, OCI_MANIFEST)
        tally = pusher.tally
        return BuildResult(
            reference=spec.target.with_digest(digest).pinned(),
            digest=digest,
            tag=spec.target.tag,
            backend=self.name,
            bytes_uploaded=tally.bytes_uploaded + len(manifest),
            blobs_uploaded=tally.blobs_uploaded,
            blobs_reused=tally.blobs_reused,
            seconds=round(time.perf_counter() - started, 3),
        )

    def _client(self, registry: str, credentials: CredentialSource) -> RegistryClient:
        return RegistryClient(
            registry,
            credentials,
            ca_bundle=self.ca_bundle,
            plain_http=self.plain_http,
            session=self.session,
            chunk_size=self.chunk_size,
        )


@dataclass
class _Tally:
    bytes_uploaded: int = 0
    blobs_uploaded: int = 0
    blobs_reused: int = 0  # already in the target repository, or mounted into it


class _BlobPusher:
    """Puts blobs into one repository, sending only what it lacks."""

    def __init__(self, target: RegistryClient, repository: str, progress: Progress) -> None:
        self.target = target
        self.repository = repository
        self.progress = progress
        self.tally = _Tally()

    def ensure(self, data: bytes, digest: str, label: str) -> None:
        if self._present(digest):
            return
        self.target.upload_blob(self.repository, data, digest, label, self.progress)
        self._uploaded(len(data))

    def ensure_base_layer(
        self, source: RegistryClient, repository: str, descriptor: Mapping[str, Any]
    ) -> None:
        digest, size = str(descriptor["digest"]), int(descriptor["size"])
        if self._present(digest):
            return
        same_registry = source is self.target and repository != self.repository
        if same_registry and self.target.mount_blob(self.repository, digest, repository):
            self.tally.blobs_reused += 1
            return
        self.progress.step(f"copying base layer {digest[:19]} from {source.registry}/{repository}")
        chunks = source.blob_chunks(repository, digest)
        self.target.upload_blob_chunks(
            self.repository, chunks, size, digest, f"base layer {digest[:19]}", self.progress
        )
        self._uploaded(size)

    def _present(self, digest: str) -> bool:
        if self.target.blob_exists(self.repository, digest):
            self.tally.blobs_reused += 1
            return True
        return False

    def _uploaded(self, size: int) -> None:
        self.tally.blobs_uploaded += 1
        self.tally.bytes_uploaded += size


def _read_notebook(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise NotebookError(
            f"notebook {path} cannot be read ({e.strerror or e}): check the path"
        ) from e


def _read_base(client: RegistryClient, base: ImageReference) -> RemoteImage:
    try:
        return client.get_image(base.repository, base.digest or base.tag or "latest")
    except ImageNotFound as e:
        raise RegistryError(
            f"base image {base} does not exist: push it or choose another --base"
        ) from e


def _layers(base: RemoteImage) -> list[Mapping[str, Any]]:
    return list(base.manifest.get("layers") or [])


def _environment(spec: BuildSpec) -> dict[str, str]:
    """What the runtime reads to find the notebook and its kernel (`iota-container run`)."""
    env = {"NOTEBOOK_PATH": spec.notebook_path_in_image}
    if spec.metadata.kernel:
        env["KERNEL_NAME"] = spec.metadata.kernel
    return env
