"""One run's variables, resolved into the params document its container reads.

- `outputFileUriValue{fileName}` becomes `<output root>/<dataset>/<version>/<fileName>`, a
  URI of this version alone;
- `datasetContentVersionValue{datasetName}` becomes the content URI of that dataset's
  latest SUCCEEDED version (of the very version that triggered this run, when the run
  was triggered by that dataset, so a quick second upstream run cannot swap it);
- `stringValue` and `doubleValue` stay as they are.

How running code reads a dataset content variable: its value is a `file://` or `s3://`
URI; `iota_container.content.dataset_content("var")` gives a local path to it
(downloading from S3), and pandas reads either URI directly.

`Context.OutputUris` (ipynb, html) go under the same version prefix. `Context.Analysis` is
set only when the caller knows the notebook's path (the image's NOTEBOOK_PATH names it
otherwise; finding it out would cost an inspect of the image on every run).

Under a `file://` output root, every output must really lie inside the root: symlinks
and `..` are resolved, so a link planted in the root's tree (outputs/report -> /etc) or a
fileName of `..` cannot make an engine or scheduler run write outside it
(`confine_to_output_root`). S3 keys have no such tree: there, a key is only a name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from iota_container.definitions.model import DatasetDefinition, DatasetVariable
from iota_container.engine.records import DATASET, LATEST_SUCCEEDED, Trigger, Version
from iota_container.errors import IotaError
from iota_container.storage.uri import OutputUri, parse_output_uri

if TYPE_CHECKING:
    from iota_container.params_file import JsonValue

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
    output_root: str | None = None,
) -> RunParams:
    """The params of one run of a container dataset whose outputs go under `output_prefix`
    (inside `output_root`, when given: see confine_to_output_root)."""
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
            _refuse_shared_output(definition, variable, uri, outputs)
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
    # Imported here: a SQL dataset's run writes no params file.
    from iota_container.params_file import parse_params

    parse_params(document, source=f"params of dataset {definition.dataset_name}")
    if output_root is not None:
        for name, uri in outputs.items():
            confine_to_output_root(uri, output_root, f"output {name} of {definition.dataset_name}")
    return RunParams(document, outputs, content_uri, inputs, upstream)


def _refuse_shared_output(
    definition: DatasetDefinition, variable: DatasetVariable, uri: str, outputs: dict[str, str]
) -> None:
    """Two outputs at one URI would overwrite each other (the report and a fileName
    `output.html`, or two variables with one fileName)."""
    for name, taken in outputs.items():
        if taken == uri:
            owner = f"variable {name}" if name not in ("ipynb", "html") else f"the {name} output"
            raise ResolveError(
                f"variable {variable.name} of dataset {definition.dataset_name!r} has the "
                f"fileName of {owner} ({uri.rsplit('/', 1)[-1]!r}): give it another fileName"
            )


def confine_to_output_root(uri: str | OutputUri, output_root: str, what: str) -> None:
    """ResolveError unless the file:// `uri` lies inside the file:// `output_root` once
    symlinks and `..` are resolved (as far as its folders exist). Other URIs pass."""
    target = uri if isinstance(uri, OutputUri) else parse_output_uri(uri, what=what)
    root = _root_folder(output_root)
    if target.path is None or root is None:
        return
    # Resolved on every call, the root too: it may be moved or replaced by a link while
    # a scheduler runs, and a real root kept from before would confine runs to where
    # it was.
    # Compared as text: every engine run asks, and Path.parents costs more than the I/O.
    real_root = os.path.realpath(root)
    real_path = os.path.realpath(target.path)
    if real_path == real_root or not real_path.startswith(real_root.rstrip("/") + "/"):
        raise ResolveError(
            f"{what} is {str(uri)!r}, which is {real_path!r} once links and '..' are "
            f"resolved: outside the output root {real_root!r}; remove the link (or fix "
            "the file name), or choose another output root"
        )


@lru_cache(maxsize=16)
def _root_folder(output_root: str) -> str | None:
    """The folder of a file:// output root (None for s3://): parsing only, so kept."""
    root = parse_output_uri(f"{output_root}/_", what="output root").path
    return str(root.parent) if root is not None else None


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
                f"version here: register it if it is not, and run it first "
                f"(`iota-container dataset run {source}`)"
            )
        version = found
    if not version.content_uri:
        raise ResolveError(
            f"{reader} reads the content of dataset {source!r}, but its version "
            f"{version.id} has no content file: give {source!r} an outputFileUriValue "
            "variable, or read a SQL dataset"
        )
    return version, version.content_uri
