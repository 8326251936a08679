"""A notebook document's shape, checked before anything runs, and the language it is in.

Jupyter's own check is the nbformat JSON schema, but importing jsonschema costs more
than a second in some environments, on the run path of every container. So the run
checks, by hand, the fields that it, nbclient and nbconvert read: a notebook whose cell
is a string, whose `source` is a number or whose `tags` are a string is refused here
with one line naming the field, instead of running its cells and failing afterwards,
when nothing has been uploaded yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from iota_container.errors import NotebookError

CELL_TYPES = ("code", "markdown", "raw")
OUTPUT_TYPES = ("execute_result", "display_data", "stream", "error")

_FIX = "fix it in the notebook's JSON, or save the notebook again with Jupyter"


def check_notebook_structure(document: Any, where: str) -> None:
    """Raise NotebookError for the first field of `document` that does not have the
    shape of an nbformat 4 notebook (`where` names the notebook in the message)."""
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("cells"), list)
        or not _is_int(document.get("nbformat"))
    ):
        raise NotebookError(
            f"{where} is not a Jupyter notebook (no nbformat and cells): "
            "give an .ipynb file saved by Jupyter"
        )
    if document["nbformat"] != 4:
        raise NotebookError(
            f"{where} is an nbformat {document['nbformat']} notebook, not 4: "
            "open it in Jupyter and save it again, which writes nbformat 4"
        )
    check = _Checker(where)
    check.field(document, "nbformat_minor", "a whole number", _is_int, optional=True)
    metadata = check.field(document, "metadata", "an object", _is_object, optional=True) or {}
    _check_notebook_metadata(check, metadata)
    for index, cell in enumerate(document["cells"]):
        _check_cell(check, cell, f"cells[{index}]")


def _check_notebook_metadata(check: _Checker, metadata: dict[str, Any]) -> None:
    spec = check.field(metadata, "kernelspec", "an object", _is_object, "metadata", optional=True)
    if spec is not None:
        check.field(spec, "name", "a string", _is_str, "metadata.kernelspec")
        check.field(spec, "language", "a string", _is_str, "metadata.kernelspec", optional=True)
    info = check.field(
        metadata, "language_info", "an object", _is_object, "metadata", optional=True
    )
    if info is not None:
        check.field(info, "name", "a string", _is_str, "metadata.language_info", optional=True)
    check.field(metadata, "iota_container", "an object", _is_object, "metadata", optional=True)


def _check_cell(check: _Checker, cell: Any, path: str) -> None:
    if not isinstance(cell, dict):
        check.fail(path, "an object (a cell)", cell)
    kind = check.field(cell, "cell_type", "a string", _is_str, path)
    if kind not in CELL_TYPES:
        check.fail(f"{path}.cell_type", f"one of {', '.join(CELL_TYPES)}", kind)
    check.field(cell, "source", "a string or a list of strings", _is_text, path)
    check.field(cell, "id", "a string", _is_str, path, optional=True)
    metadata = check.field(cell, "metadata", "an object", _is_object, path)
    check.field(metadata, "tags", "a list of strings", _is_strings, f"{path}.metadata", True)
    check.field(cell, "attachments", "an object", _is_object, path, optional=True)
    if kind == "code":
        check.field(cell, "execution_count", "a whole number or null", _is_count, path, True)
        outputs = check.field(cell, "outputs", "a list", _is_list, path)
        for number, output in enumerate(outputs):
            _check_output(check, output, f"{path}.outputs[{number}]")


def _check_output(check: _Checker, output: Any, path: str) -> None:
    if not isinstance(output, dict):
        check.fail(path, "an object (an output)", output)
    kind = check.field(output, "output_type", "a string", _is_str, path)
    if kind not in OUTPUT_TYPES:
        check.fail(f"{path}.output_type", f"one of {', '.join(OUTPUT_TYPES)}", kind)
    if kind == "stream":
        check.field(output, "text", "a string or a list of strings", _is_text, path)
    elif kind == "error":
        check.field(output, "traceback", "a list of strings", _is_strings, path, True)
    else:
        check.field(output, "data", "an object", _is_object, path, optional=True)
        check.field(output, "metadata", "an object", _is_object, path, optional=True)


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def field(
        self,
        parent: dict[str, Any],
        key: str,
        expected: str,
        accepts: Callable[[Any], bool],
        path: str = "",
        optional: bool = False,
    ) -> Any:
        """`parent[key]` when it is what `accepts` says, else raise."""
        name = f"{path}.{key}" if path else key
        if key not in parent:
            if optional:
                return None
            raise NotebookError(f"{self.where}: {name} is missing (it must be {expected}): {_FIX}")
        value = parent[key]
        if not accepts(value):
            self.fail(name, expected, value)
        return value

    def fail(self, name: str, expected: str, value: Any) -> NoReturn:
        raise NotebookError(
            f"{self.where}: {name} is {describe_json(value)}, not {expected}: {_FIX}"
        )


def describe_json(value: Any) -> str:
    """`a string ('python3')`, `a number (42)`, `an object`: short enough for one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a bool ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return value is None or _is_int(value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or _is_strings(value)


def notebook_language(notebook: Any) -> str | None:
    """The language the notebook says it is written in (its kernelspec's, else its
    language_info's), as it says it ("R", "python"); None when it does not say."""
    metadata = notebook.get("metadata") or {}
    language = (metadata.get("kernelspec") or {}).get("language") or (
        metadata.get("language_info") or {}
    ).get("name")
    return str(language) if language else None


def is_python(language: str | None) -> bool:
    """Python, or unknown (a notebook that does not say is taken for Python, as Jupyter
    does when it opens one)."""
    return language is None or language.lower().startswith(("python", "ipython"))


def kernel_name(notebook: Any) -> str | None:
    metadata = notebook.get("metadata") or {}
    name = (metadata.get("kernelspec") or {}).get("name")
    return str(name) if name else None
