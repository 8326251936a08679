"""Dataset definition files as decoded documents: JSON, or YAML read without surprises.

YAML 1.1 (what PyYAML implements) turns `2024-01-01` into a date, `yes` and `on` into
True, `0123` into 83 and `1:30` into 90. A definition is a request to an API whose
fields are strings unless the API says otherwise, so this loader resolves no plain
scalar but null: every other unquoted scalar stays the text the author wrote (a
`PlainScalar`), and the model's field kinds decide which fields are numbers or booleans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterator
from typing import Any

import yaml

from iota_container.dataset.problems import DefinitionError, Problem
from iota_container.dataset.schema import KeyedMapping, PlainScalar

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")


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
    data.duplicates = _repeated(own_keys)


_StrictLoader.add_constructor("tag:yaml.org,2002:str", _construct_string)
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _repeated(keys: list[Hashable]) -> tuple[str, ...]:
    seen: set[Hashable] = set()
    repeated: list[str] = []
    for key in keys:
        if key in seen and str(key) not in repeated:
            repeated.append(str(key))
        seen.add(key)
    return tuple(repeated)


def _json_object(pairs: list[tuple[str, Any]]) -> KeyedMapping:
    data = KeyedMapping(pairs)
    data.duplicates = _repeated([key for key, _ in pairs])
    return data


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and neither does the API.
    raise ValueError(f"{name} is not a JSON number")


def parse_text(text: str, *, file: str, syntax: str) -> Any:
    """The decoded document; `syntax` is "json" or "yaml"."""
    try:
        if syntax == "json":
            return json.loads(text, object_pairs_hook=_json_object, parse_constant=_refuse_constant)
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}"
        raise _syntax_error(file, f"not valid JSON at {where} ({e.msg})") from e
    except ValueError as e:
        raise _syntax_error(file, f"not valid JSON ({e})") from e
    except yaml.constructor.ConstructorError as e:
        raise _yaml_tag_error(file, e) from e
    except yaml.YAMLError as e:
        raise _syntax_error(file, f"not valid YAML{_yaml_where(e)} ({_yaml_problem(e)})") from e


def syntax_for(file: str, text: str) -> str:
    """JSON or YAML, by the file's suffix; by its first character when the suffix is neither."""
    lowered = file.lower()
    if lowered.endswith(JSON_SUFFIXES):
        return "json"
    if lowered.endswith(YAML_SUFFIXES):
        return "yaml"
    return "json" if text.lstrip().startswith("{") else "yaml"


def _syntax_error(file: str, message: str) -> DefinitionError:
    return DefinitionError([Problem(file, "$", "syntax", message, "fix the syntax")])


def _yaml_tag_error(file: str, error: yaml.constructor.ConstructorError) -> DefinitionError:
    tag = re.search(r"tag '([^']+)'", str(error.problem))
    if tag and tag.group(1).startswith("!") and not tag.group(1).startswith("!!"):
        # `!Ref`, `!Sub`, `!GetAtt`: CloudFormation's short-form functions.
        message = f"CloudFormation function {tag.group(1)} is not resolved here{_yaml_where(error)}"
        fix = "write the value it stands for (or deploy the template and export the dataset)"
        return DefinitionError([Problem(file, "$", "unresolved-function", message, fix)])
    return _syntax_error(file, f"not valid YAML{_yaml_where(error)} ({_yaml_problem(error)})")


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    return str(getattr(error, "problem", None) or error).strip()
