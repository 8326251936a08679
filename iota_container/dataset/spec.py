"""A dataset definition: the CreateDataset request of AWS IoT Analytics, as a typed model.

Definitions keep the request's shape and keys, so existing ones load unchanged:

- the API / `aws iotanalytics create-dataset --cli-input-json` shape (camelCase keys);
- the `Properties` of an `AWS::IoTAnalytics::Dataset` CloudFormation resource (PascalCase,
  with its own names for four keys: `VariableName`, `Schedule.ScheduleExpression`,
  `TriggeringDataset.DatasetName`), alone, as the whole resource (`Type` +
  `Properties`), or as a template holding one such resource;

in JSON or YAML (read without YAML 1.1's type guessing: see documents.py). Unknown keys
are refused with their JSON path and a did-you-mean.

One extension: a *SQL dataset* (a `queryAction`) has no IoT Analytics data store to query
here, so its content comes from where `x-iota-source` on the queryAction says, exactly
one of:
- `file`: a file whose bytes are the dataset content (such as the CSV the service wrote);
- `folder`: a folder of content files, one a version, the last by name the latest;
- `command`: a command line (split like a shell would, run without one) whose standard
  output is the content.
Relative paths and the command's working folder are the definition file's folder.
A container dataset may name its notebook with `x-iota-notebook` (relative to the
definition file), for runs without a container (`dataset run --no-container`).
`to_create_dataset_request` leaves extensions out, so an export is a valid request.

Only structure is checked here (keys, types, required fields); the documented limits and
the rules across definitions are validate.py's.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iota_container.dataset.documents import parse_text, syntax_for
from iota_container.dataset.problems import DefinitionError, Problem
from iota_container.dataset.schema import (
    BOOLEAN,
    DOUBLE,
    INTEGER,
    STRING,
    DocumentReader,
    child_path,
    dump,
    meta,
)

CLOUDFORMATION_TYPE = "AWS::IoTAnalytics::Dataset"


@dataclass(frozen=True)
class ResourceConfiguration:
    compute_type: str = field(metadata=meta("computeType", STRING))
    volume_size_in_gb: int = field(metadata=meta("volumeSizeInGB", INTEGER))


@dataclass(frozen=True)
class DatasetContentVersionValue:
    dataset_name: str = field(metadata=meta("datasetName", STRING))


@dataclass(frozen=True)
class OutputFileUriValue:
    file_name: str = field(metadata=meta("fileName", STRING))


@dataclass(frozen=True)
class DatasetVariable:
    """One run-time variable: a name and exactly one kind of value (validate.py checks)."""

    name: str = field(metadata=meta("name", STRING, cfn="VariableName"))
    string_value: str | None = field(default=None, metadata=meta("stringValue", STRING))
    double_value: float | None = field(default=None, metadata=meta("doubleValue", DOUBLE))
    dataset_content_version_value: DatasetContentVersionValue | None = field(
        default=None, metadata=meta("datasetContentVersionValue", DatasetContentVersionValue)
    )
    output_file_uri_value: OutputFileUriValue | None = field(
        default=None, metadata=meta("outputFileUriValue", OutputFileUriValue)
    )


@dataclass(frozen=True)
class ContainerAction:
    image: str = field(metadata=meta("image", STRING))
    execution_role_arn: str = field(metadata=meta("executionRoleArn", STRING))
    resource_configuration: ResourceConfiguration = field(
        metadata=meta("resourceConfiguration", ResourceConfiguration)
    )
    variables: tuple[DatasetVariable, ...] = field(
        default=(), metadata=meta("variables", DatasetVariable, many=True)
    )
    # `x-iota-notebook`: the notebook to run without a container (relative to the file).
    notebook: str | None = field(default=None, metadata=meta("x-iota-notebook", STRING))


@dataclass(frozen=True)
class DeltaTime:
    offset_seconds: int = field(metadata=meta("offsetSeconds", INTEGER))
    time_expression: str = field(metadata=meta("timeExpression", STRING))


@dataclass(frozen=True)
class QueryFilter:
    delta_time: DeltaTime | None = field(default=None, metadata=meta("deltaTime", DeltaTime))


@dataclass(frozen=True)
class LocalSource:
    """`x-iota-source`: where a SQL dataset's content comes from (see the module docstring)."""

    file: str | None = field(default=None, metadata=meta("file", STRING))
    folder: str | None = field(default=None, metadata=meta("folder", STRING))
    command: str | None = field(default=None, metadata=meta("command", STRING))


@dataclass(frozen=True)
class QueryAction:
    sql_query: str = field(metadata=meta("sqlQuery", STRING))
    filters: tuple[QueryFilter, ...] = field(
        default=(), metadata=meta("filters", QueryFilter, many=True)
    )
    local_source: LocalSource | None = field(
        default=None, metadata=meta("x-iota-source", LocalSource)
    )


