"""The iota-container SDK for code running inside a container dataset.

    import iota_container as iota
    p = iota.params()                       # the run's params file, validated
    threshold = p.variable("threshold", float, default=0.5)
    iota.upload("result.csv", "custom_output")  # to the URI that variable holds

Heavy libraries (boto3, nbclient, nbconvert) are imported only when used, so importing
this module stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from iota_container.errors import IotaError, StorageError, VariableError

if TYPE_CHECKING:
    from iota_container.params_file import Params

__version__ = "0.1.0"
__all__ = [
    "IotaError",
    "Params",
    "StorageError",
    "VariableError",
    "dataset_content",
    "params",
    "upload",
]


def params(path: str | os.PathLike[str] | None = None) -> Params:
    """This run's params: `path`, else `$IOTA_PARAMS_PATH`, else the contract's path."""
    from iota_container.params_file import load_params

    return load_params(path)


def upload(source: str | os.PathLike[str] | bytes, destination: str) -> str:
    """Store a custom output and return the URI it went to.

    `source` is a file's path or the bytes themselves. `destination` is an `s3://` or
    `file://` URI, or the name of a variable holding one (such as `custom_output`).
    S3 objects always get the ACL `bucket-owner-full-control`.
    """
    from iota_container import storage

    uri = destination
    if "://" not in destination:
        value = params().variable(destination)
        if not isinstance(value, str):
            raise VariableError(
                f"variable {destination!r} is {value!r}, not an output URI: "
                "give it an s3:// or file:// URI (outputFileUriValue)"
            )
        uri = value
    return storage.put(source, uri).uri


def __getattr__(name: str) -> object:
    if name == "Params":
        from iota_container.params_file import Params

        return Params
    if name == "dataset_content":
        from iota_container.content import dataset_content

        return dataset_content
    raise AttributeError(name)
