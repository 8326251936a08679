"""The dataset resources of a CloudFormation document, with what this project can resolve.

A definition written for CloudFormation is one of:
- a template: its `Resources` hold one or more `AWS::IoTAnalytics::Dataset` resources,
  beside any others (roles, channels, pipelines: those are not read at all, so whatever
  functions they use cannot make the template fail);
- one resource (`Type` and `Properties`), or its `Properties` alone.

Within a dataset resource's properties, a few intrinsic functions resolve without a stack:
- `Ref` to a template parameter that has a `Default`: the default (what CloudFormation
  uses when the stack is created without that parameter);
- `Ref` to a dataset resource of the template: its dataset name, as CloudFormation's Ref
  of an `AWS::IoTAnalytics::Dataset` returns;
- `Fn::Sub` of a text whose every `${Name}` is one of those (`${!Literal}` stays
  `${Literal}`).
Anything else (`Fn::GetAtt`, pseudo parameters such as `AWS::AccountId`, imports) stays as
it is, and the definition reader reports it at the path where the dataset uses it.

CloudFormation generates a dataset's name when `DatasetName` is left out; a template's
dataset resource without one is named after its logical ID here, which fits the name
pattern (logical IDs are letters and digits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iota_container.definitions.schema import KeyedMapping, PlainScalar, child_path

CLOUDFORMATION_TYPE = "AWS::IoTAnalytics::Dataset"
LOGICAL_ID = re.compile(r"[A-Za-z0-9]+\Z")  # CloudFormation's rule for logical IDs
_SUBSTITUTION = re.compile(r"\$\{([^}]*)\}")


class TemplateShapeError(Exception):
    """The document is not shaped like a template, a resource or properties."""

    def __init__(self, path: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.path, self.message, self.fix = path, message, fix


@dataclass(frozen=True)
class DatasetResource:
    """One dataset's properties; `root` is their JSON path, `logical_id` the resource's name
    in a template (None for a lone resource or properties)."""

    properties: Any
    root: str
    logical_id: str | None = None


def dataset_resources(document: Mapping[Any, Any]) -> list[DatasetResource]:
    """The dataset definitions an object holds: a template's dataset resources (in the
    order written), one resource's properties, or the object itself."""
    resources = document.get("Resources")
    if isinstance(resources, Mapping):
        return _template_datasets(document, resources)
    if "Type" in document and "Properties" in document:
        return [_resource_properties(document, "$")]
    return [DatasetResource(document, "$")]


def _template_datasets(
    template: Mapping[Any, Any], resources: Mapping[Any, Any]
) -> list[DatasetResource]:
    datasets = {
        name: resource
        for name, resource in resources.items()
        if isinstance(resource, Mapping) and resource.get("Type") == CLOUDFORMATION_TYPE
    }
    if not datasets:
        message = f"the template has no {CLOUDFORMATION_TYPE} resource"
        raise TemplateShapeError("$.Resources", message, "add the dataset's resource")
    parameters = _parameter_defaults(template.get("Parameters"))
    names = {
        str(name): _dataset_name(name, resource, parameters) for name, resource in datasets.items()
    }
    found = []
    for name, resource in datasets.items():
        found.append(_resource_properties(resource, child_path("$.Resources", str(name))))
        properties = found[-1].properties
        if "DatasetName" not in properties:
            properties = _with(properties, "DatasetName", names[str(name)])
        resolved = resolve_functions(properties, {**parameters, **names})
        found[-1] = DatasetResource(resolved, found[-1].root, str(name))
    return found


def _resource_properties(resource: Mapping[Any, Any], path: str) -> DatasetResource:
    if resource.get("Type") != CLOUDFORMATION_TYPE:
        message = f"resource type {resource.get('Type')!r} is not {CLOUDFORMATION_TYPE}"
        raise TemplateShapeError(f"{path}.Type", message, "give the dataset's resource")
    properties = resource.get("Properties")
    if not isinstance(properties, Mapping):
        message = "Properties is missing" if properties is None else "Properties is not an object"
        raise TemplateShapeError(f"{path}.Properties", message, "write the dataset's properties")
    return DatasetResource(properties, f"{path}.Properties")


def _dataset_name(logical_id: Any, resource: Mapping[Any, Any], parameters: dict[str, str]) -> str:
    """What a Ref to the resource gives: its DatasetName, else the name made for it."""
    properties = resource.get("Properties")
    name = properties.get("DatasetName") if isinstance(properties, Mapping) else None
    name = resolve_functions(name, parameters)
    return name if isinstance(name, str) else str(logical_id)


def _parameter_defaults(parameters: Any) -> dict[str, str]:
    """Parameter name → its Default as text (CloudFormation passes every value as text;
    a PlainScalar lets a number field read a number's default)."""
    if not isinstance(parameters, Mapping):
        return {}
    defaults = {}
    for name, parameter in parameters.items():
        default = parameter.get("Default") if isinstance(parameter, Mapping) else None
        if isinstance(default, str):
            defaults[str(name)] = default
        elif isinstance(default, bool):
            defaults[str(name)] = PlainScalar(str(default).lower())
        elif isinstance(default, (int, float)):
            defaults[str(name)] = PlainScalar(str(default))
    return defaults


def resolve_functions(value: Any, known: Mapping[str, str]) -> Any:
    """`value` with each `Ref` and `Fn::Sub` that `known` (name → value) resolves replaced."""
    if isinstance(value, list):
        return [resolve_functions(item, known) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str) and argument in known:
            return known[argument]
        if key == "Fn::Sub" and isinstance(argument, str):
            text = _substitute(argument, known)
            return value if text is None else text
    resolved = KeyedMapping((k, resolve_functions(v, known)) for k, v in value.items())
    resolved.duplicates = getattr(value, "duplicates", ())
    return resolved


def _substitute(template: str, known: Mapping[str, str]) -> str | None:
    """The text of `Fn::Sub`, or None when one of its names is not known here."""
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name.strip() in known:
            return known[name.strip()]
        unresolved = True
        return match.group(0)

    text = _SUBSTITUTION.sub(replace, template)
    return None if unresolved else text


def _with(mapping: Mapping[Any, Any], key: str, value: Any) -> KeyedMapping:
    copy = KeyedMapping(mapping)
    copy.duplicates = getattr(mapping, "duplicates", ())
    copy[key] = value
    return copy
