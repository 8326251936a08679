"""One run's variables, resolved into the params document its container reads.

- `outputFileUriValue{fileName}` becomes `<output root>/<dataset>/<version>/<fileName>`, a
  URI of this version alone;
- `datasetContentVersionValue{datasetName}` becomes the content URI of that dataset's
  latest SUCCEEDED version (of the very version that triggered this run, when the run
  was triggered by that dataset, so a quick second upstream run cannot swap it);
- `stringValue` and `doubleValue` stay as they are.

How running code reads a dataset content variable: its value is a `file://` or `s3://`
URI; `iota_container.dataset.content.dataset_content("var")` gives a local path to it
(downloading from S3), and pandas reads either URI directly.

`Context.OutputUris` (ipynb, html) go under the same version prefix. `Context.Analysis` is
set only when the caller knows the notebook's path (the image's NOTEBOOK_PATH names it
otherwise; finding it out would cost an inspect of the image on every run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from iota_container.dataset.records import DATASET, LATEST_SUCCEEDED, Trigger, Version
from iota_container.dataset.spec import DatasetDefinition, DatasetVariable
from iota_container.errors import IotaError
from iota_container.params_file import JsonValue, parse_params

NOTEBOOK_FILE = "output.ipynb"
REPORT_FILE = "output.html"


class ResolveError(IotaError):
    """A variable cannot be given a value for this run."""


class ContentVersions(Protocol):
    """Where resolution finds the versions of other datasets (a Store)."""

    def latest_succeeded(self, name: str) -> Version | None: ...

    def version(self, name: str, selector: str = ...) -> Version: ...


@dataclass(frozen=True)
class RunParams:
    document: dict[str, Any]  # the params file's content
    outputs: dict[str, str]  # ipynb, html and each outputFileUriValue variable: URI
    content_uri: str | None  # the first outputFileUriValue: what downstream datasets read
    inputs: dict[str, str] = field(default_factory=dict)  # content variable: its URI
    upstream_versions: dict[str, str] = field(default_factory=dict)  # dataset: version id


def resolve_run_params(
    definition: DatasetDefinition,
    output_prefix: str,
    versions: ContentVersions,
    *,
    trigger: Trigger | None = None,
    analysis: str | None = None,
) -> RunParams:
    """The params of one run of a container dataset whose outputs go under `output_prefix`."""
    action = definition.container_action
    if action is None:
        raise ValueError(f"dataset {definition.dataset_name} has no containerAction to run")
    variables: dict[str, JsonValue] = {}
    outputs = {
        "ipynb": f"{output_prefix}/{NOTEBOOK_FILE}",
        "html": f"{output_prefix}/{REPORT_FILE}",
    }
    content_uri = None
    inputs: dict[str, str] = {}
    upstream: dict[str, str] = {}
    for variable in action.variables:
        if variable.output_file_uri_value is not None:
            uri = f"{output_prefix}/{variable.output_file_uri_value.file_name}"
            variables[variable.name] = outputs[variable.name] = uri
            content_uri = content_uri or uri
        elif variable.dataset_content_version_value is not None:
            version, uri = _content_version(definition, variable, versions, trigger)
            variables[variable.name] = inputs[variable.name] = uri
            upstream[version.dataset] = version.id
        elif variable.string_value is not None:
            variables[variable.name] = variable.string_value
        elif variable.double_value is not None:
            variables[variable.name] = variable.double_value
    context: dict[str, Any] = {"OutputUris": {k: outputs[k] for k in ("ipynb", "html")}}
    if analysis:
        context["Analysis"] = analysis
    document = {"Context": context, "Variables": variables}
    parse_params(document, source=f"params of dataset {definition.dataset_name}")
    return RunParams(document, outputs, content_uri, inputs, upstream)


def _content_version(
    definition: DatasetDefinition,
    variable: DatasetVariable,
    versions: ContentVersions,
    trigger: Trigger | None,
) -> tuple[Version, str]:
    assert variable.dataset_content_version_value is not None
    source = variable.dataset_content_version_value.dataset_name
    reader = f"dataset {definition.dataset_name!r} (variable {variable.name})"
    if trigger and trigger.kind == DATASET and trigger.upstream_dataset == source:
        version = versions.version(source, trigger.upstream_version or LATEST_SUCCEEDED)
    else:
        found = versions.latest_succeeded(source)
        if found is None:
            raise ResolveError(
                f"{reader} reads the content of dataset {source!r}, which has no succeeded "
                f"version: run it first (`iota-container dataset run {source}`)"
            )
        version = found
    if not version.content_uri:
        raise ResolveError(
            f"{reader} reads the content of dataset {source!r}, but its version "
            f"{version.id} has no content file: give {source!r} an outputFileUriValue "
            "variable, or read a SQL dataset"
        )
    return version, version.content_uri
