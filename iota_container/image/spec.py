"""What a build gets and gives, shared by the build backends (docker engine, daemonless OCI)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, get_args

from iota_container.environment.options import PackageOptions
from iota_container.image.metadata import ANALYSIS_DIR, ImageMetadata
from iota_container.image.reference import ImageReference


@dataclass(frozen=True)
class RegistryCredentials:
    """Held in memory only: never logged, never written to disk."""

    username: str | None = None
    password: str | None = None
    identity_token: str | None = None  # an OAuth2 refresh token, as `docker login` may keep

    def __repr__(self) -> str:  # keeps secrets out of logs and tracebacks
        return f"RegistryCredentials(username={self.username!r}, password=<hidden>)"


class CredentialSource(Protocol):
    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        """Credentials for `registry` (host[:port]), or None for anonymous access."""


# Where a containerize job is, in order; a build alone goes as far as pushing. A reader
# of progress (the Jupyter UI) follows these names, never the wording of the steps.
Phase = Literal["checking", "building", "pushing", "registering", "done"]
PHASES: tuple[Phase, ...] = get_args(Phase)


class Progress(Protocol):
    def phase(self, name: Phase) -> None:
        """The job entered phase `name`; the transfers after it belong to that phase (a
        base image pulled while building is not bytes pushed)."""

    def step(self, message: str) -> None:
        """One line of status: 'mounting base layers', 'pushing manifest'."""

    def transfer(self, label: str, done: int, total: int) -> None:
        """Bytes of one blob or layer sent so far (called repeatedly)."""


@dataclass(frozen=True)
class BuildSpec:
    notebook: Path  # on the build machine
    metadata: ImageMetadata
    target: ImageReference
    base: ImageReference
    packages: PackageOptions = field(default_factory=PackageOptions)
    document: Mapping[str, Any] | None = None  # the parsed notebook, for package detection

    @property
    def notebook_name(self) -> str:
        return self.notebook.name

    @property
    def notebook_path_in_image(self) -> str:
        return f"{ANALYSIS_DIR}/{self.notebook.name}"


@dataclass(frozen=True)
class BuildResult:
    reference: str  # digest-pinned: REGISTRY/REPO@sha256:...
    digest: str
    tag: str | None
    backend: str
    bytes_uploaded: int
    blobs_uploaded: int
    blobs_reused: int  # already in the repository, or mounted from another one
    seconds: float
    distributions: tuple[str, ...] = ()  # NAME==VERSION the image adds to its base
    dependency_layer_size: int = 0  # compressed bytes (oci backend)
    dependency_installed_size: int = 0  # the same files uncompressed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class BuildBackend(Protocol):
    name: ClassVar[str]

    def build_and_push(
        self, spec: BuildSpec, credentials: CredentialSource, progress: Progress
    ) -> BuildResult:
        """Build the analysis image FROM `spec.base` and push it to `spec.target`."""
