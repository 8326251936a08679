"""The Variable model shared by every stage: notebook → image labels → dataset definition.

A notebook variable has a Python type; a dataset variable is one of four kinds
(`stringValue`, `doubleValue`, `datasetContentVersionValue`, `outputFileUriValue`). Bool,
list and dict values travel as a JSON string (`stringValue`) that the runtime decodes
back, because the notebook's own default tells it the type (see notebook/inject.py).
"""

from __future__ import annotations

import keyword
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from iota_container.errors import VariableError

MAX_VARIABLES = 50

STRING = "string"
DOUBLE = "double"
DATASET_CONTENT_VERSION = "datasetContentVersion"
OUTPUT_FILE_URI = "outputFileUri"
DATASET_TYPES = (STRING, DOUBLE, DATASET_CONTENT_VERSION, OUTPUT_FILE_URI)
# The Python types of JSON values, which a type hint may name for a default of None.
HINTABLE_TYPES = ("str", "int", "float", "bool", "list", "dict")

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
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variable:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        variable = cls(**known)
        check_variable_name(variable.name)
        if variable.dataset_type not in DATASET_TYPES:
            raise VariableError(
                f"variable {variable.name!r} has dataset type {variable.dataset_type!r}: "
                f"use one of {', '.join(DATASET_TYPES)}"
            )
        return variable


def dataset_type_for(value: Any) -> str:
    """`double` for numbers, `string` for everything else (bool, list and dict as JSON)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return DOUBLE
    return STRING


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
    is_number = isinstance(default, (int, float)) and not isinstance(default, bool)
    if variable.dataset_type == DOUBLE and default is not None and not is_number:
        raise VariableError(
            f"variable {variable.name!r} is a double, but its default {default!r} is not a "
            "number: give a number, or make it a string"
        )
    return variable
