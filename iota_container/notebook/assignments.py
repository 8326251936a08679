"""Find the plain assignments of a notebook's code cells, as the original extension did.

A *plain assignment* is `name = value` (or `name: T = value`) with one simple name as
its target, anywhere in a cell: at top level, inside loops, branches or functions. Lines
that start with `%` or `!` are IPython syntax, and so are the lines continuing one of
them after a trailing backslash; they become `pass` (and comments) for parsing, so
the code around them still counts, and an assignment on them does not. Cells that start
with a `%%` cell magic, and cells that still do not parse, are left alone. Shared by
variable inspection and injection, so that what `iota-container variables` lists is
exactly what a run rewrites.

Positions come from `ast` and are turned into offsets of the cell's own text with the
line model of notebook/cell_lines.py (the tokenizer's), so a rewrite replaces exactly
the characters of the value and nothing else. An assignment that comes after a line
break only IPython sees (U+2028 and the like) is found but not *rewritable*: there,
IPython may read as a magic or a shell command what Python reads as a comment or a
string, and a value written into it could be run instead of assigned.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iota_container.notebook.cell_lines import CellLines

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

# papermill's convention: `x = 1  # type: int  what it is for`.
_TYPE_COMMENT = re.compile(r"type:\s*(?P<type>\S*)\s*(?P<description>.*)", re.DOTALL)


@dataclass(frozen=True)
class Assignment:
    name: str
    cell_index: int
    # Span of the assigned value: lines are 1-based, columns are UTF-8 byte offsets.
    start: tuple[int, int]
    end: tuple[int, int]
    value_source: str
    description: str = ""  # a trailing `# ...` on the value's last line
    type_hint: str | None = None  # `x: int = ...` or a trailing `# type: int`
    span: tuple[int, int] = (0, 0)  # the value's offsets in the cell's source
    not_rewritable: str = ""  # why a rewrite here would be unsafe, if it would

    @property
    def start_key(self) -> tuple[int, int, int]:
        """Sorts assignments in notebook order."""
        return (self.cell_index, *self.start)

    @property
    def literal(self) -> Any:
        """The assigned value when it is a literal, else `NOT_LITERAL`."""
        try:
            return ast.literal_eval(self.value_source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return NOT_LITERAL


class _NotLiteral:
    def __repr__(self) -> str:
        return "<not a literal>"


NOT_LITERAL: Any = _NotLiteral()


def cell_source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def parseable_source(source: str) -> tuple[str, set[int]] | None:
    """The cell's source with IPython-only lines blanked out (each keeping its line
    ending, so every other line keeps its number and columns), and those lines' numbers;
    None for a `%%` cell magic, whose body is not Python."""
    return _parseable(CellLines(source))


def _parseable(cell: CellLines) -> tuple[str, set[int]] | None:
    if cell.starts_with_cell_magic():
        return None
    blanked = {}
    for number in cell.magic_lines:
        content = cell.content(number)
        stripped = content.lstrip()
        if stripped.startswith(("%", "!")):
            blanked[number] = content[: len(content) - len(stripped)] + "pass"
        else:
            # Continues the command above: no statement of its own. A comment, not an
            # empty line: after a line ending in a bare \r, an empty line ending in \n
            # would make one \r\n of the two line endings.
            blanked[number] = "#"
    return cell.with_lines(blanked), set(cell.magic_lines)


def cell_assignments(source: str, cell_index: int) -> list[Assignment] | None:
    """Plain assignments of one cell in source order; None when the cell does not parse."""
    cell = CellLines(source)
    prepared = _parseable(cell)
    if prepared is None:
        return None
    text, magic_lines = prepared
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):  # ValueError: a NUL, or a lone surrogate
        return None
    found = []
    for name, value, annotation in _plain_assignments(tree):
        end_line = value.end_lineno or value.lineno
        if value.lineno in magic_lines or end_line in magic_lines:
            continue
        start = (value.lineno, value.col_offset)
        end = (end_line, value.end_col_offset or 0)
        found.append(_assignment(cell, cell_index, name, start, end, annotation))
    return sorted(found, key=lambda a: a.start)


def _assignment(
    cell: CellLines,
    cell_index: int,
    name: str,
    start: tuple[int, int],
    end: tuple[int, int],
    annotation: str | None,
) -> Assignment:
    span = (cell.offset(start), cell.offset(end))
    comment = _trailing_comment(cell, end[0], span[1])
    described = _TYPE_COMMENT.fullmatch(comment)
    type_hint = annotation
    if described:
        type_hint = described["type"] or annotation
        comment = described["description"].strip()
    return Assignment(
        name,
        cell_index,
        start,
        end,
        cell.source[span[0] : span[1]],
        description=comment,
        type_hint=type_hint,
        span=span,
        not_rewritable=_unsafe_reason(cell, span[0]),
    )


def _unsafe_reason(cell: CellLines, value_start: int) -> str:
    """Why IPython might not read the value where Python does (see the module docstring)."""
    first_break = cell.first_ipython_only_break
    if first_break is None or first_break >= value_start:
        return ""
    character = cell.source[first_break]
    return (
        f"U+{ord(character):04X} on line {cell.line_at(first_break)}, a line break for "
        "IPython but not for Python"
    )


def _plain_assignments(tree: ast.AST) -> Iterator[tuple[str, ast.expr, str | None]]:
    """(name, value, annotation) of each plain assignment."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                yield target.id, node.value, None
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and isinstance(node.target, ast.Name)
            and node.simple
        ):
            yield node.target.id, node.value, ast.unparse(node.annotation)


def _trailing_comment(cell: CellLines, end_line: int, value_end: int) -> str:
    """The text of a `# ...` right after the value on its last line, else ""."""
    line_start = cell.starts[end_line - 1]
    rest = cell.content(end_line)[value_end - line_start :].strip()
    return rest[1:].strip() if rest.startswith("#") else ""


def replace_spans(source: str, replacements: list[tuple[Assignment, str]]) -> str:
    """`source` with each assignment's value replaced by its text, last first so that the
    offsets of the others stay valid; every other character is kept as it was."""
    for assignment, text in sorted(replacements, key=lambda r: r[0].span, reverse=True):
        start, end = assignment.span
        if source[start:end] != assignment.value_source:
            raise ValueError(f"{assignment.name}: the span is not of this source")
        source = source[:start] + text + source[end:]
    return source


def first_assignments(notebook: Any) -> tuple[dict[str, Assignment], list[int]]:
    """The first plain assignment of each name across the code cells, and the indexes of
    code cells that could not be parsed."""
    first: dict[str, Assignment] = {}
    unparsed: list[int] = []
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        found = cell_assignments(cell_source(cell), index)
        if found is None:
            unparsed.append(index)
            continue
        for assignment in found:
            first.setdefault(assignment.name, assignment)
    return first, unparsed


def tagged_cell_index(notebook: Any, tag: str) -> int | None:
    for index, cell in enumerate(notebook["cells"]):
        if tag in cell.get("metadata", {}).get("tags", []):
            return index
    return None
