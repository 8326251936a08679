"""Request models, verb + noun: each reads a request's JSON body or query in its
constructor and raises BadRequest naming the field the UI shows the message beside.

Rules come from the SDK (names, variables, schedules, definitions); this module only says
which request field an SDK finding belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from iota_container.containerize import (
    DEFINITION_SUFFIXES,
    CheckedContainerize,
    Containerize,
    ContainerizeError,
    check_request,
)
from iota_container.definitions.problems import DefinitionError, Problem
from iota_container.errors import NotebookError, VariableError
from iota_container.variable_codec import default_from_text, default_text
from iota_container.variables import (
    DATASET_CONTENT_VERSION,
    DATASET_TYPES,
    DOUBLE,
    MAX_VARIABLES,
    OUTPUT_FILE_URI,
    STRING,
    Variable,
    check_default,
    check_variables,
)
from jupyter_ext.fields import (
    BadRequest,
    blame,
    body_object,
    flag,
    integer,
    json_object,
    optional_text,
    problem_text,
    text,
)

MAX_PREVIEW = 50


@dataclass(frozen=True)
class GetVariables:
    path: str

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> GetVariables:
        return cls(text(query, "path", "path"))


@dataclass(frozen=True)
class GetRequirements:
    path: str

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> GetRequirements:
        return cls(text(query, "path", "path"))


MAX_PACKAGES = 500


def read_packages(items: Any) -> tuple[str, ...] | None:
    """`image.packages`: requirement lines as edited (`pandas==3.1.1`, `seaborn`), or
    null for what the notebook's imports need. Each is a requirement by name: a URL or a
    path cannot be built into an image reproducibly."""
    from packaging.requirements import InvalidRequirement, Requirement

    if items is None:
        return None
    if not isinstance(items, list) or len(items) > MAX_PACKAGES:
        raise BadRequest(
            f"image.packages must be a list of at most {MAX_PACKAGES} requirements, or null",
            "image.packages",
        )
    lines = []
    for index, item in enumerate(items):
        field = f"image.packages.{index}"
        if not isinstance(item, str) or not item.strip():
            raise BadRequest(f"{field} must be a requirement such as pandas==3.1.1", field)
        try:
            requirement = Requirement(item.strip())
        except InvalidRequirement as e:
            raise BadRequest(f"{field} {item!r} is not a requirement ({e})", field) from e
        if requirement.url:
            raise BadRequest(
                f"{field} {item!r} installs from a URL: give a name and version from a "
                "package index",
                field,
            )
        lines.append(str(requirement))
    return tuple(lines)


@dataclass(frozen=True)
class PreviewSchedule:
    expression: str
    count: int

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> PreviewSchedule:
        return cls(
            text(query, "expression", "expression"),
            integer(query, "count", "count", 5, 1, MAX_PREVIEW),
        )


@dataclass(frozen=True)
class ListRepositories:
    registry: str
    next_token: str | None
    max_results: int

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ListRepositories:
        return cls(
            text(query, "registry", "registry"),
            optional_text(query, "nextToken", "nextToken"),
            integer(query, "maxResults", "maxResults", 100, 1, 1000),
        )


@dataclass(frozen=True)
class CreateRepository:
    registry: str
    name: str

    @classmethod
    def from_json(cls, body: Any) -> CreateRepository:
        data = body_object(body)
        return cls(text(data, "registry", "registry"), text(data, "name", "name"))


@dataclass(frozen=True)
class ReadLog:
    since: int

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ReadLog:
        return cls(integer(query, "since", "since", 0, 0, 2**31))


@dataclass(frozen=True)
class ValidateDataset:
    definition: dict[str, Any]

    @classmethod
    def from_json(cls, body: Any) -> ValidateDataset:
        return cls(json_object(body_object(body), "definition", "definition"))


@dataclass(frozen=True)
class WriteDataset:
    path: str
    definition: dict[str, Any]
    overwrite: bool

    @classmethod
    def from_json(cls, body: Any) -> WriteDataset:
        data = body_object(body)
        path = text(data, "path", "path")
        if PurePosixPath(path).suffix.lower() not in DEFINITION_SUFFIXES:
            raise BadRequest(f"path {path!r}: end the file name in .yaml, .yml or .json", "path")
        return cls(
            path,
            json_object(data, "definition", "definition"),
            flag(data, "overwrite", "overwrite", False),
        )


def api_variable(variable: Variable) -> dict[str, Any]:
    """A Variable as the API shows it: its JSON, and `defaultText`, the default as the
    wizard's text box shows it (the SDK's codec writes it and reads it back)."""
    return {**variable.to_json(), "defaultText": default_text(variable.default)}


def _edited_variable(item: dict[str, Any]) -> dict[str, Any]:
    """A row as edited: `defaultText`, when no `default` is given, decoded by the row's
    type (a double's Python type is int or float, whatever it was before it became one)."""
    if "defaultText" not in item or "default" in item:
        return item
    name, text = str(item.get("name")), item["defaultText"]
    kind, python_type = item.get("datasetType"), str(item.get("type"))
    if not isinstance(text, str):
        raise VariableError(
            f"variable {name!r}: defaultText is {text!r}, not text: give the default as a string"
        )
    if kind == DOUBLE:
        python_type = python_type if python_type in ("int", "float") else "float"
    elif kind in (OUTPUT_FILE_URI, DATASET_CONTENT_VERSION):
        python_type = "str"
    default = default_from_text(name, text, python_type, kind == DOUBLE)
    return {**item, "type": python_type, "default": default}


def read_variables(items: Any) -> tuple[Variable, ...] | None:
    """The variables as edited, checked one by one so the error names the row and field:
    `variables.2.name`, `variables.2.datasetType`."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise BadRequest("variables must be a list", "variables")
    parsed: list[Variable] = []
    for index, item in enumerate(items):
        at = f"variables.{index}"
        if not isinstance(item, dict):
            raise BadRequest(f"variable {index + 1} must be an object", at)
        kind = item.get("datasetType", STRING)
        if kind not in DATASET_TYPES:
            raise BadRequest(
                f"dataset type {kind!r} is unknown: use one of {', '.join(DATASET_TYPES)}",
                f"{at}.datasetType",
            )
        if not isinstance(item.get("type"), str):
            raise BadRequest(f"variable {index + 1} needs its type (str, int, ...)", f"{at}.type")
        with blame(f"{at}.default"):
            data = _edited_variable(item)
        with blame(f"{at}.name"):
            try:
                parsed.append(Variable.from_json(data))
            except TypeError as e:
                raise BadRequest(f"variable {index + 1} is malformed ({e})", at) from e
        with blame(f"{at}.default"):
            check_default(parsed[-1])
        with blame(f"{at}.name"):
            if len(parsed) <= MAX_VARIABLES:
                check_variables(parsed)  # a name defined twice: blame its second row
    with blame("variables"):
        return tuple(check_variables(parsed))


# Where a finding in the definition a CreateJob writes comes from in the request.
_JOB_FIELDS = (
    ("$.datasetName", "name"),
    ("$.actions[0].actionName", "name"),
    ("$.actions[0].containerAction.image", "image.repository"),
    ("$.actions[0].containerAction.resourceConfiguration.", "resourceConfiguration."),
    ("$.actions[0].containerAction.variables", "variables"),
    ("$.triggers[0].schedule", "trigger.schedule"),
    ("$.triggers[0].dataset", "trigger.dataset"),
    ("$.triggers", "trigger"),
)


def job_field(problem: Problem) -> str | None:
    for path, field in _JOB_FIELDS:
        if problem.json_path.startswith(path):
            rest = problem.json_path[len(path) :] if field.endswith(".") else ""
            return field + rest
    return None


@dataclass(frozen=True)
class CreateJob:
    """A containerize job: the SDK's request, its paths still relative to the server's
    root (`notebook`, `definition_path`, `requirements`) until the handler resolves them."""

    notebook: str
    definition_path: str
    requirements: str | None
    request: Containerize

    @classmethod
    def from_json(cls, body: Any) -> CreateJob:
        data = body_object(body)
        notebook = text(data, "notebook", "notebook")
        name = text(data, "name", "name")
        image = json_object(data, "image", "image")
        trigger = data.get("trigger") or {}
        if not isinstance(trigger, dict) or len(trigger) > 1:
            raise BadRequest("trigger must be {schedule} or {dataset}, or null", "trigger")
        resources = json_object(
            data, "resourceConfiguration", "resourceConfiguration", required=False
        )
        default_path = (PurePosixPath(notebook).parent / f"{name}.dataset.yaml").as_posix()
        definition_path = optional_text(data, "definitionPath", "definitionPath") or default_path
        requirements = optional_text(image, "requirements", "image.requirements")
        request = Containerize(
            notebook=Path(notebook),
            name=name,
            repository=text(image, "repository", "image.repository"),
            definition_path=Path(definition_path),
            description=text(data, "description", "description", required=False),
            variables=read_variables(data.get("variables")),
            base=optional_text(image, "base", "image.base"),
            packages=read_packages(image.get("packages")),
            backend=optional_text(image, "backend", "image.backend"),
            create_repository=flag(image, "createRepository", "image.createRepository", True),
            schedule=optional_text(trigger, "schedule", "trigger.schedule"),
            triggered_by=optional_text(trigger, "dataset", "trigger.dataset"),
            compute_type=text(
                resources, "computeType", "resourceConfiguration.computeType", required=False
            )
            or "ACU_1",
            volume_size_gb=integer(
                resources, "volumeSizeInGB", "resourceConfiguration.volumeSizeInGB", 2, 1, 50
            ),
            overwrite=flag(data, "overwrite", "overwrite", False),
        )
        return cls(notebook, definition_path, requirements, request)

    def containerize(self, **resolved: Any) -> CheckedContainerize:
        """The SDK request with the resolved paths and the server's settings (`resolved`:
        Containerize fields), checked as a whole, the definition it will write too."""
        request = replace(self.request, **resolved)
        try:
            return check_request(request)
        except ContainerizeError as e:
            raise BadRequest(str(e), e.field) from e
        except DefinitionError as e:
            first = e.problems[0] if e.problems else None
            message = problem_text(first) if first else str(e)
            raise BadRequest(message, job_field(first) if first else None) from e
        except (NotebookError, VariableError) as e:
            field = "notebook" if isinstance(e, NotebookError) else "variables"
            raise BadRequest(str(e), field) from e
