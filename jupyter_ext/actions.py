"""What each endpoint asks of the SDK, with the extension's settings (root directory,
engine home, backends) filled in. Blocking: handlers call these in a thread."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iota_container.definitions.problems import DefinitionError
from jupyter_ext.fields import BadRequest, blame, field_of, problem_text, problems_json
from jupyter_ext.models import CreateJob, WriteDataset, api_variable
from jupyter_ext.paths import relative_to_root, resolve_file, resolve_new_file
from jupyter_ext.worker import encode_containerize

if TYPE_CHECKING:
    from iota_container.definitions.model import DatasetDefinition
    from jupyter_ext.settings import ExtensionSettings as IotaContainerExtension

API_PATH = "iota-container/api"


def notebook_variables(extension: IotaContainerExtension, path: str) -> list[dict[str, Any]]:
    from iota_container.notebook.inspect import inspect_notebook_file

    notebook = resolve_file(extension.root_dir, path, "path")
    with blame("path"):
        return [api_variable(variable) for variable in inspect_notebook_file(notebook)]


def notebook_requirements(extension: IotaContainerExtension, path: str) -> dict[str, Any]:
    """What the notebook imports and what provides it, in the server's kernel (the same
    document as `iota-container requirements --json`)."""
    from iota_container.environment.detect import notebook_requirements as detect

    notebook = resolve_file(extension.root_dir, path, "path")
    with blame("path"):
        found = detect(notebook)
    document = found.to_json()
    document["notebook"] = relative_to_root(extension.root_dir, notebook)
    return document


def preview_schedule(expression: str, count: int) -> dict[str, Any]:
    from iota_container.schedule.expressions import parse_schedule

    schedule = parse_schedule(expression)
    return {
        "expression": expression,
        "description": schedule.describe(),
        "next": [moment.isoformat().replace("+00:00", "Z") for moment in schedule.preview(count)],
    }


def containerize_spec(extension: IotaContainerExtension, request: CreateJob) -> dict[str, Any]:
    """The worker's job for a CreateJob: paths resolved inside the root, every field checked,
    the variables the check resolved passed on (so the worker does not inspect again)."""
    root = extension.root_dir
    notebook = resolve_file(root, request.notebook, "notebook")
    definition = resolve_new_file(root, request.definition_path, "definitionPath")
    requirements = (
        resolve_file(root, request.requirements, "image.requirements")
        if request.requirements
        else None
    )
    checked = request.containerize(
        notebook=notebook,
        definition_path=definition,
        requirements=requirements,
        backend=request.request.backend or extension.default_backend or None,
        home=extension.iota_home or None,
        output_root=extension.output_root or None,
    )
    return {
        "kind": "containerize",
        "request": encode_containerize(checked.request),
        "definition": relative_to_root(root, definition),
        "datasetName": checked.definition.dataset_name,
    }


def run_spec(extension: IotaContainerExtension, name: str) -> dict[str, Any]:
    """The worker's job for "Run now"; UnknownDataset when `name` is not registered."""
    with extension.open_store() as store:
        store.dataset(name)
    choice = extension.run_in_container
    return {
        "kind": "run",
        "dataset": name,
        "useContainer": {"container": True, "process": False}.get(choice),
        "home": extension.iota_home or None,
        "outputRoot": extension.output_root or None,
        "reportUrl": f"{extension.base_url}{API_PATH}/datasets/{name}/contents/",
    }


def validate_definition(document: dict[str, Any]) -> list[dict[str, str]]:
    from iota_container.definitions.new import check_document

    try:
        check_document(document, "definition")
    except DefinitionError as e:
        return problems_json(e)
    return []


def write_dataset(extension: IotaContainerExtension, request: WriteDataset) -> dict[str, Any]:
    """Checked, written inside the root, registered with the engine."""
    from iota_container.definitions.new import check_document, write_and_register

    path = resolve_new_file(extension.root_dir, request.path, "path")
    try:
        definition = check_document(request.definition, request.path)
    except DefinitionError as e:
        first = e.problems[0]
        raise BadRequest(problem_text(first), field_of(first)) from e
    _check_declared_notebook(extension, definition, path)
    if path.exists() and not request.overwrite:
        raise BadRequest(
            f"{request.path} already exists: choose another path, or overwrite it", "path"
        )
    with extension.open_store() as store, blame("definition"):
        registered = write_and_register(definition, path, store, overwrite=request.overwrite)
    return {"path": relative_to_root(extension.root_dir, path), "name": registered.name}


def report_html(extension: IotaContainerExtension, name: str, version: str) -> bytes:
    from iota_container.content import dataset_content
    from iota_container.engine.state_store import UnknownVersion

    with extension.open_store() as store:
        found = store.version(name, version)
    uri = found.outputs.get("html")
    if not uri:
        raise UnknownVersion(f"version {version} of dataset {name} has no HTML report")
    return dataset_content(uri).read_bytes()


def _check_declared_notebook(
    extension: IotaContainerExtension, definition: DatasetDefinition, path: Path
) -> None:
    """A run without a container runs the x-iota-notebook a definition names: it must be
    inside the root too (the same 404 as any path outside)."""
    action = definition.container_action
    declared = action.notebook if action is not None else None
    if declared:
        folder = relative_to_root(extension.root_dir, path.parent)
        resolve_file(extension.root_dir, posixpath.normpath(f"{folder}/{declared}"), "path")