@dataclass(frozen=True)
class DatasetAction:
    action_name: str | None = field(default=None, metadata=meta("actionName", STRING))
    container_action: ContainerAction | None = field(
        default=None, metadata=meta("containerAction", ContainerAction)
    )
    query_action: QueryAction | None = field(
        default=None, metadata=meta("queryAction", QueryAction)
    )


@dataclass(frozen=True)
class TriggerSchedule:
    expression: str | None = field(
        default=None, metadata=meta("expression", STRING, cfn="ScheduleExpression")
    )


@dataclass(frozen=True)
class TriggeringDataset:
    name: str = field(metadata=meta("name", STRING, cfn="DatasetName"))


@dataclass(frozen=True)
class DatasetTrigger:
    schedule: TriggerSchedule | None = field(
        default=None, metadata=meta("schedule", TriggerSchedule)
    )
    dataset: TriggeringDataset | None = field(
        default=None, metadata=meta("dataset", TriggeringDataset, cfn="TriggeringDataset")
    )


@dataclass(frozen=True)
class GlueConfiguration:
    table_name: str = field(metadata=meta("tableName", STRING))
    database_name: str = field(metadata=meta("databaseName", STRING))


@dataclass(frozen=True)
class S3Destination:
    bucket: str = field(metadata=meta("bucket", STRING))
    key: str = field(metadata=meta("key", STRING))
    role_arn: str = field(metadata=meta("roleArn", STRING))
    glue_configuration: GlueConfiguration | None = field(
        default=None, metadata=meta("glueConfiguration", GlueConfiguration)
    )


@dataclass(frozen=True)
class IotEventsDestination:
    input_name: str = field(metadata=meta("inputName", STRING))
    role_arn: str = field(metadata=meta("roleArn", STRING))


@dataclass(frozen=True)
class DeliveryDestination:
    iot_events: IotEventsDestination | None = field(
        default=None, metadata=meta("iotEventsDestinationConfiguration", IotEventsDestination)
    )
    s3: S3Destination | None = field(
        default=None, metadata=meta("s3DestinationConfiguration", S3Destination)
    )


@dataclass(frozen=True)
class ContentDeliveryRule:
    destination: DeliveryDestination = field(metadata=meta("destination", DeliveryDestination))
    entry_name: str | None = field(default=None, metadata=meta("entryName", STRING))


@dataclass(frozen=True)
class VersioningConfiguration:
    unlimited: bool | None = field(default=None, metadata=meta("unlimited", BOOLEAN))
    max_versions: int | None = field(default=None, metadata=meta("maxVersions", INTEGER))


@dataclass(frozen=True)
class RetentionPeriod:
    unlimited: bool | None = field(default=None, metadata=meta("unlimited", BOOLEAN))
    number_of_days: int | None = field(default=None, metadata=meta("numberOfDays", INTEGER))


@dataclass(frozen=True)
class DeltaTimeSessionWindow:
    timeout_in_minutes: int = field(metadata=meta("timeoutInMinutes", INTEGER))


@dataclass(frozen=True)
class LateDataRuleConfiguration:
    delta_time_session_window: DeltaTimeSessionWindow | None = field(
        default=None,
        metadata=meta("deltaTimeSessionWindowConfiguration", DeltaTimeSessionWindow),
    )


@dataclass(frozen=True)
class LateDataRule:
    rule_configuration: LateDataRuleConfiguration = field(
        metadata=meta("ruleConfiguration", LateDataRuleConfiguration)
    )
    rule_name: str | None = field(default=None, metadata=meta("ruleName", STRING))


@dataclass(frozen=True)
class Tag:
    key: str = field(metadata=meta("key", STRING))
    value: str = field(metadata=meta("value", STRING))


@dataclass(frozen=True)
class Origin:
    """Where a definition was read from, so problems point into the file as written."""

    file: str
    cloudformation: bool = False
    root: str = "$"  # `$.Properties` for a whole CloudFormation resource


