"""containerAction.variables from an image's variables (image metadata → definition).

A notebook's default decides the kind: a number becomes a doubleValue, a string a
stringValue, and a bool, list or dict a stringValue holding JSON, which the runtime
decodes because the notebook's default tells it the type (see variable_codec.py). A
variable whose name or default looks like an output URI becomes an outputFileUriValue,
one that looks like a dataset's content a datasetContentVersionValue (see
`iota_container.variables.hint_for`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from iota_container.definitions.model import (
    DatasetContentVersionValue,
    DatasetVariable,
    OutputFileUriValue,
)
from iota_container.definitions.schema import dump
from iota_container.variable_codec import dataset_value
from iota_container.variables import DATASET_CONTENT_VERSION, OUTPUT_FILE_URI, Variable

_EXTENSION = re.compile(r"[A-Za-z0-9]{1,16}\Z")
_NOT_FILE_NAME = re.compile(r"[^A-Za-z0-9_.-]")  # OutputFileUriValue.fileName: [\w\.-]{1,255}
DEFAULT_EXTENSION = "out"


def to_dataset_variables(
    variables: Iterable[Variable], *, content_dataset_name: str
) -> tuple[DatasetVariable, ...]:
    """The `variables` of a containerAction.

    `content_dataset_name` fills each datasetContentVersionValue (a placeholder, until the
    author names the dataset). A variable whose default is None is left out: the
    notebook's own default then applies, and no dataset value means None.
    """
    built = (to_dataset_variable(v, content_dataset_name=content_dataset_name) for v in variables)
    return tuple(variable for variable in built if variable is not None)


def to_variables_json(
    variables: Iterable[Variable], *, content_dataset_name: str
) -> list[dict[str, Any]]:
    """`to_dataset_variables` in the CreateDataset request's shape."""
    found = to_dataset_variables(variables, content_dataset_name=content_dataset_name)
    return [dump(variable) for variable in found]


def to_dataset_variable(variable: Variable, *, content_dataset_name: str) -> DatasetVariable | None:
    name = variable.name
    kind = variable.dataset_type
    if kind not in (OUTPUT_FILE_URI, DATASET_CONTENT_VERSION):
        kind = variable.hint or kind
    if kind == OUTPUT_FILE_URI:
        file_name = _NOT_FILE_NAME.sub("_", f"{name}.{_extension(variable.default)}")
        return DatasetVariable(name, output_file_uri_value=OutputFileUriValue(file_name[-255:]))
    if kind == DATASET_CONTENT_VERSION:
        version = DatasetContentVersionValue(content_dataset_name)
        return DatasetVariable(name, dataset_content_version_value=version)
    value = dataset_value(variable.default)
    if value is None:
        return None
    if isinstance(value, float):
        return DatasetVariable(name, double_value=value)
    return DatasetVariable(name, string_value=value)


def _extension(default: Any) -> str:
    """`csv` for a default of `s3://b/k/alerts.csv`; `out` when it has none."""
    if isinstance(default, str):
        suffix = PurePosixPath(default.rstrip("/")).suffix[1:]
        if _EXTENSION.match(suffix):
            return suffix
    return DEFAULT_EXTENSION
