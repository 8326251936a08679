"""What a notebook imports and asks pip for, read from its code without running it.

Every code cell counts, and so does every import in it: at top level, inside functions,
branches and loops. An import inside `try:` whose handler catches ImportError (or
ModuleNotFoundError, or a bare/Exception handler) is *optional*: the notebook copes
without it. `%pip install` and `!pip install` lines are requirements in pip's own
syntax. Relative imports (`from . import x`) name no distribution and are skipped.

A cell is read however hostile it is (NUL bytes, nesting deeper than the parser allows):
what does not parse is reported as such, never raised. The body of a `%%time`,
`%%timeit`, `%%capture` or `%%prun` cell is Python run by the kernel and counts too.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iota_container.notebook.assignments import cell_source, parseable_source

# The handlers that make an import optional: what `import x` raises when x is missing.
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_PIP_LINE = re.compile(
    r"^\s*[%!]\s*(?:(?:\{sys\.executable\}|\S*python[\d.]*)\s+-m\s+)?pip3?\s+install\b(?P<args>.*)$"
)
# A shell operator ends the pip command of a `!` line (`!pip install x > log`).
_SHELL_OPERATOR = re.compile(r"^\d*[<>|&;]")
# Cell magics that run their body as Python in the kernel.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
# `importlib.import_module("x")` and `__import__("x")` with a literal name.
_DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class ImportedModule:
    """One top-level module name and where the notebook imports it."""

    name: str
    cells: tuple[int, ...]
    optional: bool  # every import of it is guarded by an ImportError handler


@dataclass(frozen=True)
class PipInstall:
    """One requirement from a `%pip install` / `!pip install` line, as pip reads it."""

    requirement: str
    cell: int


@dataclass(frozen=True)
class NotebookImports:
    modules: tuple[ImportedModule, ...]
    pip_installs: tuple[PipInstall, ...] = ()
    pip_options: tuple[str, ...] = ()  # `--index-url ...` and the like, refused later
    unparsed_cells: tuple[int, ...] = field(default=())

    def names(self) -> list[str]:
        return [module.name for module in self.modules]


def notebook_imports(notebook: Any) -> NotebookImports:
    """The imports and pip lines of every code cell of `notebook` (a parsed .ipynb)."""
    seen: dict[str, tuple[list[int], bool]] = {}
    pip: list[PipInstall] = []
    options: list[str] = []
    unparsed: list[int] = []
    for index, cell in enumerate(notebook.get("cells") or []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        requirements, extra = _pip_requirements(source)
        pip += [PipInstall(requirement, index) for requirement in requirements]
        options += extra
        tree = parse_cell(source)
        if tree is None:
            unparsed.append(index)
            continue
        for name, optional in _imports(tree):
            cells, all_optional = seen.get(name, ([], True))
            if index not in cells:
                cells.append(index)
            seen[name] = (cells, all_optional and optional)
    modules = tuple(
        ImportedModule(name, tuple(cells), optional)
        for name, (cells, optional) in sorted(seen.items())
    )
    return NotebookImports(modules, tuple(pip), tuple(options), tuple(unparsed))


def parse_cell(source: str) -> ast.Module | None:
    """The cell's Python as a tree, or None when it is not Python or does not parse.
    Never raises: the parser gives up on deep nesting with RecursionError or MemoryError."""
    prepared = parseable_source(_python_body(source))
    if prepared is None:
        return None
    try:
        return ast.parse(prepared[0])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _python_body(source: str) -> str:
    """The body of a cell magic that runs Python (`%%time`), else the cell as it is."""
    lines = source.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        words = line.strip()[2:].split(maxsplit=1) if line.strip().startswith("%%") else []
        if words and words[0] in _PYTHON_CELL_MAGICS:
            return "".join(lines[number + 1 :])
        return source
    return source


def _imports(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """(top-level module name, optional) for each import statement or literal dynamic
    import. The walk keeps its own stack: a long expression (`a + a + ...`) nests deeper
    than Python's recursion limit."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, guarded = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _top_level(alias.name), guarded
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield _top_level(node.module), guarded
            continue
        if isinstance(node, ast.Call):
            name = _dynamic_import_name(node)
            if name:
                yield _top_level(name), guarded
        if isinstance(node, ast.Try) or _is_try_star(node):
            body_guarded = guarded or _catches_import_error(node.handlers)  # type: ignore[attr-defined]
            stack += [(child, body_guarded) for child in node.body]  # type: ignore[attr-defined]
            for part in ("handlers", "orelse", "finalbody"):
                stack += [(child, guarded) for child in getattr(node, part)]
            continue
        if isinstance(node, (ast.With, ast.AsyncWith)) and _suppresses_import_error(node):
            stack += [(item, guarded) for item in node.items]
            stack += [(child, True) for child in node.body]
            continue
        stack += [(child, guarded) for child in ast.iter_child_nodes(node)]


