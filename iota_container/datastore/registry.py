"""Registered data stores, kept in the engine's state database (migration 5).

A data store is registered from a CreateDatastore request or a template's resources (its
definition kept as the request), or by name with `--location` and `--format` (a request
with its format, and the location as its root). Registering a name again replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from iota_container.datastore.layout import JSON, PARQUET, UnsupportedDatastore, is_s3
from iota_container.datastore.state import StateConnection
from iota_container.definitions.problems import DefinitionError
from iota_container.definitions.schema import DocumentReader
from iota_container.engine.home import Home
from iota_container.engine.records import from_text, to_text, utc_now
from iota_container.errors import IotaError

if TYPE_CHECKING:
    from iota_container.datastore.definition import DatastoreDefinition


class UnknownDatastore(IotaError):
    """No registered data store has that name."""


@dataclass(frozen=True)
class Partition:
    """One declared partition: a folder `<attribute>=<value>` inside each day."""

    attribute: str
    timestamp_format: str | None = None  # a timestampPartition's (Java) format

    @property
    def folder(self) -> str:
        """Its folders' key, and its column in queries. A timestamp partition's is
        `__<attribute>`: DuckDB gives a hive folder's value precedence over the message's
        own attribute, and the day it formats would replace the message's time."""
        return f"__{self.attribute}" if self.timestamp_format is not None else self.attribute


@dataclass(frozen=True)
class Datastore:
    name: str
    root: str  # a folder, or s3://bucket/prefix: where the `__dt=` folders are
    format: str  # JSON or PARQUET
    kept_definition: str  # the CreateDatastore request, as JSON, as the state database has it
    registered_at: datetime
    source_file: str | None = None

    @cached_property
    def definition(self) -> DatastoreDefinition:
        """The request, read when first asked for: a query needs only the store's name,
        root and format, and the request's model costs a SQL dataset's run 16 ms to
        import (bench/sql_dataset_vs_duckdb.py)."""
        from iota_container.datastore.definition import DatastoreDefinition

        reader = DocumentReader("<state database>", cloudformation=False)
        definition = reader.read(DatastoreDefinition, json.loads(self.kept_definition), "$")
        if not isinstance(definition, DatastoreDefinition):
            raise DefinitionError(reader.problems)
        return definition

    @property
    def partitions(self) -> tuple[Partition, ...]:
        declared = self.definition.datastore_partitions
        found = []
        for partition in declared.partitions if declared else ():
            if partition.attribute_partition:
                found.append(Partition(partition.attribute_partition.attribute_name))
            elif partition.timestamp_partition:
                stamp = partition.timestamp_partition
                found.append(Partition(stamp.attribute_name, stamp.timestamp_format or ""))
        return tuple(found)

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """A Parquet store's schemaDefinition: (name, Hive type) pairs."""
        formats = self.definition.file_format_configuration
        parquet = formats.parquet_configuration if formats else None
        schema = parquet.schema_definition if parquet else None
        return tuple((c.name, c.type) for c in schema.columns) if schema else ()

    @property
    def on_s3(self) -> bool:
        return is_s3(self.root)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.root,
            "format": self.format,
            "partitions": ["__dt", *(p.folder for p in self.partitions)],
            "registeredAt": to_text(self.registered_at),
            "sourceFile": self.source_file,
            "definition": self.definition.to_json(),
        }


def root_for(definition: DatastoreDefinition, home: Home) -> str:
    """Where the service's layout puts the store (see layout.py)."""
    name = definition.datastore_name
    storage = definition.datastore_storage
    if storage and storage.iot_sitewise_multi_layer_storage:
        raise UnsupportedDatastore(
            f"data store {name!r} uses iotSiteWiseMultiLayerStorage, which is not run here: "
            "register its exported objects with `iota-container datastore register "
            f"{name} --location S3_PREFIX --format parquet`"
        )
    if storage and storage.customer_managed_s3:
        s3 = storage.customer_managed_s3
        return f"s3://{s3.bucket}/{s3.key_prefix or ''}datastore/{name}"
    return str(home.root / "datastores" / name / "datastore" / name)


def flag_definition(name: str, store_format: str) -> DatastoreDefinition:
    """The request a `--location`/`--format` registration stands for."""
    from iota_container.datastore.definition import (
        DatastoreDefinition,
        FileFormatConfiguration,
        JsonConfiguration,
        ParquetConfiguration,
    )

    formats = (
        FileFormatConfiguration(parquet_configuration=ParquetConfiguration())
        if store_format == PARQUET
        else FileFormatConfiguration(json_configuration=JsonConfiguration())
    )
    return DatastoreDefinition(datastore_name=name, file_format_configuration=formats)


class DatastoreRegistry(StateConnection):
    """The `datastores` table."""

    def register(
        self, definition: DatastoreDefinition, *, root: str | None = None, source: str | None = None
    ) -> Datastore:
        store_root = root if root is not None else root_for(definition, self.home)
        store_format = PARQUET if definition.is_parquet else JSON
        with self._write() as db:
            db.execute(
                "INSERT INTO datastores (name, root, format, definition, source_file,"
                " registered_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " root = excluded.root, format = excluded.format,"
                " definition = excluded.definition, source_file = excluded.source_file,"
                " registered_at = excluded.registered_at",
                (
                    definition.datastore_name,
                    store_root,
                    store_format,
                    json.dumps(definition.to_json()),
                    source,
                    to_text(utc_now()),
                ),
            )
        return self.get(definition.datastore_name)

    def get(self, name: str) -> Datastore:
        row = self._connection.execute("SELECT * FROM datastores WHERE name = ?", (name,))
        found = row.fetchone()
        if found is None:
            raise UnknownDatastore(
                f"no data store {name!r} is registered (registered: {self.names_text()}): "
                "register it with `iota-container datastore register`; see "
                "`iota-container datastore list`"
            )
        return self._from_row(found)

    def all(self) -> list[Datastore]:
        rows = self._connection.execute("SELECT * FROM datastores ORDER BY name").fetchall()
        return [self._from_row(row) for row in rows]

    def names_text(self) -> str:
        return ", ".join(store.name for store in self.all()) or "none"

    def _from_row(self, row: tuple[Any, ...]) -> Datastore:
        name, root, store_format, definition_json, source_file, registered_at = row
        return Datastore(
            name, root, store_format, definition_json, from_text(registered_at), source_file
        )
