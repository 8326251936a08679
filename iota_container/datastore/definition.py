"""A data store definition: the CreateDatastore request of AWS IoT Analytics, as a model.

The request's shape (`aws iotanalytics create-datastore --cli-input-json`, camelCase) or
the `Properties` of an `AWS::IoTAnalytics::Datastore` CloudFormation resource (PascalCase;
`attributePartition` is `Partition` there), alone, as the whole resource, or in a template
that holds one or more. Read as dataset definitions are (definitions/): JSON or YAML within
DEFINITION_LIMITS, unknown keys refused with their path, every problem listed. Channels and
pipelines in a template are not run here (`template_notes` says so); its datasets register
with `iota-container dataset register`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iota_container.definitions.cloudformation import _parameter_defaults, resolve_functions
from iota_container.definitions.documents import parse_text, syntax_for
from iota_container.definitions.model import RetentionPeriod, Tag
from iota_container.definitions.problems import DefinitionError, Problem, limit_error
from iota_container.definitions.schema import STRING, DocumentReader, child_path, dump, meta
from iota_container.errors import LimitExceeded
from iota_container.limits import DEFINITION_LIMITS, read_bytes_limited

DATASTORE_TYPE = "AWS::IoTAnalytics::Datastore"
NOT_RUN_HERE = {
    "AWS::IoTAnalytics::Channel": "channel",
    "AWS::IoTAnalytics::Pipeline": "pipeline",
}
WHAT = "data store definition"


@dataclass(frozen=True)
class ServiceManagedS3:
    """The service's own bucket: here, a folder under IOTA_HOME."""


@dataclass(frozen=True)
class CustomerManagedS3:
    bucket: str = field(metadata=meta("bucket", STRING))
    role_arn: str = field(metadata=meta("roleArn", STRING))
    key_prefix: str | None = field(default=None, metadata=meta("keyPrefix", STRING))


@dataclass(frozen=True)
class CustomerManagedS3Storage:
    bucket: str = field(metadata=meta("bucket", STRING))
    key_prefix: str | None = field(default=None, metadata=meta("keyPrefix", STRING))


@dataclass(frozen=True)
class IotSiteWiseMultiLayerStorage:
    customer_managed_s3_storage: CustomerManagedS3Storage = field(
        metadata=meta("customerManagedS3Storage", CustomerManagedS3Storage)
    )


@dataclass(frozen=True)
class DatastoreStorage:
    service_managed_s3: ServiceManagedS3 | None = field(
        default=None, metadata=meta("serviceManagedS3", ServiceManagedS3)
    )
    customer_managed_s3: CustomerManagedS3 | None = field(
        default=None, metadata=meta("customerManagedS3", CustomerManagedS3)
    )
    iot_sitewise_multi_layer_storage: IotSiteWiseMultiLayerStorage | None = field(
        default=None, metadata=meta("iotSiteWiseMultiLayerStorage", IotSiteWiseMultiLayerStorage)
    )


@dataclass(frozen=True)
class Column:
    name: str = field(metadata=meta("name", STRING))
    type: str = field(metadata=meta("type", STRING))


@dataclass(frozen=True)
class SchemaDefinition:
    columns: tuple[Column, ...] = field(default=(), metadata=meta("columns", Column, many=True))


@dataclass(frozen=True)
class JsonConfiguration:
    """Messages as JSON lines (the service's default format)."""


@dataclass(frozen=True)
class ParquetConfiguration:
    schema_definition: SchemaDefinition | None = field(
        default=None, metadata=meta("schemaDefinition", SchemaDefinition)
    )


@dataclass(frozen=True)
class FileFormatConfiguration:
    json_configuration: JsonConfiguration | None = field(
        default=None, metadata=meta("jsonConfiguration", JsonConfiguration)
    )
    parquet_configuration: ParquetConfiguration | None = field(
        default=None, metadata=meta("parquetConfiguration", ParquetConfiguration)
    )


@dataclass(frozen=True)
class AttributePartition:
    attribute_name: str = field(metadata=meta("attributeName", STRING))


@dataclass(frozen=True)
class TimestampPartition:
    attribute_name: str = field(metadata=meta("attributeName", STRING))
    timestamp_format: str | None = field(default=None, metadata=meta("timestampFormat", STRING))


@dataclass(frozen=True)
class DatastorePartition:
    attribute_partition: AttributePartition | None = field(
        default=None, metadata=meta("attributePartition", AttributePartition, cfn="Partition")
    )
    timestamp_partition: TimestampPartition | None = field(
        default=None, metadata=meta("timestampPartition", TimestampPartition)
    )


@dataclass(frozen=True)
class DatastorePartitions:
    partitions: tuple[DatastorePartition, ...] = field(
        default=(), metadata=meta("partitions", DatastorePartition, many=True)
    )


