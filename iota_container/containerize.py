"""Containerize a notebook in one call: image built and pushed, dataset definition written
next to it and registered with the local engine (what the Jupyter wizard's job does).

    request = Containerize(notebook=Path("nb.ipynb"), name="daily-report",
                           repository="localhost:5000/team/report", definition_path=...)
    checked = check_request(request)        # before queuing: every field, nothing built
    result = containerize(checked, progress)

The notebook is inspected once, by `check_request`; what it found travels on in the
checked request (`CheckedContainerize.request.variables`), into the build and the
definition, and to a worker process as JSON.

Names and descriptions follow the original extension's rules: a name of at most 128
characters, a letter or digit, then letters, digits, `_` or `-`; a description of at most
1024. A dataset name allows no `-`, so the dataset is named after the name with `_`.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from iota_container.definitions.model import DatasetDefinition
from iota_container.definitions.new import (
    CONTENT_DATASET_PLACEHOLDER,
    NewDataset,
    new_definition,
    with_image,
    write_and_register,
)
from iota_container.environment.options import PackageOptions
from iota_container.errors import IotaError
from iota_container.image.reference import ImageReference, parse_reference
from iota_container.image.spec import Progress
from iota_container.variables import Variable, check_variables

NAME_LENGTH = 128
DESCRIPTION_LENGTH = 1024
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


class ContainerizeError(IotaError):
    """A field of a containerize request is invalid; `field` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Containerize:
    notebook: Path
    name: str
    repository: str  # REGISTRY/REPO[:TAG]
    definition_path: Path
    description: str = ""
    variables: tuple[Variable, ...] | None = None  # None: as the notebook declares them
    base: str | None = None
    requirements: Path | None = None
    packages: tuple[str, ...] | None = None  # requirement lines as edited; None: detected
    backend: str | None = None
    create_repository: bool = True
    schedule: str | None = None
    triggered_by: str | None = None
    compute_type: str = "ACU_1"
    volume_size_gb: int = 2
    overwrite: bool = False
    home: str | None = None  # the engine's home (IOTA_HOME, else its default)
    output_root: str | None = None


@dataclass(frozen=True)
class CheckedContainerize:
    """A request whose every field was checked: its variables resolved (as edited, else
    as the notebook declares them), the image's target, and the definition it will
    write, with the target standing in for the image's digest-pinned reference."""

    request: Containerize  # `variables` is never None
    target: ImageReference
    definition: DatasetDefinition

    @property
    def variables(self) -> tuple[Variable, ...]:
        return self.request.variables or ()


@dataclass(frozen=True)
class ContainerizeResult:
    image: str  # digest-pinned
    digest: str
    bytes_uploaded: int
    definition: Path
    dataset_name: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "definition": str(self.definition)}


def check_name(name: str) -> str:
    if not name:
        raise ContainerizeError("name is empty: give the analysis a name", "name")
    if len(name) > NAME_LENGTH:
        raise ContainerizeError(
            f"name has {len(name)} characters: use at most {NAME_LENGTH}", "name"
        )
    if not NAME_PATTERN.match(name):
        raise ContainerizeError(
            f"name {name!r} must start with a letter or digit, then use only letters, "
            "digits, _ and -",
            "name",
        )
    return name


def check_description(description: str) -> str:
    if len(description) > DESCRIPTION_LENGTH:
        raise ContainerizeError(
            f"description has {len(description)} characters: use at most {DESCRIPTION_LENGTH}",
            "description",
        )
    return description


def dataset_name_for(name: str) -> str:
    """The dataset's name: CreateDataset allows letters, digits and `_` only."""
    return name.replace("-", "_")


def definition_for(request: Containerize, image: str) -> DatasetDefinition:
    """The dataset definition of `request` (its variables resolved) with `image`, checked
    (DefinitionError)."""
    notebook = os.path.relpath(request.notebook, request.definition_path.parent)
    return new_definition(
        NewDataset(
            name=dataset_name_for(request.name),
            image=image,
            variables=list(request.variables or ()),
            notebook=notebook,
            schedule=request.schedule,
            triggered_by=request.triggered_by,
            compute_type=request.compute_type,
            volume_size_gb=request.volume_size_gb,
            content_dataset=request.triggered_by or CONTENT_DATASET_PLACEHOLDER,
        ),
        str(request.definition_path),
    )


