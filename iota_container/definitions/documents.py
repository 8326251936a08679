"""Dataset definition files as decoded documents: JSON, or YAML read without surprises.

YAML 1.1 (what PyYAML implements) turns `2024-01-01` into a date, `yes` and `on` into
True, `0123` into 83 and `1:30` into 90. A definition is a request to an API whose
fields are strings unless the API says otherwise, so this loader resolves no plain
scalar but null: every other unquoted scalar stays the text the author wrote (a
`PlainScalar`), and the model's field kinds decide which fields are numbers or booleans.

Both readers stay within `DEFINITION_LIMITS` (limits.py): a definition larger or deeper
than any real one, or a YAML alias bomb, is one problem instead of gigabytes or a
RecursionError.
"""

from __future__ import annotations

import json
from typing import Any

from iota_container.definitions.problems import WHAT, limit_error, syntax_error
from iota_container.definitions.schema import KeyedMapping, repeated_keys
from iota_container.errors import LimitExceeded
from iota_container.limits import DEFINITION_LIMITS, loads_json

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")


def _json_object(pairs: list[tuple[str, Any]]) -> KeyedMapping:
    data = KeyedMapping(pairs)
    data.duplicates = repeated_keys([key for key, _ in pairs])
    return data


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and neither does the API.
    raise ValueError(f"{name} is not a JSON number")


def parse_text(text: str, *, file: str, syntax: str) -> Any:
    """The decoded document; `syntax` is "json" or "yaml"."""
    if syntax != "json":
        # PyYAML costs a run start-up ~25 ms; the store and most definitions are JSON.
        from iota_container.definitions.strict_yaml import parse_yaml

        return parse_yaml(text, file=file)
    try:
        return loads_json(
            text,
            DEFINITION_LIMITS,
            WHAT,
            file,
            object_pairs_hook=_json_object,
            parse_constant=_refuse_constant,
        )
    except LimitExceeded as e:
        raise limit_error(file, e) from e
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}"
        raise syntax_error(file, f"not valid JSON at {where} ({e.msg})") from e
    except ValueError as e:
        raise syntax_error(file, f"not valid JSON ({e})") from e


def syntax_for(file: str, text: str) -> str:
    """JSON or YAML, by the file's suffix; by its first character when the suffix is neither."""
    lowered = file.lower()
    if lowered.endswith(JSON_SUFFIXES):
        return "json"
    if lowered.endswith(YAML_SUFFIXES):
        return "yaml"
    return "json" if text.lstrip().startswith("{") else "yaml"
