"""A delivery's glueConfiguration: the Glue Data Catalog table over the delivered CSV
content, created or updated (GetDatabase, GetTable, then CreateTable or UpdateTable).

The table is an external CSV table (OpenCSVSerde, its header line skipped) at the folder
the rule's key writes under, so the contents of every version are rows of one table;
its columns are the content's header, as strings (CSV carries no types).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from iota_container.errors import IotaError
from iota_container.text import one_line


class GlueDeliveryFailed(IotaError):
    """The Glue table of a delivery could not be created or updated."""


def glue_client(client: Any | None) -> Any:
    from iota_container.storage.s3 import client_config, default_session

    return client or default_session().client("glue", config=client_config())


def check_database(glue: Any, database: str) -> None:
    """Before anything is delivered: a rule naming a missing database delivers nothing."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        glue.get_database(Name=database)
    except ClientError as e:
        if _code(e) == "EntityNotFoundException":
            raise GlueDeliveryFailed(
                f"glueConfiguration.databaseName {database!r} is not a Glue database: "
                "create it (aws glue create-database) or fix the rule"
            ) from e
        raise _glue_error(e, database) from e
    except BotoCoreError as e:
        raise _glue_error(e, database) from e


def upsert_table(glue: Any, database: str, table: str, location: str, csv_file: Path) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    table_input = _table_input(table, location, _header(csv_file, database, table))
    try:
        try:
            glue.get_table(DatabaseName=database, Name=table)
        except ClientError as e:
            if _code(e) != "EntityNotFoundException":
                raise
            glue.create_table(DatabaseName=database, TableInput=table_input)
        else:
            glue.update_table(DatabaseName=database, TableInput=table_input)
    except (BotoCoreError, ClientError) as e:
        raise _glue_error(e, f"{database}.{table}") from e


def _glue_error(error: Exception, what: str) -> GlueDeliveryFailed:
    return GlueDeliveryFailed(
        f"Glue answered {one_line(str(error), 300)} for {what}: check the AWS settings and "
        "the credentials' Glue permissions"
    )


def _header(csv_file: Path, database: str, table: str) -> list[str]:
    with csv_file.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise GlueDeliveryFailed(
            f"the content {csv_file.name!r} has no CSV header to make Glue table "
            f"{database}.{table} of: deliver a CSV entry with glueConfiguration"
        )
    return header


def _table_input(table: str, location: str, columns: list[str]) -> dict[str, Any]:
    return {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            "Columns": [{"Name": name.lower(), "Type": "string"} for name in columns],
            "Location": location,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
                "Parameters": {"separatorChar": ",", "quoteChar": '"'},
            },
        },
    }


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
