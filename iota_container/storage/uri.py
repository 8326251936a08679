"""Output URIs: `s3://bucket/key` and `file:///absolute/path`. Parsing only, no I/O.

A URI either names exactly one place or is refused with a one-line error; nothing in it
is dropped or rewritten on the way:
- an S3 object key is everything after the bucket's `/`, byte for byte as written:
  `s3://b//p/x` is the key `/p/x`, `s3://b/a%20b` the key `a%20b` (S3 stores any key,
  and s3fs and pandas read these URIs the same way). `?` and `#` are refused, since
  URI readers take what follows them as a query or a fragment, not as part of the key;
- a `file://` path is percent-decoded (`%20` is a space, `%3F` a `?`); a raw `?` or `#`
  is refused, as is a path that decodes to a NUL byte;
- control characters are refused in either: URI parsers strip tabs and line breaks
  without a word, which would move the output somewhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from iota_container.errors import StorageError

SCHEMES = ("s3", "file")
# The characters of bucket names, legacy ones (capitals, underscores) included; the
# lengths are S3's to check. Anything else (user@, :port) is not part of a bucket name.
_BUCKET = re.compile(r"[A-Za-z0-9._-]+\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    control = _CONTROL.search(uri)
    if control:
        raise StorageError(
            f"{what} {uri!r} holds the control character {control[0]!r}: remove it "
            "(percent-encode it in a file:// URI)"
        )
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "s3":
        return _parse_s3(uri, what)
    if scheme == "file":
        return _parse_file(uri, what)
    raise StorageError(
        f"{what} {uri!r} is neither s3:// nor file://: "
        "write s3://BUCKET/KEY, or file:///absolute/path for a local run"
    )


def _parse_s3(uri: str, what: str) -> OutputUri:
    if "?" in uri or "#" in uri:
        raise StorageError(
            f"{what} {uri!r} holds '?' or '#', which URI readers do not take as part of an "
            "S3 key: drop them from the key (keys are used as written, so %3F would stay %3F)"
        )
    bucket, slash, key = uri[len("s3://") :].partition("/")
    if uri[:5].lower() != "s3://" or not bucket or not slash or not key or key.endswith("/"):
        raise StorageError(
            f"{what} {uri!r} needs both a bucket and an object key: write s3://BUCKET/path/to/file"
        )
    if not _BUCKET.match(bucket):
        raise StorageError(
            f"{what} {uri!r} names the bucket {bucket!r}, which is not a bucket name "
            "(letters, digits, '.', '-' and '_'): fix the bucket"
        )
    return OutputUri(uri=uri, scheme="s3", bucket=bucket, key=key)


def _parse_file(uri: str, what: str) -> OutputUri:
    if "?" in uri or "#" in uri:
        raise StorageError(
            f"{what} {uri!r} holds '?' or '#', which a file URI takes as a query or a "
            "fragment: percent-encode them in the path (%3F, %23), or drop them"
        )
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise StorageError(
            f"{what} {uri!r} is not an absolute file URI: write file:///absolute/path"
        )
    path = unquote(parts.path)
    if path.endswith("/") or path.rsplit("/", 1)[-1] in (".", ".."):
        raise StorageError(f"{what} {uri!r} names a directory: add a file name")
    if "\x00" in path:
        raise StorageError(f"{what} {uri!r} decodes to a path with a NUL byte: remove the %00")
    return OutputUri(uri=uri, scheme="file", path=Path(path))
