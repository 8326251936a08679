"""A notebook's variables, found without running it.

From the cell tagged `parameters` when there is one, else from the first plain
assignment of each name anywhere in the code cells, keeping those whose value is a
literal: exactly the assignments a run rewrites (notebook/assignments.py). Only Python
notebooks: what a plain assignment is, and what a literal is, is Python's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iota_container.errors import NotebookError
from iota_container.notebook.assignments import (
    NOT_LITERAL,
    PARAMETERS_TAG,
    Assignment,
    cell_assignments,
    cell_source,
    first_assignments,
    tagged_cell_index,
)
from iota_container.notebook.document import is_python, kernel_name, notebook_language
from iota_container.variables import Variable, check_variables, variable_from_default


def notebook_variables(notebook: Any) -> list[Variable]:
    language = notebook_language(notebook)
    if not is_python(language):
        raise NotebookError(
            f"cannot detect variables for {language} notebooks (kernel "
            f"{kernel_name(notebook)!r}): only Python notebooks are read; list the variables "
            "in a --variables-file for `build`"
        )
    if not any(cell.get("cell_type") == "code" for cell in notebook["cells"]):
        raise NotebookError("the notebook has no code cells: nothing to run or parameterize")
    parameters_index = tagged_cell_index(notebook, PARAMETERS_TAG)
    if parameters_index is not None:
        source = cell_source(notebook["cells"][parameters_index])
        found = cell_assignments(source, parameters_index)
        if found is None:
            raise NotebookError(
                f"the parameters cell (cell {parameters_index}) does not parse: fix its syntax"
            )
        assignments: dict[str, Assignment] = {}
        for assignment in found:
            assignments.setdefault(assignment.name, assignment)
    else:
        first, _ = first_assignments(notebook)
        # A run leaves these as they are (see assignments.py), so they are no variables.
        assignments = {name: a for name, a in first.items() if not a.not_rewritable}
    variables = [
        variable_from_default(
            name, assignment.literal, assignment.description, assignment.type_hint
        )
        for name, assignment in sorted(assignments.items(), key=lambda item: item[1].start_key)
        if assignment.literal is not NOT_LITERAL
    ]
    return check_variables(variables)


def inspect_notebook_file(path: Path) -> list[Variable]:
    from iota_container.notebook.execute import load_notebook_document

    # The plain JSON is enough here; nbformat would add a fifth of a second of imports.
    return notebook_variables(load_notebook_document(path, "the command line"))
