"""A SQL dataset's content: its sqlQuery on DuckDB over the data stores it names.

Each data store the query reads becomes a view of that name over its message files
(read_json / read_parquet, hive partitions as columns: `__dt` and the declared ones),
limited to the run's delta window when the dataset has a deltaTime filter. DuckDB writes
the result with COPY straight to the CSV file (the service's content format), so rows
never pass through Python; the file is staged and renamed, so a failed query leaves none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from iota_container.datastore.delta_window import (
    DeltaWindow,
    WindowLedger,
    delta_time,
    window_for,
)
from iota_container.datastore.filesystems import duckdb_connection, require_sql_extra, s3_filesystem
from iota_container.datastore.layout import JSON, list_files, sql_list
from iota_container.datastore.registry import Datastore, DatastoreRegistry, UnknownDatastore
from iota_container.datastore.translate import QueryTranslationError, check_functions
from iota_container.datastore.translations import TranslationCache
from iota_container.engine.records import RegisteredDataset, Version, to_text
from iota_container.errors import IotaError

if TYPE_CHECKING:
    import duckdb

    from iota_container.engine.state_store import StateStore

TIME_TYPES = ("TIMESTAMP", "DATE")  # and TIMESTAMP WITH TIME ZONE, TIMESTAMP_MS, ...


class DatastoreQueryFailed(IotaError):
    """The query could not read a data store, or DuckDB refused it."""


@dataclass(frozen=True)
class _TimeFilter:
    """A deltaTime filter, translated, with this run's window."""

    sql: str  # the timeExpression, as DuckDB's
    functions: tuple[str, ...]
    where: str  # how messages name it
    window: DeltaWindow


def produce_datastore_content(
    store: StateStore, dataset: RegisteredDataset, version: Version, folder: Path
) -> Path:
    """`folder/<dataset>.csv`: the query's result; records the version's window first."""
    name = dataset.name
    require_sql_extra(f"SQL dataset {name!r} (a sqlQuery without x-iota-source)")
    action = dataset.definition.query_action
    assert action is not None  # MODE_QUERY
    where = f"sqlQuery of dataset {name!r}"
    with TranslationCache(store.home) as translations:
        query = translations.query(action.sql_query, where)
    with DatastoreRegistry(store.home) as registry:
        stores = stores_named(registry, query.tables, name)
    time_filter = _time_filter(store, dataset, version)
    connection = duckdb_connection(s3=any(s.on_s3 for s in stores))
    try:
        # DuckDB's function list costs a query (40 ms): asked only for functions sqlglot
        # passed through, which most queries have none of.
        if query.functions or (time_filter is not None and time_filter.functions):
            known = _function_lookup(connection)
            check_functions(query.functions, known, where)
            if time_filter is not None:
                check_functions(time_filter.functions, known, time_filter.where)
        for datastore in stores:
            relation = _relation(datastore, connection)
            if time_filter is not None:
                _check_time(connection, relation, time_filter, datastore.name)
                relation = _windowed(relation, time_filter)
            _create_view(connection, datastore.name, relation)
        return _copy_to_csv(connection, query.sql, folder / f"{name}.csv", name)
    finally:
        connection.close()


def _time_filter(
    store: StateStore, dataset: RegisteredDataset, version: Version
) -> _TimeFilter | None:
    """The dataset's deltaTime filter with this run's window, recorded on the version."""
    delta = delta_time(dataset.definition)
    if delta is None:
        return None
    where = f"timeExpression {delta.time_expression!r} of dataset {dataset.name!r}"
    with TranslationCache(store.home) as translations:
        time_sql, functions = translations.expression(delta.time_expression, where)
    with WindowLedger(store.home) as ledger:
        previous = ledger.previous_end(dataset.name)
        window = window_for(delta, version, previous, dataset.schedules())
        ledger.record(version, window)
    return _TimeFilter(time_sql, functions, where, window)


def stores_named(
    registry: DatastoreRegistry, tables: Sequence[str], dataset: str
) -> list[Datastore]:
    """The data stores the query names. Presto folds unquoted names to lower case, so a
    name matches a data store whatever its case."""
    by_name = {store.name.lower(): store for store in registry.all()}
    missing = [t for t in tables if t.lower() not in by_name]
    if missing:
        raise UnknownDatastore(
            f"sqlQuery of dataset {dataset!r} reads {', '.join(map(repr, missing))}, which is "
            f"not a registered data store (registered: {registry.names_text()}): register it "
            "with `iota-container datastore register`; see `iota-container datastore list`"
        )
    return [by_name[t.lower()] for t in tables]


def _relation(datastore: Datastore, connection: duckdb.DuckDBPyConnection) -> str:
    """SELECT * over the store's files, hive folders as columns. A JSON store's columns
    are inferred once and then given: DuckDB infers them again at every statement that
    binds the relation (the time check, the view, the query), and with union_by_name
    each inference reads every file, 1.3 s for a million messages in ten files
    (bench/sql_dataset_vs_duckdb.py)."""
    s3 = s3_filesystem() if datastore.on_s3 else None
    files = list_files(datastore.root, datastore.format, s3)
    if not files:
        raise DatastoreQueryFailed(
            f"data store {datastore.name!r} holds no messages yet ({datastore.root}): add "
            f"some with `iota-container datastore put {datastore.name} FILE`"
        )
    relation = files_relation(files, datastore.format)
    if datastore.format != JSON:
        return relation  # Parquet keeps its schema in each file's footer
    return files_relation(files, JSON, _json_columns(connection, relation, datastore))