@dataclass(frozen=True)
class DatastoreDefinition:
    datastore_name: str = field(metadata=meta("datastoreName", STRING))
    datastore_storage: DatastoreStorage | None = field(
        default=None, metadata=meta("datastoreStorage", DatastoreStorage)
    )
    retention_period: RetentionPeriod | None = field(
        default=None, metadata=meta("retentionPeriod", RetentionPeriod)
    )
    tags: tuple[Tag, ...] = field(default=(), metadata=meta("tags", Tag, many=True))
    file_format_configuration: FileFormatConfiguration | None = field(
        default=None, metadata=meta("fileFormatConfiguration", FileFormatConfiguration)
    )
    datastore_partitions: DatastorePartitions | None = field(
        default=None, metadata=meta("datastorePartitions", DatastorePartitions)
    )
    cloudformation: bool = False  # how it was written: the keys its problems are named by

    @property
    def is_parquet(self) -> bool:
        formats = self.file_format_configuration
        return bool(formats and formats.parquet_configuration)

    def to_json(self) -> dict[str, Any]:
        """As a CreateDatastore request."""
        return dump(self)


@dataclass(frozen=True)
class DatastoreFile:
    """What one file defines: its data stores, and lines about what is not run here."""

    file: str
    definitions: tuple[DatastoreDefinition, ...]
    notes: tuple[str, ...] = ()


def read_datastore_file(path: str | os.PathLike[str]) -> DatastoreFile:
    """The data stores of a CreateDatastore request or a CloudFormation template;
    DefinitionError lists every problem (shapes checked by service_shapes.py)."""
    from iota_container.datastore.service_shapes import check_datastore

    file = str(path)
    try:
        text = read_bytes_limited(file, DEFINITION_LIMITS, WHAT).decode("utf-8")
    except LimitExceeded as e:
        raise limit_error(file, e) from e
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        fix = "give the path of a readable UTF-8 JSON or YAML file"
        problem = Problem(file, "$", "unreadable", f"cannot be read ({reason})", fix)
        raise DefinitionError([problem]) from e
    document = parse_text(text, file=file, syntax=syntax_for(file, text))
    if not isinstance(document, dict):
        fix = "write a CreateDatastore request (an object with datastoreName) or a template"
        raise DefinitionError([Problem(file, "$", "shape", "the document is not an object", fix)])
    resources, notes = _resources(document, file)
    problems: list[Problem] = []
    definitions = []
    for properties, root, cloudformation in resources:
        reader = DocumentReader(file, cloudformation=cloudformation)
        definition = reader.read(DatastoreDefinition, properties, root)
        problems += reader.problems
        if isinstance(definition, DatastoreDefinition):
            found = check_datastore(definition, file, root, cloudformation)
            problems += found
            definitions.append(_with_style(definition, cloudformation))
    if problems:
        raise DefinitionError(problems)
    return DatastoreFile(file, tuple(definitions), tuple(notes))


def _with_style(definition: DatastoreDefinition, cloudformation: bool) -> DatastoreDefinition:
    from dataclasses import replace

    return replace(definition, cloudformation=cloudformation)


def _resources(
    document: Mapping[Any, Any], file: str
) -> tuple[list[tuple[Any, str, bool]], list[str]]:
    """(properties, JSON path, written for CloudFormation) of each data store, and notes."""
    resources = document.get("Resources")
    if not isinstance(resources, Mapping):
        if document.get("Type") == DATASTORE_TYPE and "Properties" in document:
            return [(document["Properties"], "$.Properties", True)], []
        cloudformation = "DatastoreName" in document and "datastoreName" not in document
        return [(document, "$", cloudformation)], []
    found, notes = [], []
    defaults = _parameter_defaults(document.get("Parameters"))
    not_run = sorted(
        f"{NOT_RUN_HERE[r['Type']]} {name}"
        for name, r in resources.items()
        if isinstance(r, Mapping) and r.get("Type") in NOT_RUN_HERE
    )
    if not_run:
        notes.append(
            f"{file}: not run here: {', '.join(not_run)} (register the messages they "
            "produced with `iota-container datastore put`)"
        )
    for name, resource in resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != DATASTORE_TYPE:
            continue
        root = child_path(child_path("$.Resources", str(name)), "Properties")
        properties = resolve_functions(resource.get("Properties") or {}, defaults)
        if isinstance(properties, dict) and "DatastoreName" not in properties:
            properties = {**properties, "DatastoreName": str(name)}  # as CloudFormation names it
        found.append((properties, root, True))
    if not found:
        fix = f"add an {DATASTORE_TYPE} resource, or give a CreateDatastore request"
        message = f"the template has no {DATASTORE_TYPE} resource"
        raise DefinitionError([Problem(file, "$.Resources", "shape", message, fix)])
    return found, notes