@dataclass(frozen=True)
class DatasetDefinition:
    dataset_name: str = field(metadata=meta("datasetName", STRING))
    actions: tuple[DatasetAction, ...] = field(metadata=meta("actions", DatasetAction, many=True))
    triggers: tuple[DatasetTrigger, ...] = field(
        default=(), metadata=meta("triggers", DatasetTrigger, many=True)
    )
    content_delivery_rules: tuple[ContentDeliveryRule, ...] = field(
        default=(), metadata=meta("contentDeliveryRules", ContentDeliveryRule, many=True)
    )
    versioning_configuration: VersioningConfiguration | None = field(
        default=None, metadata=meta("versioningConfiguration", VersioningConfiguration)
    )
    retention_period: RetentionPeriod | None = field(
        default=None, metadata=meta("retentionPeriod", RetentionPeriod)
    )
    late_data_rules: tuple[LateDataRule, ...] = field(
        default=(), metadata=meta("lateDataRules", LateDataRule, many=True)
    )
    tags: tuple[Tag, ...] = field(default=(), metadata=meta("tags", Tag, many=True))
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def container_action(self) -> ContainerAction | None:
        return next((a.container_action for a in self.actions if a.container_action), None)

    @property
    def query_action(self) -> QueryAction | None:
        return next((a.query_action for a in self.actions if a.query_action), None)

    @property
    def is_container(self) -> bool:
        return self.container_action is not None

    @property
    def triggering_datasets(self) -> tuple[str, ...]:
        return tuple(t.dataset.name for t in self.triggers if t.dataset is not None)

    @property
    def schedule_expressions(self) -> tuple[str, ...]:
        return tuple(
            t.schedule.expression for t in self.triggers if t.schedule and t.schedule.expression
        )

    def to_json(self) -> dict[str, Any]:
        """The CreateDataset request with this project's `x-` extensions: lossless."""
        return dump(self)


def to_create_dataset_request(definition: DatasetDefinition) -> dict[str, Any]:
    """The CreateDataset request (`aws iotanalytics create-dataset --cli-input-json`)."""
    return dump(definition, extensions=False)


def to_cloudformation_properties(definition: DatasetDefinition) -> dict[str, Any]:
    """The Properties of an AWS::IoTAnalytics::Dataset resource."""
    return dump(definition, cloudformation=True, extensions=False)


def load_definition(path: str | os.PathLike[str]) -> DatasetDefinition:
    """Read a definition file (JSON or YAML); DefinitionError lists every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        fix = "give the path of a readable UTF-8 JSON or YAML file"
        problem = Problem(file, "$", "unreadable", f"cannot be read ({reason})", fix)
        raise DefinitionError([problem]) from e
    return parse_definition(text, file=file)


def parse_definition(
    text: str, *, file: str = "<text>", syntax: str | None = None
) -> DatasetDefinition:
    """A definition from JSON or YAML text; `syntax` ("json"/"yaml") defaults by `file`."""
    document = parse_text(text, file=file, syntax=syntax or syntax_for(file, text))
    return definition_from_document(document, file=file)


def definition_from_document(document: Any, *, file: str = "<document>") -> DatasetDefinition:
    """A definition from a decoded document, in either the API's or CloudFormation's shape."""
    properties, root = _unwrap_cloudformation(document, file)
    cloudformation = root != "$" or _looks_like_cloudformation(properties)
    reader = DocumentReader(file, cloudformation=cloudformation)
    definition = reader.read(DatasetDefinition, properties, root)
    if reader.problems or not isinstance(definition, DatasetDefinition):
        name = properties.get("DatasetName" if cloudformation else "datasetName")
        raise DefinitionError(reader.problems, name if isinstance(name, str) else None)
    return dataclasses.replace(definition, origin=Origin(file, cloudformation, root))


def _looks_like_cloudformation(properties: dict[str, Any]) -> bool:
    keys = [k for k in properties if isinstance(k, str)]
    return sum(k[:1].isupper() for k in keys) > sum(k[:1].islower() for k in keys)


def _unwrap_cloudformation(document: Any, file: str) -> tuple[dict[str, Any], str]:
    """The definition's properties and their JSON path in the document."""

    def fail(path: str, message: str, fix: str) -> DefinitionError:
        return DefinitionError([Problem(file, path, "shape", message, fix)])

    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        fix = "write one dataset definition: an object with datasetName and actions"
        raise fail("$", f"the document is {kind}, not an object", fix)
    root = "$"
    if isinstance(document.get("Resources"), dict):
        datasets = [
            name
            for name, resource in document["Resources"].items()
            if isinstance(resource, dict) and resource.get("Type") == CLOUDFORMATION_TYPE
        ]
        if len(datasets) != 1:
            message = f"the template has {len(datasets)} {CLOUDFORMATION_TYPE} resources, not 1"
            raise fail("$.Resources", message, "give each dataset a file of its own")
        root = child_path("$.Resources", datasets[0])
        document = document["Resources"][datasets[0]]
    if "Type" in document and "Properties" in document:
        if document["Type"] != CLOUDFORMATION_TYPE:
            message = f"resource type {document['Type']!r} is not {CLOUDFORMATION_TYPE}"
            raise fail(f"{root}.Type", message, "give the dataset's resource")
        if not isinstance(document["Properties"], dict):
            raise fail(f"{root}.Properties", "Properties is not an object", "write an object")
        return document["Properties"], f"{root}.Properties"
    return document, root
