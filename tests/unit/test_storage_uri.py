"""Output URIs name exactly one place, or are refused with one line: nothing in them is
dropped or rewritten (a query, a fragment, a tab, an empty path segment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iota_container.errors import StorageError
from iota_container.storage.uri import parse_output_uri


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        ("s3://b/p/k", "p/k"),
        ("s3://b//p/x", "/p/x"),
        ("s3://b/p//x", "p//x"),
        ("s3://b/p/../x", "p/../x"),
        ("s3://b/./x", "./x"),
        ("s3://b/a%20b", "a%20b"),
        ("s3://b/a b", "a b"),
        ("s3://b/ü+&=;:@$,", "ü+&=;:@$,"),
        ("S3://Legacy_Bucket/k ", "k "),
    ],
)
def test_an_s3_key_is_kept_exactly_as_written(uri: str, key: str) -> None:
    parsed = parse_output_uri(uri)
    assert (parsed.scheme, parsed.key) == ("s3", key)


@pytest.mark.parametrize(
    "uri",
    [
        "s3://b/p/k?x=1#frag",
        "s3://b/p/k?",
        "s3://b/p/k#",
        "s3://b/p?/k",
        "s3://b?x/k",
        "s3://b/%3F/k#x",
    ],
)
def test_a_query_or_fragment_in_an_s3_uri_is_refused(uri: str) -> None:
    with pytest.raises(StorageError) as refused:
        parse_output_uri(uri, what="Context.OutputUris.html")
    message = str(refused.value)
    assert message.startswith(f"Context.OutputUris.html {uri!r} holds '?' or '#'")
    assert message.endswith(
        "drop them from the key (keys are used as written, so %3F would stay %3F)"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    "uri",
    [
        "s3://b/a\tb",
        "s3://b/a\nb",
        "s3://b/a\rb",
        "s3://b/ab\x00",
        "file:///tmp/a\nb",
        "s3://b/\x7f",
    ],
)
def test_control_characters_are_refused_not_stripped(uri: str) -> None:
    with pytest.raises(StorageError, match="holds the control character"):
        parse_output_uri(uri)


@pytest.mark.parametrize(
    "uri",
    ["s3://user@b/k", "s3://b:443/k", "s3://b%2Fc/k", "s3://[::1]/k"],
)
def test_what_is_not_a_bucket_name_is_refused(uri: str) -> None:
    with pytest.raises(StorageError, match="which is not a bucket name"):
        parse_output_uri(uri)


@pytest.mark.parametrize("uri", ["s3://b", "s3://b/", "s3:///k", "s3://b/k/", "s3:/b/k", "s3:b/k"])
def test_an_s3_uri_without_bucket_or_key_is_refused(uri: str) -> None:
    with pytest.raises(StorageError, match="needs both a bucket and an object key"):
        parse_output_uri(uri)


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///tmp/out.html", "/tmp/out.html"),
        ("file://localhost/tmp/out.html", "/tmp/out.html"),
        ("file:///tmp/a%20b%3F%23.txt", "/tmp/a b?#.txt"),
    ],
)
def test_a_file_uri_is_percent_decoded(uri: str, path: str) -> None:
    assert parse_output_uri(uri).path == Path(path)


@pytest.mark.parametrize("uri", ["file:///tmp/out.html?x=1", "file:///tmp/out.html#top"])
def test_a_query_or_fragment_in_a_file_uri_is_refused(uri: str) -> None:
    with pytest.raises(StorageError, match=r"percent-encode them in the path \(%3F, %23\)"):
        parse_output_uri(uri)


@pytest.mark.parametrize(
    "uri", ["file:///tmp/", "file:///tmp/..", "file:///tmp/.", "file:///tmp/%2E%2E", "file:///"]
)
def test_a_file_uri_naming_a_folder_is_refused(uri: str) -> None:
    with pytest.raises(StorageError, match="names a directory: add a file name"):
        parse_output_uri(uri)


def test_a_nul_byte_in_a_file_uri_is_refused() -> None:
    with pytest.raises(StorageError, match="NUL byte"):
        parse_output_uri("file:///tmp/a%00b")