def _is_try_star(node: ast.AST) -> bool:
    try_star = getattr(ast, "TryStar", None)
    return try_star is not None and isinstance(node, try_star)


def _catches_import_error(handlers: Iterable[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        if handler.type is None:
            return True
        caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(_name_of(expression) in _IMPORT_ERRORS for expression in caught):
            return True
    return False


def _suppresses_import_error(node: ast.With | ast.AsyncWith) -> bool:
    """`with contextlib.suppress(ImportError):` guards its body like a try/except."""
    for item in node.items:
        call = item.context_expr
        if (
            isinstance(call, ast.Call)
            and _name_of(call.func) == "suppress"
            and any(_name_of(argument) in _IMPORT_ERRORS for argument in call.args)
        ):
            return True
    return False


def _name_of(expression: ast.expr) -> str | None:
    if isinstance(expression, ast.Attribute):
        return expression.attr
    if isinstance(expression, ast.Name):
        return expression.id
    return None


def _dynamic_import_name(call: ast.Call) -> str | None:
    function = call.func
    called = function.attr if isinstance(function, ast.Attribute) else None
    if isinstance(function, ast.Name):
        called = function.id
    if called not in _DYNAMIC_IMPORTERS or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
        return first.value if not first.value.startswith(".") else None
    return None


def _top_level(dotted: str) -> str:
    return dotted.split(".", 1)[0]


def _pip_requirements(source: str) -> tuple[list[str], list[str]]:
    """(requirements, options) of the `%pip install` / `!pip install` lines of a cell.
    Options (`-r`, `--index-url`, ...) are returned as written so that the caller can
    refuse them by name: an image build reads its packages from the lock alone."""
    requirements: list[str] = []
    options: list[str] = []
    for line in _command_lines(source):
        match = _PIP_LINE.match(line)
        if not match:
            continue
        try:
            words = shlex.split(match["args"], comments=True)
        except ValueError:
            options.append(line.strip())
            continue
        skip_next = False
        for word in words:
            if skip_next:
                skip_next = False
                continue
            if _SHELL_OPERATOR.match(word):
                break
            if word in ("-q", "--quiet", "-U", "--upgrade", "--user", "--no-cache-dir"):
                continue
            if word.startswith("-"):
                options.append(word)
                skip_next = "=" not in word and word in _OPTIONS_WITH_VALUES
                continue
            if requirements and (word.startswith("@") or requirements[-1].endswith("@")):
                requirements[-1] = f"{requirements[-1]} {word}"  # `name @ URL`, one requirement
                continue
            requirements.append(word)
    return requirements, options


def _command_lines(source: str) -> Iterator[str]:
    """The cell's lines, with a line ending in a backslash joined to the next one (IPython
    hands both to the same command)."""
    pending = ""
    for line in source.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


_OPTIONS_WITH_VALUES = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-e",
        "--editable",
        "--target",
        "-t",
        "--prefix",
    }
)
