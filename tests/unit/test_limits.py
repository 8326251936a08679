"""The shared readers of documents from outside: sizes refused before they are held, depth
refused without a RecursionError, and the advice a caller words for its own readers."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from iota_container.errors import LimitExceeded
from iota_container.limits import (
    Limits,
    check_depth,
    loads_json,
    read_bytes_limited,
    read_chunks_limited,
)

SMALL = Limits(max_bytes=100, max_depth=4)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_an_endless_file_is_refused_after_one_byte_more() -> None:
    with pytest.raises(LimitExceeded) as error:
        read_bytes_limited("/dev/zero", SMALL, "params file")
    assert str(error.value) == (
        "params file '/dev/zero' is larger than 100 bytes: "
        "that is not a params file; check the path"
    )


def test_a_file_within_the_limit_is_read_whole(tmp_path: Path) -> None:
    file = tmp_path / "small"
    file.write_bytes(b"x" * 100)
    assert read_bytes_limited(file, SMALL, "params file") == b"x" * 100


def test_chunks_stop_being_read_once_past_the_limit() -> None:
    endless = itertools.repeat(b"y" * 30)  # never ends: only the limit stops the reading
    with pytest.raises(LimitExceeded, match="larger than 100 bytes: check the registry"):
        read_chunks_limited(endless, SMALL, "answer", "GET /v2/", fix="check the registry")
    assert read_chunks_limited([b"a", b"b"], SMALL, "answer", "GET /v2/") == b"ab"


@pytest.mark.parametrize("depth", [5, 50, 100_000])
def test_deep_json_is_one_line_not_a_recursion_error(depth: int) -> None:
    limits = Limits(max_bytes=1 << 20, max_depth=4)
    with pytest.raises(LimitExceeded) as error:
        loads_json(nested(depth), limits, "manifest", "r/x:1", fix="the registry sent no manifest")
    assert str(error.value) == (
        "manifest 'r/x:1' is nested deeper than 4 levels: the registry sent no manifest"
    )


def test_the_depth_limit_itself_is_allowed() -> None:
    assert loads_json(nested(4), SMALL, "body", "b") == [[[[]]]]
    assert loads_json('{"a": {"b": {"c": {"d": 1}}}}', SMALL, "body", "b")["a"]["b"]["c"]["d"] == 1


def test_check_depth_walks_a_deep_document_without_recursing() -> None:
    document: list[object] = []
    for _ in range(100_000):  # far past the interpreter's recursion limit
        document = [document]
    with pytest.raises(LimitExceeded, match="nested deeper than 4 levels: flatten it"):
        check_depth(document, SMALL, "body", "b")


def test_too_large_text_is_measured_in_utf8_bytes() -> None:
    with pytest.raises(LimitExceeded, match="larger than 100 bytes: send a smaller one"):
        loads_json('"' + "é" * 60 + '"', SMALL, "body", "b")  # 62 characters, 122 bytes
