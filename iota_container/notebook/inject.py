"""Put a run's variable values into a notebook, as literals that are never executed as data.

Two ways, chosen by the notebook:
- it has a cell tagged `parameters`: a new `injected-parameters` cell goes right after
  it, the papermill way (an earlier injected cell is replaced);
- it has none: the first plain assignment of each variable, anywhere in the code, gets
  its value replaced, as the original AWS containerization extension did.

A value is written as `repr()` of its JSON value. Dataset variables can only be strings
or doubles, so when the notebook's own default is a bool, list or dict and the value is
a string holding that JSON, the decoded value is written instead.
"""

from __future__ import annotations

import json
import keyword
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iota_container.notebook.assignments import (
    INJECTED_TAG,
    NOT_LITERAL,
    PARAMETERS_TAG,
    Assignment,
    cell_assignments,
    cell_source,
    first_assignments,
    replace_spans,
    tagged_cell_index,
)

log = logging.getLogger(__name__)

MODE_PARAMETERS_CELL = "parameters-cell"
MODE_FIRST_ASSIGNMENT = "first-assignment"


@dataclass
class InjectionReport:
    mode: str
    assigned: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    unparsed_cells: list[int] = field(default_factory=list)


def python_literal(value: Any) -> str:
    """Python source for a JSON value; `repr` except for the non-finite floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def value_for_default(value: Any, default: Any) -> Any:
    """Decode a JSON-carrying string when the notebook's default is bool, list or dict;
    give back an int when the default is an int and the value a whole double (a dataset's
    doubleValue 60.0 for a notebook's `window = 60`)."""
    if (
        isinstance(default, int)
        and not isinstance(default, bool)
        and isinstance(value, float)
        and value.is_integer()
    ):
        return int(value)
    if isinstance(value, str) and isinstance(default, (bool, list, dict)):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if type(decoded) is type(default):
            return decoded
    return value


def inject_variables(notebook: Any, variables: Mapping[str, Any]) -> InjectionReport:
    """Inject `variables` into `notebook` in place; see the module docstring."""
    parameters_index = tagged_cell_index(notebook, PARAMETERS_TAG)
    if parameters_index is None:
        report = _rewrite_first_assignments(notebook, variables)
    else:
        report = _insert_parameters_cell(notebook, parameters_index, variables)
    notebook.metadata.setdefault("iota_container", {})["injection"] = {
        "mode": report.mode,
        "parameters": dict(variables),
    }
    return report


def _rewrite_first_assignments(notebook: Any, variables: Mapping[str, Any]) -> InjectionReport:
    first, unparsed = first_assignments(notebook)
    report = InjectionReport(MODE_FIRST_ASSIGNMENT, unparsed_cells=unparsed)
    by_cell: dict[int, list[tuple[Assignment, str]]] = {}
    for name, value in variables.items():
        assignment = first.get(name)
        if assignment is None:
            report.unassigned.append(name)
            continue
        literal = python_literal(value_for_default(value, assignment.literal))
        by_cell.setdefault(assignment.cell_index, []).append((assignment, literal))
        report.assigned.append(name)
    for index, replacements in by_cell.items():
        cell = notebook.cells[index]
        cell["source"] = replace_spans(cell_source(cell), replacements)
    return report


def _insert_parameters_cell(
    notebook: Any, parameters_index: int, variables: Mapping[str, Any]
) -> InjectionReport:
    import nbformat

    report = InjectionReport(MODE_PARAMETERS_CELL)
    declared = {
        a.name: a.literal
        for a in cell_assignments(cell_source(notebook.cells[parameters_index]), parameters_index)
        or []
    }
    lines = ["# Parameters"]
    for name, value in variables.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            log.warning("variable %r is not a Python name; not injected", name)
            report.unassigned.append(name)
            continue
        default = declared.get(name, NOT_LITERAL)
        if name not in declared:
            log.info("variable %r is not in the parameters cell; injected all the same", name)
        lines.append(f"{name} = {python_literal(value_for_default(value, default))}")
        report.assigned.append(name)
    cell = nbformat.v4.new_code_cell(source="\n".join(lines) + "\n")
    cell.metadata["tags"] = [INJECTED_TAG]
    existing = tagged_cell_index(notebook, INJECTED_TAG)
    if existing is not None:
        notebook.cells[existing] = cell
    else:
        notebook.cells.insert(parameters_index + 1, cell)
    return report