def _json_columns(
    connection: duckdb.DuckDBPyConnection, relation: str, store: Datastore
) -> dict[str, str]:
    """The columns and types DuckDB infers, hive folders' included: given back to it,
    a folder's value still takes the place of the messages' attribute of that name."""
    import duckdb

    try:  # reads the files' schemas: a malformed file fails here, named
        described = connection.execute(f"DESCRIBE {relation}").fetchall()
    except duckdb.Error as e:
        raise DatastoreQueryFailed(
            f"data store {store.name!r} cannot be read: {_first_line(e)}"
        ) from e
    return {str(row[0]): str(row[1]) for row in described}


def files_relation(
    files: Sequence[str], store_format: str, columns: dict[str, str] | None = None
) -> str:
    """SELECT * over these message files of a store, hive folders as columns; a JSON
    store's `columns` (name: DuckDB type) when they are known. No WHERE: _windowed adds
    the window's."""
    # union_by_name: messages of a store need not all have the same attributes.
    if store_format == JSON and columns is not None:
        struct = ", ".join(f"{_text(name)}: {_text(kind)}" for name, kind in columns.items())
        reader = (
            f"read_json({sql_list(files)}, format = 'newline_delimited', columns = {{{struct}}}"
        )
    elif store_format == JSON:
        reader = f"read_json({sql_list(files)}, format = 'newline_delimited', union_by_name = true"
    else:
        reader = f"read_parquet({sql_list(files)}, union_by_name = true"
    return f"SELECT * FROM {reader}, hive_partitioning = true)"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _create_view(connection: duckdb.DuckDBPyConnection, name: str, relation: str) -> None:
    import duckdb

    try:  # reads the files' schemas: a malformed file fails here, named
        connection.execute(f'CREATE VIEW "{name}" AS {relation}')
    except duckdb.Error as e:
        raise DatastoreQueryFailed(f"data store {name!r} cannot be read: {_first_line(e)}") from e


def _check_time(
    connection: duckdb.DuckDBPyConnection, relation: str, time_filter: _TimeFilter, store: str
) -> None:
    import duckdb

    where = time_filter.where
    try:
        described = connection.execute(
            f"DESCRIBE SELECT ({time_filter.sql}) AS t FROM ({relation})"
        )
        kind = str(described.fetchall()[0][1])
    except duckdb.Error as e:
        raise QueryTranslationError(
            f"{where} cannot be evaluated on data store {store!r} ({_first_line(e)}): name "
            "a column of its messages, or an expression of them"
        ) from e
    if not kind.startswith(TIME_TYPES):
        raise QueryTranslationError(
            f"{where} gives {kind}, not a time: convert it, e.g. from_unixtime(time) for "
            "seconds since 1970, or from_iso8601_timestamp(time) for text"
        )


def _windowed(relation: str, time_filter: _TimeFilter) -> str:
    """The relation (files_relation's `SELECT * FROM reader`) with the window as its own
    WHERE, not around it as a subquery: DuckDB pushes a WHERE on the reader into the
    Parquet scan, which then reads only the window's rows, and a filter over the
    subquery it does not (a third slower over 10 million messages)."""
    moment = f"CAST(({time_filter.sql}) AS TIMESTAMPTZ)"
    window = time_filter.window
    end = f"{moment} < TIMESTAMPTZ '{timestamptz_literal(window.end)}'"
    if window.start is None:
        return f"{relation} WHERE {end}"
    start = f"{moment} >= TIMESTAMPTZ '{timestamptz_literal(window.start)}'"
    return f"{relation} WHERE {start} AND {end}"


def timestamptz_literal(moment: datetime) -> str:
    """A time as DuckDB reads a TIMESTAMPTZ literal's text."""
    return to_text(moment).replace("T", " ").replace("Z", "+00")


def _copy_to_csv(
    connection: duckdb.DuckDBPyConnection, sql: str, target: Path, dataset: str
) -> Path:
    import duckdb

    staging = target.with_name(f".{target.name}.partial")
    quoted = str(staging).replace("'", "''")
    try:
        connection.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT csv, HEADER, DELIMITER ',')")
    except duckdb.Error as e:
        staging.unlink(missing_ok=True)
        raise DatastoreQueryFailed(
            f"the query of dataset {dataset!r} failed: {_first_line(e)}"
        ) from e
    os.replace(staging, target)
    return target


def _function_lookup(connection: duckdb.DuckDBPyConnection) -> Callable[[str], bool]:
    rows = connection.execute("SELECT DISTINCT lower(function_name) FROM duckdb_functions()")
    names = {row[0] for row in rows.fetchall()}
    return lambda name: name.lower() in names


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
