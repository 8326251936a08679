"""A dataset definition: the CreateDataset request of AWS IoT Analytics, as a typed model.

Definitions keep the request's shape and keys, so existing ones load unchanged:

- the API / `aws iotanalytics create-dataset --cli-input-json` shape (camelCase keys);
- the `Properties` of an `AWS::IoTAnalytics::Dataset` CloudFormation resource (PascalCase,
  with its own names for four keys: `VariableName`, `Schedule.ScheduleExpression`,
  `TriggeringDataset.DatasetName`), alone, as the whole resource (`Type` +
  `Properties`), or in a template holding one or more such resources (see
  cloudformation.py: what resolves, and the names of datasets without a DatasetName);

in JSON or YAML (read without YAML 1.1's type guessing: see documents.py), no larger or
deeper than `DEFINITION_LIMITS`. Unknown keys are refused with their JSON path and a
did-you-mean. `load_definitions` reads every definition of a file; `load_definition` the
one a file holds, or `FILE#LogicalId`: one resource of a template that holds several.

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

Only structure is checked here (keys, types, required fields); the service model's limits
and the rules across definitions are validate.py's.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from iota_container.definitions.cloudformation import (
    CLOUDFORMATION_TYPE,
    LOGICAL_ID,
    DatasetResource,
    TemplateShapeError,
    dataset_resources,
)
from iota_container.definitions.documents import parse_text, syntax_for
from iota_container.definitions.problems import WHAT, DefinitionError, Problem, limit_error
from iota_container.definitions.schema import (
    BOOLEAN,
    DOUBLE,
    INTEGER,
    STRING,
    DocumentReader,
    dump,
    meta,
)
from iota_container.errors import LimitExceeded
from iota_container.limits import DEFINITION_LIMITS, read_bytes_limited


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
    # `x-iota-infrastructure-retries`: how many times a run whose infrastructure failed
    # (a cluster node lost) runs again; never for a failing analysis. 0: at most once.
    infrastructure_retries: int | None = field(
        default=None, metadata=meta("x-iota-infrastructure-retries", INTEGER)
    )


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
    resource: str | None = None  # the resource's logical ID in a template


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
    # None when left out: the model wants at least one item in a list that is given.
    late_data_rules: tuple[LateDataRule, ...] | None = field(
        default=None, metadata=meta("lateDataRules", LateDataRule, many=True)
    )
    tags: tuple[Tag, ...] | None = field(default=None, metadata=meta("tags", Tag, many=True))
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


@dataclass(frozen=True)
class DefinitionFile:
    """What one file defines: the definitions that could be read, and the problems of those
    that could not (a template's other datasets still load when one of them is wrong)."""

    file: str
    definitions: tuple[DatasetDefinition, ...] = ()
    errors: tuple[DefinitionError, ...] = ()

    @property
    def problems(self) -> list[Problem]:
        return [problem for error in self.errors for problem in error.problems]


def read_definitions(path: str | os.PathLike[str]) -> DefinitionFile:
    """Every definition in a file (JSON or YAML; a template may hold several); never raises
    DefinitionError, which `errors` holds instead. `FILE#LogicalId` reads one resource."""
    file, selected = split_selection(str(path))
    try:
        data = read_bytes_limited(file, DEFINITION_LIMITS, WHAT)
        text = data.decode("utf-8")
    except LimitExceeded as e:
        return DefinitionFile(file, errors=(limit_error(file, e),))
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        fix = "give the path of a readable UTF-8 JSON or YAML file"
        problem = Problem(file, "$", "unreadable", f"cannot be read ({reason})", fix)
        return DefinitionFile(file, errors=(DefinitionError([problem]),))
    try:
        document = parse_text(text, file=file, syntax=syntax_for(file, text))
    except DefinitionError as e:
        return DefinitionFile(file, errors=(e,))
    return definitions_in_document(document, file=file, selected=selected)


def load_definitions(path: str | os.PathLike[str]) -> list[DatasetDefinition]:
    """Every definition in a file; DefinitionError lists every problem of all of them."""
    loaded = read_definitions(path)
    if loaded.errors:
        names = [e.dataset_name for e in loaded.errors if e.dataset_name]
        raise DefinitionError(loaded.problems, names[0] if names else None)
    return list(loaded.definitions)


def load_definition(path: str | os.PathLike[str]) -> DatasetDefinition:
    """The one definition of a file, or of `FILE#LogicalId` (one resource of a template
    that holds several); DefinitionError lists every problem."""
    definitions = load_definitions(path)
    if len(definitions) == 1:
        return definitions[0]
    file = split_selection(str(path))[0]
    ids = ", ".join(f"{file}#{d.origin.resource}" for d in definitions if d.origin)
    message = f"the template has {len(definitions)} {CLOUDFORMATION_TYPE} resources, not 1"
    fix = f"give one of them ({ids}), or the whole file to `dataset validate` or `register`"
    raise DefinitionError([Problem(file, "$.Resources", "shape", message, fix)])


def registration_paths(path: str | os.PathLike[str]) -> list[str]:
    """The paths that register each definition of a file: the file itself when it holds
    one (or cannot be read: registering it reports why), else `FILE#LogicalId` each."""
    loaded = read_definitions(path)
    if loaded.errors or len(loaded.definitions) <= 1:
        return [str(path)]
    return [f"{path}#{d.origin.resource}" for d in loaded.definitions if d.origin]


def split_selection(path: str) -> tuple[str, str | None]:
    """(`FILE`, `LogicalId`) for `FILE#LogicalId` when FILE is a file and the whole path is
    not; (path, None) otherwise."""
    file, hash_sign, logical_id = path.rpartition("#")
    selects = hash_sign and LOGICAL_ID.match(logical_id) and not os.path.exists(path)
    return (file, logical_id) if selects and os.path.isfile(file) else (path, None)


def parse_definition(
    text: str, *, file: str = "<text>", syntax: str | None = None
) -> DatasetDefinition:
    """A definition from JSON or YAML text; `syntax` ("json"/"yaml") defaults by `file`."""
    document = parse_text(text, file=file, syntax=syntax or syntax_for(file, text))
    return definition_from_document(document, file=file)


def definition_from_document(document: Any, *, file: str = "<document>") -> DatasetDefinition:
    """The one definition of a decoded document, in the API's or CloudFormation's shape."""
    found = definitions_in_document(document, file=file)
    count = len(found.definitions) + len(found.errors)
    if count > 1:
        message = f"the template has {count} {CLOUDFORMATION_TYPE} resources, not 1"
        fix = "give each dataset a document of its own, or read them all (load_definitions)"
        raise DefinitionError([Problem(file, "$.Resources", "shape", message, fix)])
    if found.errors:
        raise found.errors[0]
    return found.definitions[0]


def definitions_in_document(
    document: Any, *, file: str = "<document>", selected: str | None = None
) -> DefinitionFile:
    """Every definition of a decoded document (only resource `selected`, when given)."""
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        fix = "write one dataset definition: an object with datasetName and actions"
        problem = Problem(file, "$", "shape", f"the document is {kind}, not an object", fix)
        return DefinitionFile(file, errors=(DefinitionError([problem]),))
    try:
        resources = dataset_resources(document)
    except TemplateShapeError as e:
        problem = Problem(file, e.path, "shape", e.message, e.fix)
        return DefinitionFile(file, errors=(DefinitionError([problem]),))
    if selected is not None:
        chosen = [r for r in resources if r.logical_id == selected]
        if not chosen:
            names = ", ".join(str(r.logical_id) for r in resources)
            message = f"the template has no {CLOUDFORMATION_TYPE} resource {selected!r}"
            problem = Problem(file, "$.Resources", "shape", message, f"give one of: {names}")
            return DefinitionFile(file, errors=(DefinitionError([problem]),))
        resources = chosen
    definitions, errors = [], []
    for resource in resources:
        try:
            definitions.append(_read_resource(resource, file))
        except DefinitionError as e:
            errors.append(e)
    return DefinitionFile(file, tuple(definitions), tuple(errors))


def _read_resource(resource: DatasetResource, file: str) -> DatasetDefinition:
    properties, root = resource.properties, resource.root
    cloudformation = root != "$" or _looks_like_cloudformation(properties)
    reader = DocumentReader(file, cloudformation=cloudformation)
    definition = reader.read(DatasetDefinition, properties, root)
    if reader.problems or not isinstance(definition, DatasetDefinition):
        name = properties.get("DatasetName" if cloudformation else "datasetName")
        raise DefinitionError(reader.problems, name if isinstance(name, str) else None)
    origin = Origin(file, cloudformation, root, resource.logical_id)
    return dataclasses.replace(definition, origin=origin)


def _looks_like_cloudformation(properties: dict[str, Any]) -> bool:
    keys = [k for k in properties if isinstance(k, str)]
    return sum(k[:1].isupper() for k in keys) > sum(k[:1].islower() for k in keys)
