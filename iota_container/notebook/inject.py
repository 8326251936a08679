"""Put a run's variable values into a notebook, as literals that are never executed as data.

Two ways, chosen by the notebook:
- it has a cell tagged `parameters`: a new `injected-parameters` cell goes right after
  it, the papermill way (an earlier injected cell is replaced);
- it has none: the first plain assignment of each variable, anywhere in the code, gets
  its value replaced, as the original AWS containerization extension did.

A value is written as a Python literal of its JSON value (`python_literal`), after it is
given the type of the notebook's own default (`value_for_default`). Names are checked
first (`check_variable_names`); everything is checked before the notebook is changed, so
a refused run leaves it as it was and runs no cell.
"""

from __future__ import annotations

import builtins
import logging
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from iota_container.errors import VariableError
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
from iota_container.notebook.document import describe_json, is_python, notebook_language
from iota_container.variable_codec import JSON_TYPES, decode_value
from iota_container.variables import is_python_name

log = logging.getLogger(__name__)

MODE_PARAMETERS_CELL = "parameters-cell"
MODE_FIRST_ASSIGNMENT = "first-assignment"
MODE_NOT_PYTHON = "not-python"

# What IPython itself puts in the kernel's namespace, besides Python's builtins.
IPYTHON_NAMES = frozenset(
    {"get_ipython", "display", "In", "Out", "exit", "quit", "_ih", "_oh", "_dh", "_i", "_ii"}
    | {"_iii", "_", "__", "___"}
)
_IPYTHON_HISTORY_NAME = re.compile(r"_i?\d+")  # _1, _i1: outputs and inputs by number


@dataclass
class InjectionReport:
    mode: str
    assigned: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    unparsed_cells: list[int] = field(default_factory=list)


