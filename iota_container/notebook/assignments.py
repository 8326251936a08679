"""Find the plain assignments of a notebook's code cells, as the original extension did.

A *plain assignment* is `name = value` (or `name: T = value`) with one simple name as
its target, anywhere in a cell: at top level, inside loops, branches or functions. Lines
that start with `%` or `!` are IPython syntax; they become `pass` for parsing, so the
code around them still counts. Cells that start with a `%%` cell magic, and cells that
still do not parse, are left alone. Shared by variable inspection and injection, so
that what `iota-container variables` lists is exactly what a run rewrites.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


@dataclass(frozen=True)
class Assignment:
    name: str
    cell_index: int
    # Span of the assigned value: lines are 1-based, columns are UTF-8 byte offsets.
    start: tuple[int, int]
    end: tuple[int, int]
    value_source: str
    comment: str = ""  # a trailing `# ...` on the value's last line: the variable's description

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
    """The cell's source with IPython-only lines blanked out, and those lines' numbers;
    None for a `%%` cell magic, whose body is not Python."""
    lines = source.split("\n")
    first_code = next((line.strip() for line in lines if line.strip()), "")
    if first_code.startswith("%%"):
        return None
    magic_lines: set[int] = set()
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines[number - 1] = line[: len(line) - len(stripped)] + "pass"
            magic_lines.add(number)
    return "\n".join(lines), magic_lines


def cell_assignments(source: str, cell_index: int) -> list[Assignment] | None:
    """Plain assignments of one cell in source order; None when the cell does not parse."""
    prepared = parseable_source(source)
    if prepared is None:
        return None
    text, magic_lines = prepared
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    lines = source.split("\n")
    found = []
    for name, value in _plain_assignments(tree):
        end_line = value.end_lineno or value.lineno
        if value.lineno in magic_lines or end_line in magic_lines:
            continue
        start = (value.lineno, value.col_offset)
        end = (end_line, value.end_col_offset or 0)
        segment = _segment(lines, start, end)
        comment = _trailing_comment(lines, end)
        found.append(Assignment(name, cell_index, start, end, segment, comment))
    return sorted(found, key=lambda a: a.start)


def _plain_assignments(tree: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                yield target.id, node.value
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and isinstance(node.target, ast.Name)
            and node.simple
        ):
            yield node.target.id, node.value


def _trailing_comment(lines: list[str], end: tuple[int, int]) -> str:
    rest = lines[end[0] - 1].encode("utf-8")[end[1] :].decode("utf-8", "replace").strip()
    return rest[1:].strip() if rest.startswith("#") else ""


def _segment(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    encoded = [line.encode("utf-8") for line in lines[start[0] - 1 : end[0]]]
    if len(encoded) == 1:
        return encoded[0][start[1] : end[1]].decode("utf-8")
    encoded[0] = encoded[0][start[1] :]
    encoded[-1] = encoded[-1][: end[1]]
    return b"\n".join(encoded).decode("utf-8")


def replace_spans(source: str, replacements: list[tuple[Assignment, str]]) -> str:
    """`source` with each assignment's value span replaced, last first so spans stay valid."""
    lines = [line.encode("utf-8") for line in source.split("\n")]
    for assignment, text in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        (start_line, start_col), (end_line, end_col) = assignment.start, assignment.end
        head = lines[start_line - 1][:start_col]
        tail = lines[end_line - 1][end_col:]
        lines[start_line - 1 : end_line] = [head + text.encode("utf-8") + tail]
    return "\n".join(line.decode("utf-8") for line in lines)


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
