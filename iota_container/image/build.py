"""`iota-container build`: notebook → self-describing image → registry, digest-pinned.

Chooses the backend (the Docker engine when one answers, else the daemonless OCI
backend), the credentials (options, then ECR, then the environment, then the Docker
config file; all in memory only), and makes sure an ECR repository exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iota_container.environment.options import PackageOptions
from iota_container.errors import IotaError, VariableError
from iota_container.image.metadata import ImageMetadata, InspectedImage
from iota_container.image.reference import ImageReference, is_ecr_registry, parse_reference
from iota_container.image.spec import (
    BuildBackend,
    BuildResult,
    BuildSpec,
    CredentialSource,
    Progress,
)
from iota_container.variables import Variable, check_variables, variable_from_stored_json

BASE_IMAGE_ENV = "IOTA_BASE_IMAGE"


@dataclass(frozen=True)
class BuildOptions:
    notebook: Path
    repository: str
    variables_file: Path | None = None
    variables: tuple[Variable, ...] | None = None  # as edited (e.g. in the Jupyter wizard)
    packages: PackageOptions = field(default_factory=PackageOptions)
    base: str | None = None
    backend: str | None = None  # None: docker when an engine answers, else oci
    kernel: str | None = None
    description: str = ""
    create_repository: bool = True
    username: str | None = None
    password: str | None = None
    ca_bundle: Path | None = None
    plain_http: bool | None = None
    registry_timeout: float | None = None  # None: IOTA_REGISTRY_TIMEOUT, else 30 s


def default_base(target: ImageReference) -> str:
    """`$IOTA_BASE_IMAGE`, else the base image kept beside the target in its registry, so
    that every analysis image there shares (and mounts) the same base layers."""
    from iota_container import __version__

    return os.environ.get(BASE_IMAGE_ENV) or f"{target.registry}/iota-container/base:{__version__}"


def build_image(options: BuildOptions, progress: Progress) -> BuildResult:
    from iota_container.notebook.execute import load_notebook_document
    from iota_container.notebook.inspect import notebook_variables

    progress.phase("checking")
    target = parse_reference(options.repository)
    if target.digest:
        raise IotaError(
            f"--repository {options.repository!r} has a digest: "
            "give REPO[:TAG]; the digest is what the build gives back"
        )
    base = parse_reference(options.base or default_base(target))
    notebook = load_notebook_document(options.notebook, "the command line")
    if options.variables is not None:
        variables = check_variables(options.variables)
    elif options.variables_file:
        variables = load_variables_file(options.variables_file)
    else:
        variables = notebook_variables(notebook)
    kernel = options.kernel or notebook.get("metadata", {}).get("kernelspec", {}).get("name")
    spec = BuildSpec(
        notebook=options.notebook,
        metadata=ImageMetadata(
            notebook_path=f"/home/iota/analysis/{options.notebook.name}",
            kernel=kernel,
            variables=variables,
            description=options.description,
        ),
        target=target,
        base=base,
        packages=options.packages,
        document=notebook,
    )
    ecr = _ecr_for(target)
    credentials = credential_chain(options, target, ecr)
    if ecr is not None:
        progress.step(f"checking ECR repository {target.repository}")
        ecr.ensure_repository(target.repository, create=options.create_repository)
    backend = choose_backend(options)
    progress.phase("building")
    progress.step(f"building {target} FROM {base} with the {backend.name} backend")
    return backend.build_and_push(spec, credentials, progress)


def choose_backend(options: BuildOptions) -> BuildBackend:
    """The backend the options name (image/backends.py), or the automatic choice."""
    from iota_container.image.backends import BackendSettings, backend_for

    settings = BackendSettings(options.ca_bundle, options.plain_http, options.registry_timeout)
    return backend_for(options.backend, settings)


def _ecr_for(target: ImageReference) -> Any:
    if not is_ecr_registry(target.registry):
        return None
    from iota_container.image.ecr import EcrRegistry

    return EcrRegistry.for_registry(target.registry)


def credential_chain(
    options: BuildOptions, target: ImageReference, ecr: CredentialSource | None = None
) -> CredentialSource:
    from iota_container.image.auth import (
        ChainedCredentials,
        DockerConfigCredentials,
        EnvironmentCredentials,
        StaticCredentials,
    )

    sources: list[Any] = []
    if options.username or options.password:
        sources.append(StaticCredentials(target.registry, options.username, options.password))
    if ecr is not None:
        sources.append(ecr)
    sources += [EnvironmentCredentials(target.registry), DockerConfigCredentials()]
    return ChainedCredentials(sources)


def load_variables_file(path: Path) -> list[Variable]:
    """Variables from a JSON file: a list of variables, or the output of
    `iota-container variables NOTEBOOK --json` (edited or not)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VariableError(
            f"--variables file {str(path)!r} does not exist: fix the path"
        ) from None
    except (OSError, ValueError) as e:
        raise VariableError(
            f"--variables file {str(path)!r} is not readable JSON ({e}): fix it"
        ) from e
    items = document.get("variables") if isinstance(document, dict) else document
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise VariableError(
            f"--variables file {str(path)!r} must hold a list of variables, or "
            '{"variables": [...]} as `iota-container variables NOTEBOOK --json` writes'
        )
    try:
        return check_variables(variable_from_stored_json(item) for item in items)
    except TypeError as e:
        raise VariableError(f"--variables file {str(path)!r}: a variable is malformed ({e})") from e


def inspect_image(
    reference: str,
    ca_bundle: str | None = None,
    plain_http: bool | None = None,
    timeout: float | None = None,
) -> InspectedImage:
    """The metadata an analysis image carries, from its registry."""
    from iota_container.image.registry import fetch_image_config

    parsed = parse_reference(reference)
    options = BuildOptions(notebook=Path(), repository=reference)
    credentials = credential_chain(options, parsed, _ecr_for(parsed))
    config, _, digest = fetch_image_config(
        parsed, credentials, ca_bundle=ca_bundle, plain_http=plain_http, timeout=timeout
    )
    labels = (config.get("config") or {}).get("Labels") or {}
    metadata = ImageMetadata.from_labels(labels, str(parsed))
    return InspectedImage(parsed.with_digest(digest).pinned(), metadata)