def check_request(request: Containerize) -> CheckedContainerize:
    """Every field checked before anything is built; the notebook is inspected here, once,
    unless the request gives its variables."""
    from iota_container.image.backends import backend_names

    check_name(request.name)
    check_description(request.description)
    if request.backend is not None and request.backend not in backend_names():
        raise ContainerizeError(
            f"backend {request.backend!r} is unknown: use {' or '.join(backend_names())}",
            "image.backend",
        )
    target = _reference(request.repository, "image.repository")
    if request.base:
        _reference(request.base, "image.base")
    if target.digest:
        raise ContainerizeError(
            f"repository {request.repository!r} has a digest: give REGISTRY/REPO[:TAG]",
            "image.repository",
        )
    if request.definition_path.suffix.lower() not in DEFINITION_SUFFIXES:
        raise ContainerizeError(
            f"{request.definition_path.name}: end the definition's name in .yaml, .yml or .json",
            "definitionPath",
        )
    if request.definition_path.exists() and not request.overwrite:
        raise ContainerizeError(
            f"{request.definition_path.name} already exists: choose another path, or overwrite it",
            "definitionPath",
        )
    if request.requirements is None:
        check_packages(request)
    resolved = replace(request, variables=_resolved_variables(request))
    return CheckedContainerize(resolved, target, definition_for(resolved, str(target)))


def _resolved_variables(request: Containerize) -> tuple[Variable, ...]:
    if request.variables is not None:
        return tuple(check_variables(request.variables))
    from iota_container.notebook.inspect import inspect_notebook_file

    return tuple(check_variables(inspect_notebook_file(request.notebook)))


def check_packages(request: Containerize) -> None:
    """What the image needs, checked against its kernel before anything is built: a module
    nothing provides (or that an edited package list left out) is refused now, beside the
    packages field, instead of at the end of a build."""
    from iota_container.environment.detect import notebook_requirements
    from iota_container.environment.kernel_python import KernelLanguageError
    from iota_container.environment.packages import edited_packages_problems

    try:
        found = notebook_requirements(request.notebook)
    except KernelLanguageError:
        return  # not Python: the image gets what the base has, as the build will say
    problems = (
        list(found.problems)
        if request.packages is None
        else edited_packages_problems(found, request.packages)
    )
    if problems:
        raise ContainerizeError(problems[0], "image.packages")


def containerize(
    request: Containerize | CheckedContainerize, progress: Progress
) -> ContainerizeResult:
    """Build and push the image, then write and register its definition; a request not
    checked yet is checked first."""
    from iota_container.engine.state_store import StateStore
    from iota_container.image.build import BuildOptions, build_image

    progress.phase("checking")
    checked = request if isinstance(request, CheckedContainerize) else check_request(request)
    request = checked.request
    built = build_image(
        BuildOptions(
            notebook=request.notebook,
            repository=request.repository,
            variables=request.variables,
            packages=PackageOptions(
                requirements_file=request.requirements, requirement_lines=request.packages
            ),
            base=request.base,
            backend=request.backend,
            description=request.description,
            create_repository=request.create_repository,
        ),
        progress,
    )
    definition = with_image(checked.definition, built.reference)
    dataset = definition.dataset_name
    progress.phase("registering")
    progress.step(f"writing {request.definition_path.name}, registering dataset {dataset}")
    with StateStore.open(request.home, request.output_root) as store:
        write_and_register(definition, request.definition_path, store, overwrite=True)
    progress.phase("done")
    progress.step(f"registered dataset {dataset}, its image pushed as {built.digest}")
    written = request.definition_path
    return ContainerizeResult(
        image=built.reference,
        digest=built.digest,
        bytes_uploaded=built.bytes_uploaded,
        definition=written,
        dataset_name=dataset,
    )


def _reference(text: str, field: str) -> ImageReference:
    try:
        return parse_reference(text)
    except IotaError as e:
        raise ContainerizeError(str(e), field) from e
