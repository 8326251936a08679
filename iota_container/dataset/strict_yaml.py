"""YAML definitions read without YAML 1.1's type guessing (see documents.py for why).

Kept apart from documents.py so that PyYAML is imported only when a YAML file is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from iota_container.dataset.documents import repeated_keys, syntax_error
from iota_container.dataset.problems import DefinitionError, Problem
from iota_container.dataset.schema import KeyedMapping, PlainScalar


def parse_yaml(text: str, *, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
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


_StrictLoader.add_constructor("tag:yaml.org,2002:str", _construct_string)
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _yaml_tag_error(file: str, error: yaml.constructor.ConstructorError) -> DefinitionError:
    tag = re.search(r"tag '([^']+)'", str(error.problem))
    if tag and tag.group(1).startswith("!") and not tag.group(1).startswith("!!"):
        # `!Ref`, `!Sub`, `!GetAtt`: CloudFormation's short-form functions.
        message = f"CloudFormation function {tag.group(1)} is not resolved here{_yaml_where(error)}"
        fix = "write the value it stands for (or deploy the template and export the dataset)"
        return DefinitionError([Problem(file, "$", "unresolved-function", message, fix)])
    return syntax_error(file, f"not valid YAML{_yaml_where(error)} ({_yaml_problem(error)})")


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    return str(getattr(error, "problem", None) or error).strip()
