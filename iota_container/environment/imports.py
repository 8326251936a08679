"""What a notebook imports and asks pip for, read from its code without running it.

Every code cell counts, and so does every import in it: at top level, inside functions,
branches and loops. An import inside `try:` whose handler catches ImportError (or
ModuleNotFoundError, or a bare/Exception handler) is *optional*: the notebook copes
without it. `%pip install` and `!pip install` lines are requirements in pip's own
syntax. Relative imports (`from . import x`) name no distribution and are skipped.
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
_PIP_LINE = re.compile(r"^\s*[%!]\s*(?:python3?\s+-m\s+)?pip3?\s+install\b(?P<args>.*)$")
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
        tree = _parse(source)
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


def _parse(source: str) -> ast.Module | None:
    prepared = parseable_source(source)
    if prepared is None:
        return None
    try:
        return ast.parse(prepared[0])
    except (SyntaxError, ValueError):
        return None


def _imports(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """(top-level module name, optional) for each import statement or literal dynamic
    import, walking the tree with the stack of enclosing `try` handlers."""
    yield from _walk(tree, guarded=False)


def _walk(node: ast.AST, guarded: bool) -> Iterator[tuple[str, bool]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield _top_level(alias.name), guarded
        return
    if isinstance(node, ast.ImportFrom):
        if node.level == 0 and node.module:
            yield _top_level(node.module), guarded
        return
    if isinstance(node, ast.Call):
        name = _dynamic_import_name(node)
        if name:
            yield _top_level(name), guarded
    if isinstance(node, ast.Try) or _is_try_star(node):
        body_guarded = guarded or _catches_import_error(node.handlers)  # type: ignore[attr-defined]
        for child in node.body:  # type: ignore[attr-defined]
            yield from _walk(child, body_guarded)
        for part in ("handlers", "orelse", "finalbody"):
            for child in getattr(node, part):
                yield from _walk(child, guarded)
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, guarded)


def _is_try_star(node: ast.AST) -> bool:
    try_star = getattr(ast, "TryStar", None)
    return try_star is not None and isinstance(node, try_star)


def _catches_import_error(handlers: Iterable[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        if handler.type is None:
            return True
        caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for expression in caught:
            name = expression.attr if isinstance(expression, ast.Attribute) else None
            if isinstance(expression, ast.Name):
                name = expression.id
            if name in _IMPORT_ERRORS:
                return True
    return False


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
    for line in source.splitlines():
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
            if word in ("-q", "--quiet", "-U", "--upgrade", "--user", "--no-cache-dir"):
                continue
            if word.startswith("-"):
                options.append(word)
                skip_next = "=" not in word and word in _OPTIONS_WITH_VALUES
                continue
            requirements.append(word)
    return requirements, options


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
