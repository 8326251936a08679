"""How running code reads a dataset's content (a datasetContentVersionValue variable).

The variable holds the content's URI: `file://` for local runs, `s3://` under an S3
output root. pandas reads either URI as it is (`pd.read_csv(readings)`, with s3fs for
S3); for anything else:

    from iota_container.content import dataset_content
    path = dataset_content("readings")     # a local file: the variable's URI, fetched
    path = dataset_content("s3://b/k.csv")  # or a URI

A `file://` URI is its own path; an object of any other store (`s3://`) is fetched once
per process into the temporary folder, through the store's `get` (storage/).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from iota_container.errors import StorageError, VariableError
from iota_container.storage.uri import OutputUri, parse_output_uri

if TYPE_CHECKING:
    from iota_container.params_file import Params

_downloaded: dict[str, Path] = {}


def dataset_content(variable_or_uri: str, params: Params | None = None) -> Path:
    """A local file with the content a variable (of this run's params) or a URI names."""
    uri = _content_uri(variable_or_uri, params)
    location = parse_output_uri(uri, what="dataset content URI")
    if location.path is not None:
        if not location.path.is_file():
            raise StorageError(
                f"dataset content {uri!r} does not exist (was its version pruned?): "
                "run the dataset that makes it again"
            )
        return location.path
    if uri not in _downloaded:
        _downloaded[uri] = _download(location)
    return _downloaded[uri]


def _content_uri(variable_or_uri: str, params: Params | None) -> str:
    if "://" in variable_or_uri:
        return variable_or_uri
    if params is None:
        from iota_container.params_file import load_params

        params = load_params()
    value = params.variable(variable_or_uri)
    if not isinstance(value, str) or "://" not in value:
        raise VariableError(
            f"variable {variable_or_uri!r} is {value!r}, not a dataset content URI: give it "
            "a datasetContentVersionValue in the dataset definition"
        )
    return value


def _download(location: OutputUri) -> Path:
    from iota_container.storage import get

    digest = hashlib.sha256(location.uri.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "iota-dataset-content" / digest
    folder.mkdir(parents=True, exist_ok=True)
    return get(location, folder / PurePosixPath(location.key).name)
