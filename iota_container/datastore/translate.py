"""A SQL dataset's Presto SQL as DuckDB's, translated by sqlglot (never by hand).

The service ran `sqlQuery` and `deltaTime.timeExpression` on Presto. sqlglot parses them
as Presto and writes them for DuckDB; what it cannot carry (`UnsupportedError`), and the
functions it passes through unchanged that DuckDB does not have, are one-line errors that
name them. The tables a query reads are data store names (common table expressions aside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iota_container.errors import IotaError


class QueryTranslationError(IotaError):
    """A query or time expression that does not parse, or does not translate to DuckDB."""


@dataclass(frozen=True)
class TranslatedQuery:
    sql: str  # DuckDB's
    tables: tuple[str, ...]  # the names it reads, in the order first met
    functions: tuple[str, ...]  # functions sqlglot passed through as they were written


def translate_query(sql: str, where: str) -> TranslatedQuery:
    """`where` names the text in messages, e.g. "sqlQuery of dataset 'report'"."""
    from sqlglot import exp

    tree = _parse(sql, where, expression=False)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables: list[str] = []
    for table in tree.find_all(exp.Table):
        name = table.name
        if name and name.lower() not in ctes and name not in tables:
            tables.append(name)
    return TranslatedQuery(_write(tree, where), tuple(tables), _passed_through(tree))


def translate_expression(text: str, where: str) -> tuple[str, tuple[str, ...]]:
    """A scalar expression (timeExpression) as DuckDB's, and its passed-through functions."""
    tree = _parse(text, where, expression=True)
    return _write(tree, where), _passed_through(tree)


def check_functions(functions: tuple[str, ...], known: Callable[[str], bool], where: str) -> None:
    """QueryTranslationError naming the passed-through functions DuckDB does not know."""
    unknown = [name for name in functions if not known(name)]
    if unknown:
        names = ", ".join(dict.fromkeys(unknown))
        raise QueryTranslationError(
            f"{where} uses {names}, which sqlglot cannot translate from Presto to DuckDB "
            "and DuckDB does not have: rewrite it with other functions"
        )


def _parse(text: str, where: str, *, expression: bool) -> Any:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        trees = [sqlglot.parse_one(text, read="presto")] if expression else None
        if trees is None:
            trees = [t for t in sqlglot.parse(text, read="presto") if t is not None]
    except (ParseError, TokenError) as e:
        raise QueryTranslationError(
            f"{where} does not parse as Presto SQL ({_first_error(e)}): fix its syntax"
        ) from e
    if len(trees) != 1:
        raise QueryTranslationError(
            f"{where} holds {len(trees)} statements, not 1: keep one SELECT"
        )
    tree = trees[0]
    if not expression and not isinstance(tree, exp.Query):
        kind = type(tree).__name__.upper()
        raise QueryTranslationError(f"{where} is a {kind} statement, not a query: write a SELECT")
    return tree


def _write(tree: Any, where: str) -> str:
    from sqlglot.errors import ErrorLevel, UnsupportedError

    try:
        return str(tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE))
    except UnsupportedError as e:
        raise QueryTranslationError(
            f"{where} cannot be translated from Presto to DuckDB ({_first_error(e)}): "
            "rewrite that part"
        ) from e


def _passed_through(tree: Any) -> tuple[str, ...]:
    from sqlglot import exp

    return tuple(dict.fromkeys(f.name.lower() for f in tree.find_all(exp.Anonymous)))


def _first_error(error: Exception) -> str:
    details = getattr(error, "errors", None)
    if details:
        first = details[0]
        description = first.get("description") or str(error)
        line, column = first.get("line"), first.get("col")
        return f"{description} at line {line}, column {column}" if line else str(description)
    return str(error).splitlines()[0] if str(error) else type(error).__name__
