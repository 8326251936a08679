"""Output URIs: `s3://bucket/key` and `file:///absolute/path`. Parsing only, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from iota_container.errors import StorageError

SCHEMES = ("s3", "file")


@dataclass(frozen=True)
class OutputUri:
    uri: str
    scheme: str
    bucket: str = ""  # s3 only
    key: str = ""  # s3 only
    path: Path | None = None  # file only

    def __str__(self) -> str:
        return self.uri


def parse_output_uri(uri: str, what: str = "output URI") -> OutputUri:
    """Parse and check an output URI; `what` says where it came from, for the error."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        bucket, key = parts.netloc, parts.path.lstrip("/")
        if not bucket or not key or key.endswith("/"):
            raise StorageError(
                f"{what} {uri!r} needs both a bucket and an object key: "
                "write s3://BUCKET/path/to/file"
            )
        return OutputUri(uri=uri, scheme="s3", bucket=bucket, key=key)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StorageError(
                f"{what} {uri!r} is not an absolute file URI: write file:///absolute/path"
            )
        if parts.path.endswith("/"):
            raise StorageError(f"{what} {uri!r} names a directory: add a file name")
        return OutputUri(uri=uri, scheme="file", path=Path(unquote(parts.path)))
    raise StorageError(
        f"{what} {uri!r} is neither s3:// nor file://: "
        "write s3://BUCKET/KEY, or file:///absolute/path for a local run"
    )
