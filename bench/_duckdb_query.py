"""The DuckDB side of sql_dataset_vs_duckdb.py: the query a SQL dataset's run makes, written
directly against DuckDB's Python API, and nothing else imported (what a user would write by
hand): the same relation the engine builds (the files, hive folders as columns,
union_by_name), the same window filter, the same COPY to CSV.

    python bench/_duckdb_query.py FILES(newline-separated) parquet|json END SQL OUT_CSV

END is the window's end as DuckDB reads a TIMESTAMPTZ; SQL reads the view `messages`.
"""

import sys


def run_query(files: list[str], store_format: str, end: str, sql: str, out: str) -> None:
    import duckdb

    listed = "[" + ", ".join("'" + f + "'" for f in files) + "]"
    if store_format == "json":
        reader = f"read_json({listed}, format = 'newline_delimited', union_by_name = true"
    else:
        reader = f"read_parquet({listed}, union_by_name = true"
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    connection.execute("SET TimeZone = 'UTC'")
    moment = "CAST(to_timestamp(ts) AS TIMESTAMPTZ)"
    window = f"SELECT * FROM {reader}, hive_partitioning = true)"
    window += f" WHERE {moment} < TIMESTAMPTZ '{end}'"
    connection.execute(f"CREATE VIEW messages AS {window}")
    connection.execute(f"COPY ({sql}) TO '{out}' (FORMAT csv, HEADER, DELIMITER ',')")
    connection.close()


if __name__ == "__main__":
    files, store_format, end, sql, out = sys.argv[1:6]
    run_query(files.split("\n"), store_format, end, sql, out)
