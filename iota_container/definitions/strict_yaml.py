"""YAML definitions read without YAML 1.1's type guessing (see documents.py for why).

Kept apart from documents.py so that PyYAML is imported only when a YAML file is read.
The document is composed, checked against `DEFINITION_LIMITS` (size, depth, alias
expansion) and only then constructed, so an alias bomb never grows into memory.

CloudFormation's short-form functions (`!Ref Name`, `!Sub '...'`, `!GetAtt A.B`) read as
their long forms (`{"Ref": "Name"}`, `{"Fn::Sub": "..."}`, `{"Fn::GetAtt": ["A", "B"]}`),
as CloudFormation reads them: a template is valid wherever they stand, and the reader
says which value could not be resolved only where a dataset uses one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from iota_container.definitions.problems import (
    WHAT,
    DefinitionError,
    Problem,
    limit_error,
    syntax_error,
)
from iota_container.definitions.schema import KeyedMapping, PlainScalar, repeated_keys
from iota_container.errors import LimitExceeded
from iota_container.limits import DEFINITION_LIMITS, load_yaml

# The intrinsic functions and condition functions that have a YAML short form.
CLOUDFORMATION_FUNCTIONS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Length",
    "ToJsonString",
)


def parse_yaml(text: str, *, file: str) -> Any:
    try:
        return load_yaml(text, _StrictLoader, DEFINITION_LIMITS, WHAT, file)  # a SafeLoader
    except LimitExceeded as e:
        raise limit_error(file, e) from e
    except yaml.constructor.ConstructorError as e:
        raise _yaml_tag_error(file, e) from e
    except yaml.YAMLError as e:
        raise syntax_error(file, f"not valid YAML{_yaml_where(e)} ({_yaml_problem(e)})") from e


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's implicit typing (see the module docstring)."""


# Its own, empty table: add_implicit_resolver below must not extend SafeLoader's.
_StrictLoader.yaml_implicit_resolvers = {}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
# Merge keys (`<<: *defaults`) are structure, not a type guess: keep them.
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_string(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    text = loader.construct_scalar(node)
    return PlainScalar(text) if node.style is None else text


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[KeyedMapping]:
    data = KeyedMapping()
    yield data  # before the values, so that anchors and aliases can refer to it
    own_keys = [
        key.value
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge"
    ]
    data.update(loader.construct_mapping(node))
    data.duplicates = repeated_keys(own_keys)


def _long_form(key: str) -> Any:
    """The constructor of one short form: `!Sub x` becomes {"Fn::Sub": x}."""

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> KeyedMapping:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = _construct_string(loader, node)
            if key == "Fn::GetAtt":  # `!GetAtt Resource.Attribute`
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return KeyedMapping({key: value})

    return construct


_StrictLoader.add_constructor("tag:yaml.org,2002:str", _construct_string)
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
for _name, _key in [
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    *((name, f"Fn::{name}") for name in CLOUDFORMATION_FUNCTIONS),
]:
    _StrictLoader.add_constructor(f"!{_name}", _long_form(_key))


def _yaml_tag_error(file: str, error: yaml.constructor.ConstructorError) -> DefinitionError:
    tag = re.search(r"tag '([^']+)'", str(error.problem))
    if tag and tag.group(1).startswith("!") and not tag.group(1).startswith("!!"):
        message = f"{tag.group(1)} is not a CloudFormation function{_yaml_where(error)}"
        fix = "use !Ref, !Sub, !GetAtt or another intrinsic function, or write the value"
        return DefinitionError([Problem(file, "$", "unknown-tag", message, fix)])
    return syntax_error(file, f"not valid YAML{_yaml_where(error)} ({_yaml_problem(error)})")


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    return str(getattr(error, "problem", None) or error).strip()