def python_literal(value: Any) -> str:
    """Python source for a JSON value: `repr`, except for the non-finite floats (also
    inside lists and dicts), which have no literal and are written `float('nan')`."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)


def check_variable_names(names: Collection[str], assigned_by_notebook: Collection[str]) -> None:
    """Refuse, before any cell runs, a variable that would rebind a name Python or IPython
    itself uses in the kernel. The rule:

    - a dunder (`__builtins__`, `__name__`, any `__x__`) is always refused: these are the
      interpreter's and IPython's own, and rebinding `__builtins__` takes every builtin
      away from the cells that follow;
    - a builtin (`print`, `len`, `input`, ...) or a name IPython puts in the namespace
      (`get_ipython`, `display`, `In`, `Out`, `_`, `_i1`, ...) is refused unless the
      notebook itself assigns that name (a plain assignment anywhere in its code): then it
      is the notebook's own variable, which it chose to call `input`.

    A name that is not a Python name (`is_python_name`) is not refused here: it is not
    injected, and `iota.params()` still reads it.
    """
    for name in names:
        if not is_python_name(name):
            continue
        if name.startswith("__") and name.endswith("__") and len(name) > 4:
            raise VariableError(
                f"variable {name!r} is a name Python and IPython keep for themselves "
                "(__...__): rename the variable"
            )
        if _is_kernel_name(name) and name not in assigned_by_notebook:
            raise VariableError(
                f"variable {name!r} would replace Python's or IPython's own {name!r}, and the "
                f"notebook never assigns {name}: rename the variable (or assign it in the "
                "notebook)"
            )


def _is_kernel_name(name: str) -> bool:
    return (
        name in vars(builtins)
        or name in IPYTHON_NAMES
        or bool(_IPYTHON_HISTORY_NAME.fullmatch(name))
    )


def check_encodable(name: str, value: Any) -> None:
    """Refuse a string with a lone surrogate (JSON's "\\ud800" escape allows one): no
    UTF-8 file can hold it, so the executed notebook could not be written after the run."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as e:
                raise VariableError(
                    f"variable {name!r} holds U+{ord(item[e.start]):04X}, half of a surrogate "
                    "pair, which no UTF-8 file can hold: fix the value in the params file"
                ) from e


def value_for_default(name: str, value: Any, default: Any, type_hint: str | None = None) -> Any:
    """`value` with the type of the notebook's default for it, the same conversion as
    `iota.params().variable(name, type)`: dataset variables are strings or doubles, so a
    bool, list or dict travels as a JSON string ("true", "[1, 2]") and a number may come
    as a numeric string ("25" is 25.0 for a default of 30.0, 25 for a default of 30); a
    whole double is an int for an int default. A value that cannot have that type
    (`"abc"` for 30.0, 60.5 for 60) is refused, naming the variable, the value and the
    type. A default that is no JSON type (None, a tuple, an expression) takes the value as
    it is, unless a type hint (`x: int = None`, `x = None  # type: int`) names one."""
    wanted = wanted_type(default, type_hint)
    if wanted is None:
        return value
    try:
        return decode_value(name, value, wanted, "the params file")
    except (VariableError, RecursionError) as e:
        raise VariableError(
            f"variable {name!r} is {describe_json(value)}, not {_declared(wanted, default)}: "
            f"{_type_fix(wanted)}"
        ) from e


def wanted_type(default: Any, type_hint: str | None) -> type[Any] | None:
    """The type the notebook gives a variable: its default's when that is a JSON type,
    else the one its type hint names, else None (any value goes)."""
    if type(default) in JSON_TYPES.values():
        return type(default)
    if default is None or default is NOT_LITERAL:
        return JSON_TYPES.get(type_hint or "")
    return None


def _declared(wanted: type[Any], default: Any) -> str:
    """`a float like the notebook's default 30.0`, `an int as the notebook's type hint says`."""
    article = "an" if wanted is int else "a"
    if type(default) is not wanted:
        return f"{article} {wanted.__name__} as the notebook's type hint says"
    shown = python_literal(default)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{article} {wanted.__name__} like the notebook's default {shown}"


def _type_fix(wanted: type[Any]) -> str:
    if wanted is int:
        return "give a whole number (or a string holding one)"
    if wanted is float:
        return "give a number (or a string holding one)"
    if wanted is bool:
        return 'give true or false (or the string "true" or "false")'
    if wanted is str:
        return "give a string"
    return f"give a JSON {wanted.__name__} (or a string holding one)"


def inject_variables(notebook: Any, variables: Mapping[str, Any]) -> InjectionReport:
    """Inject `variables` into `notebook` in place; see the module docstring."""
    language = notebook_language(notebook)
    if not is_python(language):
        log.warning(
            "the notebook is in %s: variables are injected into Python notebooks only "
            "(the params file still holds them)",
            language,
        )
        return InjectionReport(MODE_NOT_PYTHON, unassigned=list(variables))
    first, unparsed = first_assignments(notebook)
    _check_variables(variables, first)
    parameters_index = tagged_cell_index(notebook, PARAMETERS_TAG)
    if parameters_index is None:
        report = _rewrite_first_assignments(notebook, variables, first, unparsed)
    else:
        report = _insert_parameters_cell(notebook, parameters_index, variables)
    injection = {"mode": report.mode, "parameters": dict(variables)}
    notebook.metadata.setdefault("iota_container", {})["injection"] = injection
    return report


def _check_variables(variables: Mapping[str, Any], assigned_by_notebook: Collection[str]) -> None:
    """Everything that refuses a run, before the notebook changes; and a log line for
    each variable that is no Python name, which the run goes on without."""
    check_variable_names(variables, assigned_by_notebook)
    for name, value in variables.items():
        check_encodable(name, value)
        if not is_python_name(name):
            log.warning(
                "variable %r is not a Python name: not injected (iota.params() reads it)", name
            )


def _rewrite_first_assignments(
    notebook: Any,
    variables: Mapping[str, Any],
    first: Mapping[str, Assignment],
    unparsed: list[int],
) -> InjectionReport:
    report = InjectionReport(MODE_FIRST_ASSIGNMENT, unparsed_cells=unparsed)
    by_cell: dict[int, list[tuple[Assignment, str]]] = {}
    for name, value in variables.items():
        assignment = first.get(name)
        if assignment is not None and assignment.not_rewritable:
            log.warning(
                "variable %r is not injected: its first assignment, in cell %d, is after %s; "
                "remove that character to inject it",
                name,
                assignment.cell_index,
                assignment.not_rewritable,
            )
            assignment = None
        if assignment is None or not is_python_name(name):
            report.unassigned.append(name)
            continue
        typed = value_for_default(name, value, assignment.literal, assignment.type_hint)
        by_cell.setdefault(assignment.cell_index, []).append((assignment, python_literal(typed)))
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
    source = cell_source(notebook.cells[parameters_index])
    declared = {a.name: a for a in reversed(cell_assignments(source, parameters_index) or [])}
    lines = ["# Parameters"]
    for name, value in variables.items():
        if not is_python_name(name):
            report.unassigned.append(name)
            continue
        default = declared.get(name)
        if default is None:
            log.info("variable %r is not in the parameters cell; injected all the same", name)
            typed = value
        else:
            typed = value_for_default(name, value, default.literal, default.type_hint)
        lines.append(f"{name} = {python_literal(typed)}")
        report.assigned.append(name)
    cell = nbformat.v4.new_code_cell(source="\n".join(lines) + "\n")
    cell.metadata["tags"] = [INJECTED_TAG]
    existing = tagged_cell_index(notebook, INJECTED_TAG)
    if existing is not None:
        notebook.cells[existing] = cell
    else:
        notebook.cells.insert(parameters_index + 1, cell)
    return report
