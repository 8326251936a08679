"""The daemonless build backend (`--backend oci`): adds to a base image, directly in the
target registry and with no Docker engine, a dependency layer (the notebook's packages,
installed for the base's platform on this machine: environment/packages.py) when the
notebook needs any, and a layer holding the notebook, the files beside it and its metadata.

Only what the target repository lacks is sent: each base layer is looked up first (HEAD),
then mounted from the base's repository when both live in the same registry, and copied
(streamed, chunk by chunk) only when the base lives in another registry or the mount is
refused. The manifest goes last, under the tag: a build that fails on the way leaves the tag
where it was, and blobs already sent are found by the next run's HEAD."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import requests

from iota_container.environment.dependency_layer import DependencyLayer
from iota_container.environment.layer_cache import LayerCache
from iota_container.environment.lock import Lock
from iota_container.environment.packages import (
    PackagePlan,
    dependency_layer,
    plan_packages,
    target_platform,
    verify_image,
)
from iota_container.environment.platform import ENVIRONMENT_LABEL, base_environment
from iota_container.environment.python_env import PythonEnvironment
from iota_container.errors import NotebookError
from iota_container.image.layer import Layer, analysis_layer, sha256_digest, source_date_epoch
from iota_container.image.media_types import OCI_MANIFEST
from iota_container.image.metadata import ANALYSIS_DIR, ImageMetadata
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


class OciBackend:
    name: ClassVar[str] = "oci"

    def __init__(
        self,
        ca_bundle: str | None = None,
        plain_http: bool | None = None,
        session: requests.Session | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float | None = None,
    ) -> None:
        self.ca_bundle = ca_bundle
        self.plain_http = plain_http
        self.session = session
        self.chunk_size = chunk_size
        self.timeout = timeout

    def build_and_push(
        self, spec: BuildSpec, credentials: CredentialSource, progress: Progress
    ) -> BuildResult:
        started = time.perf_counter()
        notebook = _read_notebook(spec.notebook)
        target = self._client(spec.target.registry, credentials)
        source = (
            target
            if spec.base.registry == spec.target.registry
            else self._client(spec.base.registry, credentials)
        )
        progress.step(f"reading base image {spec.base}")
        base = _read_base(source, spec.base)
        base_env = base_environment(_labels(base.config))
        packages = _packages(spec, base_env, progress)
        metadata = replace(spec.metadata, lock=packages.lock)
        layers = [*packages.layers, analysis_layer_of(spec, notebook, metadata, packages.plan)]
        created = timestamp(source_date_epoch())
        config = serialize(
            analysis_config(
                base.config,
                [(layer, added) for layer, added in zip(layers, packages.history(spec))],
                labels=metadata.labels(),
                env=_environment(spec),
                created=created,
                # The base's own description is for builds FROM it; in every analysis
                # image's config it would be kilobytes pushed again for nothing.
                dropped_labels=(ENVIRONMENT_LABEL,),
            )
        )
        config_digest = sha256_digest(config)
        annotations = {
            **metadata.labels(),
            BASE_NAME_ANNOTATION: str(spec.base),
            BASE_DIGEST_ANNOTATION: base.digest,
        }
        manifest = image_manifest(config, config_digest, _layers(base), layers, annotations)

        pusher = _BlobPusher(target, spec.target.repository, progress)
        progress.phase("pushing")
        progress.step(f"pushing blobs to {spec.target.name}")
        for descriptor in _layers(base):
            pusher.ensure_base_layer(source, spec.base.repository, descriptor)
        cache = LayerCache()
        dependency = packages.dependency
        if dependency is not None:
            mount_from = cache.pushed_to(dependency.cache_key, spec.target.registry)
            pusher.ensure(dependency.layer.data, dependency.layer.digest, "dependency layer",
                          mount_from)  # fmt: skip
        pusher.ensure(layers[-1].data, layers[-1].digest, f"layer {spec.notebook_name}")
        pusher.ensure(config, config_digest, "image config")
        reference = spec.target.tag or sha256_digest(manifest)
        progress.step(f"pushing manifest {spec.target.name}:{reference}")
        digest = target.put_manifest(spec.target.repository, reference, manifest, OCI_MANIFEST)
        # Counted in bytes_uploaded, so the bytes shown pushed add up to it.
        progress.transfer("image manifest", len(manifest), len(manifest))
        if dependency is not None:
            cache.record_push(dependency.cache_key, spec.target.registry, spec.target.repository)
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
            distributions=tuple(p.requirement for p in packages.lock.pins) if packages.lock else (),
            dependency_layer_size=dependency.layer.size if dependency else 0,
            dependency_installed_size=dependency.installed_size if dependency else 0,
        )

    def _client(self, registry: str, credentials: CredentialSource) -> RegistryClient:
        return RegistryClient(
            registry,
            credentials,
            ca_bundle=self.ca_bundle,
            plain_http=self.plain_http,
            session=self.session,
            chunk_size=self.chunk_size,
            timeout=self.timeout,
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

    def ensure(self, data: bytes, digest: str, label: str, mount_from: Iterable[str] = ()) -> None:
        """Upload a blob unless the repository has it, or can mount it from a repository
        of the same registry that has it."""
        if self._present(digest):
            return
        for repository in mount_from:
            if repository != self.repository and self.target.mount_blob(
                self.repository, digest, repository
            ):
                self.tally.blobs_reused += 1
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


@dataclass(frozen=True)
class _Packages:
    plan: PackagePlan
    dependency: DependencyLayer | None

    @property
    def lock(self) -> Lock | None:
        if self.dependency is not None:
            return self.dependency.lock
        return None if self.plan.empty else self.plan.lock

    @property
    def layers(self) -> list[Layer]:
        return [self.dependency.layer] if self.dependency is not None else []

    def history(self, spec: BuildSpec) -> list[str]:
        added = [] if self.dependency is None else [
            f"install {len(self.dependency.lock.pins)} distributions (iota-container lock)"
        ]  # fmt: skip
        files = "".join(f" {f.relative}" for f in self.plan.local_files)
        return [*added, f"COPY {spec.notebook_name}{files} {ANALYSIS_DIR}/"]


def _packages(spec: BuildSpec, base: PythonEnvironment | None, progress: Progress) -> _Packages:
    """Plan the image's packages against the base, build (or reuse) their layer, and check
    the image they make before anything is pushed."""
    progress.step("detecting the notebook's packages")
    plan = plan_packages(
        spec.notebook, spec.document or {}, spec.metadata.kernel, spec.packages, base
    )
    dependency = None
    if not plan.empty:
        platform = target_platform(spec.packages, base, str(spec.base))
        dependency = dependency_layer(plan, platform, base, source_date_epoch(), progress.step)
    verify_image(plan, base, dependency, str(spec.target))
    return _Packages(plan, dependency)


def analysis_layer_of(
    spec: BuildSpec, notebook: bytes, metadata: ImageMetadata, plan: PackagePlan
) -> Layer:
    beside = {}
    for file in plan.local_files:
        path = plan.notebook_folder / file.relative
        try:
            beside[file.relative] = path.read_bytes()
        except OSError as e:
            raise NotebookError(
                f"file {str(path)!r} beside the notebook cannot be read ({e.strerror or e}): "
                "fix its permissions, or move it away"
            ) from e
    return analysis_layer(spec.notebook_name, notebook, metadata, beside=beside)


def _labels(config: Mapping[str, Any]) -> dict[str, str]:
    return dict((config.get("config") or {}).get("Labels") or {})


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
