"""`dataset new`: a definition written from an image's own labels, or from a notebook.

The result is a typed DatasetDefinition, built once: a CreateDataset request (plus
`x-iota-notebook` when it came from a notebook, so it also runs without a container),
checked by the same rules as `dataset validate` before anything is written, then dumped
once (`DatasetDefinition.to_json`) into the file, and registered as it is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iota_container.atomic import write_bytes_atomically
from iota_container.definitions.from_image import to_dataset_variables
from iota_container.definitions.model import (
    ContainerAction,
    DatasetAction,
    DatasetDefinition,
    DatasetTrigger,
    Origin,
    ResourceConfiguration,
    RetentionPeriod,
    TriggeringDataset,
    TriggerSchedule,
    VersioningConfiguration,
)
from iota_container.definitions.problems import DefinitionError
from iota_container.errors import IotaError
from iota_container.variables import Variable

if TYPE_CHECKING:
    from iota_container.engine.records import RegisteredDataset
    from iota_container.engine.state_store import StateStore

ROLE_ARN_ENV = "IOTA_EXECUTION_ROLE_ARN"
# Locally nothing assumes this role; the service needed one, and exports keep the shape.
LOCAL_ROLE_ARN = "arn:aws:iam::000000000000:role/iota-container-local"
CONTENT_DATASET_PLACEHOLDER = "SOURCE_DATASET"


@dataclass(frozen=True)
class NewDataset:
    name: str
    image: str
    variables: list[Variable]
    notebook: str | None = None  # x-iota-notebook, relative to the definition file
    schedule: str | None = None
    triggered_by: str | None = None
    role_arn: str | None = None
    compute_type: str = "ACU_1"
    volume_size_gb: int = 2
    max_versions: int | None = None
    retention_days: int | None = None
    content_dataset: str = CONTENT_DATASET_PLACEHOLDER


def new_definition(spec: NewDataset, file: str) -> DatasetDefinition:
    """The definition `spec` describes, checked (DefinitionError) as it would be written
    to `file`."""
    if spec.schedule and spec.triggered_by:
        raise IotaError(
            "give --schedule or --triggered-by, not both (a dataset has one trigger type)"
        )
    action = ContainerAction(
        image=spec.image,
        execution_role_arn=spec.role_arn or os.environ.get(ROLE_ARN_ENV) or LOCAL_ROLE_ARN,
        resource_configuration=ResourceConfiguration(spec.compute_type, spec.volume_size_gb),
        variables=to_dataset_variables(spec.variables, content_dataset_name=spec.content_dataset),
        notebook=spec.notebook or None,
    )
    triggers: tuple[DatasetTrigger, ...] = ()
    if spec.schedule:
        triggers = (DatasetTrigger(schedule=TriggerSchedule(spec.schedule)),)
    elif spec.triggered_by:
        triggers = (DatasetTrigger(dataset=TriggeringDataset(spec.triggered_by)),)
    definition = DatasetDefinition(
        dataset_name=spec.name,
        actions=(DatasetAction(f"{spec.name}_action"[:128], container_action=action),),
        triggers=triggers,
        versioning_configuration=(
            VersioningConfiguration(max_versions=spec.max_versions) if spec.max_versions else None
        ),
        retention_period=(
            RetentionPeriod(number_of_days=spec.retention_days) if spec.retention_days else None
        ),
        origin=Origin(file),
    )
    return check_new_definition(definition)


def with_image(definition: DatasetDefinition, image: str) -> DatasetDefinition:
    """`definition` with its container action running `image`, checked again (a pinned
    reference is longer than the repository that stood in for it)."""
    actions = tuple(
        replace(action, container_action=replace(action.container_action, image=image))
        if action.container_action is not None
        else action
        for action in definition.actions
    )
    return check_new_definition(replace(definition, actions=actions))


def check_new_definition(definition: DatasetDefinition) -> DatasetDefinition:
    """The rules of `dataset validate` for this one definition (triggers across a set are
    checked when the set is validated or registered)."""
    from iota_container.definitions.validate import check_definition

    file = definition.origin.file if definition.origin else "<definition>"
    problems = check_definition(file, definition)
    if problems:
        raise DefinitionError(problems, dataset_name=definition.dataset_name)
    return definition


def check_document(document: dict[str, Any], file: str) -> DatasetDefinition:
    """A definition document from outside (an HTTP body), read and checked."""
    from iota_container.definitions.model import definition_from_document

    return check_new_definition(definition_from_document(document, file=file))


def write_definition(definition: DatasetDefinition, path: Path, overwrite: bool = False) -> Path:
    """JSON or YAML by the file's extension, written atomically."""
    document = definition.to_json()
    if path.exists() and not overwrite:
        raise IotaError(f"{str(path)!r} already exists: choose another --output, or pass --force")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        # safe_dump quotes every string YAML 1.1 would read as something else (yes, 1.10).
        text = yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    elif path.suffix.lower() == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        raise IotaError(f"--output {str(path)!r}: end the name in .yaml, .yml or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomically(path, text.encode("utf-8"))


def write_and_register(
    definition: DatasetDefinition, path: Path, store: StateStore, *, overwrite: bool = False
) -> RegisteredDataset:
    """Write the definition and register it with the engine, as written (the file is not
    read back). When the store refuses it (a trigger naming a dataset it does not know,
    say), the file is put back as it was, so a refused definition leaves nothing half-done
    behind."""
    previous = path.read_bytes() if path.exists() else None
    written = write_definition(definition, path, overwrite=overwrite)
    try:
        return store.register_definitions([(written, definition)])[0]
    except BaseException:
        if previous is None:
            written.unlink(missing_ok=True)
        else:
            write_bytes_atomically(written, previous)
        raise
