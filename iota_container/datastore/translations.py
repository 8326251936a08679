"""Translations kept in the state database, so that a run whose query was translated
before needs no sqlglot: importing it and loading its Presto and DuckDB dialects cost
each run about 0.3 s (bench/sql_dataset_vs_duckdb.py), as much as the query itself on a
million messages. A translation is keyed by its text, its kind and the installed sqlglot
(a new sqlglot may translate differently); a text that fails to translate is not kept, so
its error is raised again, by sqlglot, at every run.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib.util import find_spec
from typing import Any

from iota_container.datastore.state import StateConnection
from iota_container.datastore.translate import (
    TranslatedQuery,
    translate_expression,
    translate_query,
)

QUERY = "query"
EXPRESSION = "expression"


@lru_cache(maxsize=1)
def _sqlglot_version() -> str:
    """The installed sqlglot, as a key: where its package is, and the size and time of
    its `__init__.py`, which an upgrade or reinstall rewrites. Not its version number:
    importlib.metadata reads every installed distribution's metadata to find it, 20 ms
    of a run that takes a few hundred, and sqlglot itself is what is not imported."""
    spec = find_spec("sqlglot")
    origin = spec.origin if spec is not None else None
    if origin is None:
        return "absent"  # translate_query raises the `sql` extra's error, never kept
    stat = os.stat(origin)
    return f"{origin}:{stat.st_size}:{stat.st_mtime_ns}"


class TranslationCache(StateConnection):
    def query(self, sql: str, where: str) -> TranslatedQuery:
        kept = self._kept(QUERY, sql)
        if kept is not None:
            return TranslatedQuery(kept["sql"], tuple(kept["tables"]), tuple(kept["functions"]))
        query = translate_query(sql, where)
        document = {"sql": query.sql, "tables": query.tables, "functions": query.functions}
        self._keep(QUERY, sql, document)
        return query

    def expression(self, text: str, where: str) -> tuple[str, tuple[str, ...]]:
        kept = self._kept(EXPRESSION, text)
        if kept is not None:
            return kept["sql"], tuple(kept["functions"])
        sql, functions = translate_expression(text, where)
        self._keep(EXPRESSION, text, {"sql": sql, "functions": functions})
        return sql, functions

    def _kept(self, kind: str, text: str) -> dict[str, Any] | None:
        row = self._connection.execute(
            "SELECT translation FROM query_translations"
            " WHERE kind = ? AND text = ? AND sqlglot_version = ?",
            (kind, text, _sqlglot_version()),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def _keep(self, kind: str, text: str, document: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO query_translations"
                " (kind, text, sqlglot_version, translation) VALUES (?, ?, ?, ?)",
                (kind, text, _sqlglot_version(), json.dumps(document)),
            )
