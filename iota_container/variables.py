"""The Variable model shared by every stage: notebook → image labels → dataset definition.

A notebook variable has a Python type; a dataset variable is one of four kinds
(`stringValue`, `doubleValue`, `datasetContentVersionValue`, `outputFileUriValue`). Bool,
list and dict values travel as a JSON string (`stringValue`) that the runtime decodes
back, because the notebook's own default tells it the type (see variable_codec.py).

A Variable's JSON has one spelling everywhere (`variables --json`, image labels, the
Jupyter API): `name`, `type` (the Python type's name), `default`, `description`,
`datasetType` and `hint`.
"""

from __future__ import annotations

import keyword
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iota_container.errors import VariableError
from iota_container.variable_codec import HINTABLE_TYPES, is_number

MAX_VARIABLES = 50

STRING = "string"
DOUBLE = "double"
DATASET_CONTENT_VERSION = "datasetContentVersion"
OUTPUT_FILE_URI = "outputFileUri"
DATASET_TYPES = (STRING, DOUBLE, DATASET_CONTENT_VERSION, OUTPUT_FILE_URI)

_OUTPUT_HINTS = ("output", "uri", "url", "path", "file", "destination", "dest")
_CONTENT_HINTS = ("dataset", "content", "version")


@dataclass(frozen=True)
class Variable:
    name: str
    python_type: str  # "str", "int", "float", "bool", "list", "dict", "NoneType"
    default: Any = None
    description: str = ""
    dataset_type: str = STRING
    hint: str | None = None  # a dataset type the name suggests, when it differs

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, attr) for attr, key in _JSON_KEYS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variable:
        """TypeError when `name` or `type` is missing; VariableError when a value is bad."""
        known = {attr: data[key] for attr, key in _JSON_KEYS if key in data}
        variable = cls(**known)
        check_variable_name(variable.name)
        if not isinstance(variable.python_type, str):
            raise VariableError(
                f"variable {variable.name!r} has type {variable.python_type!r}: "
                "name a Python type, such as str or float"
            )
        if variable.dataset_type not in DATASET_TYPES:
            raise VariableError(
                f"variable {variable.name!r} has dataset type {variable.dataset_type!r}: "
                f"use one of {', '.join(DATASET_TYPES)}"
            )
        return variable


# Variable's attributes and their JSON keys, the one spelling.
_JSON_KEYS = (
    ("name", "name"),
    ("python_type", "type"),
    ("default", "default"),
    ("description", "description"),
    ("dataset_type", "datasetType"),
    ("hint", "hint"),
)
# The keys `variables --json` wrote before it used the JSON keys above.
_OLD_KEYS = (("python_type", "type"), ("dataset_type", "datasetType"))


def variable_from_stored_json(data: Mapping[str, Any]) -> Variable:
    """A variable from a label or file that may predate the one spelling: images built
    and `--variables` files written before it say `python_type` and `dataset_type`, and
    they exist, so both spellings are read here (and nowhere else)."""
    renamed = dict(data)
    for old, key in _OLD_KEYS:
        if old in renamed and key not in renamed:
            renamed[key] = renamed.pop(old)
    return Variable.from_json(renamed)


def dataset_type_for(value: Any) -> str:
    """`double` for numbers, `string` for everything else (bool, list and dict as JSON)."""
    return DOUBLE if is_number(value) else STRING


def hint_for(name: str, value: Any) -> str | None:
    """A dataset type the variable's name and default suggest: output URIs and dataset
    content versions are strings in a notebook, but wired differently in a dataset."""
    lowered = name.lower()
    text = value if isinstance(value, str) else ""
    looks_like_output = text.startswith(("s3://", "file://")) or any(
        part in lowered for part in _OUTPUT_HINTS
    )
    if looks_like_output and "dataset" not in lowered:
        return OUTPUT_FILE_URI
    if "dataset" in lowered and any(part in lowered for part in _CONTENT_HINTS[1:]):
        return DATASET_CONTENT_VERSION
    return None


def variable_from_default(
    name: str, value: Any, description: str = "", type_hint: str | None = None
) -> Variable:
    """The variable a notebook's assignment declares. With no default to tell its type
    (`x = None`), a type hint that names a JSON type (`x = None  # type: int`, papermill's
    convention, or `x: int = None`) gives it instead."""
    python_type = type(value).__name__
    dataset_type = dataset_type_for(value)
    if value is None and type_hint in HINTABLE_TYPES:
        python_type = type_hint
        dataset_type = DOUBLE if type_hint in ("int", "float") else STRING
    return Variable(
        name=name,
        python_type=python_type,
        default=value,
        description=description,
        dataset_type=dataset_type,
        hint=hint_for(name, value),
    )


def is_python_name(name: str) -> bool:
    """Whether `name = ...` in a cell binds exactly `name`. Python folds identifiers to
    NFKC, so a name in fullwidth letters (U+FF50 U+FF52 U+FF49 U+FF4E U+FF54 = 1) binds
    `print`: such a name is not one."""
    return (
        isinstance(name, str)
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name
    )


def check_variable_name(name: str) -> None:
    if not is_python_name(name):
        raise VariableError(
            f"variable name {name!r} is not a Python identifier: use letters, digits and _, "
            "not starting with a digit"
        )


def check_variables(variables: Iterable[Variable]) -> list[Variable]:
    """Names valid and unique, at most 50 (the dataset limit)."""
    checked: list[Variable] = []
    seen: set[str] = set()
    for variable in variables:
        check_variable_name(variable.name)
        if variable.name in seen:
            raise VariableError(f"variable {variable.name!r} is defined twice: keep one")
        seen.add(variable.name)
        checked.append(variable)
    if len(checked) > MAX_VARIABLES:
        raise VariableError(
            f"{len(checked)} variables, more than the {MAX_VARIABLES} a dataset allows: "
            "drop some, or group them in a dict variable"
        )
    return checked


def check_default(variable: Variable) -> Variable:
    """A double's default is a number (or None, for no value): an edited table may say
    otherwise, and a dataset would silently turn it into a string."""
    default = variable.default
    if variable.dataset_type == DOUBLE and default is not None and not is_number(default):
        raise VariableError(
            f"variable {variable.name!r} is a double, but its default {default!r} is not a "
            "number: give a number, or make it a string"
        )
    return variable
