"""DuckDB as this project runs it: no extension downloads, s3:// through pyarrow.

DuckDB fetches its httpfs extension from the internet on first use of s3://, which fails
offline and behind many corporate proxies; a Python file system registered with the
connection serves s3:// instead. pyarrow's S3 file system is used rather than s3fs, whose
aiobotocore pins botocore to an older release than the rest of the project needs. It
honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_S3) as boto3 does, and takes credentials
from the standard AWS chain.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from iota_container.errors import IotaError

if TYPE_CHECKING:
    import duckdb

SQL_EXTRA = "pip install 'iota-container[sql]'"


class SqlExtraMissing(IotaError):
    """DuckDB, sqlglot or pyarrow is not installed."""


def require_sql_extra(what: str) -> None:
    """SqlExtraMissing naming the install command unless the `sql` extra is importable.
    DuckDB is imported (every query needs it); sqlglot and pyarrow are only looked for:
    a query translated before needs no sqlglot, a local one no pyarrow, and importing
    them (numpy with pyarrow) cost each run 0.4 s (bench/sql_dataset_vs_duckdb.py)."""
    from importlib.util import find_spec

    try:
        import duckdb  # noqa: F401
    except ImportError as e:
        missing: str | None = e.name or "duckdb"
    else:
        missing = next((name for name in ("sqlglot", "pyarrow") if not find_spec(name)), None)
    if missing is not None:
        raise SqlExtraMissing(
            f"{what} needs DuckDB, sqlglot and pyarrow, and {missing} is not installed: {SQL_EXTRA}"
        )


def s3_endpoint(environ: Mapping[str, str] = os.environ) -> str | None:
    return environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None


def s3_filesystem(environ: Mapping[str, str] = os.environ) -> Any:
    """An fsspec file system for s3:// paths (bucket/key), over pyarrow's S3 client."""
    import pyarrow.fs
    from fsspec.implementations.arrow import ArrowFSWrapper

    class S3ArrowFileSystem(ArrowFSWrapper):  # type: ignore[misc]
        protocol = ("s3",)  # DuckDB routes a path to the file system of its protocol

    options: dict[str, Any] = {}
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    endpoint = s3_endpoint(environ)
    if endpoint:
        parsed = urlparse(endpoint)
        options |= {"endpoint_override": parsed.netloc, "scheme": parsed.scheme or "https"}
    return S3ArrowFileSystem(pyarrow.fs.S3FileSystem(**options))


def duckdb_connection(*, s3: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that loads only its built-in extensions, in UTC."""
    import duckdb

    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    connection.execute("SET TimeZone = 'UTC'")
    if s3:
        connection.register_filesystem(s3_filesystem())
    return connection
