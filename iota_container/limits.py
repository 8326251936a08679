"""Size and depth limits for every document read from outside: params files, notebooks,
definitions, recipes, registry answers, request bodies.

The standard readers have none: `json.loads` of a 1 GB file takes the memory it wants, a
deeply nested document ends in `RecursionError`, and a YAML alias bomb expands into
gigabytes once anything walks it. Each reader here refuses such input with one line that
names what was read, the limit and the fix, before (bytes) or while (depth, YAML nodes)
it is parsed.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from iota_container.errors import LimitExceeded

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How much of one kind of document is read: `max_bytes` of text, nested at most
    `max_depth` levels (a scalar is depth 0), at most `max_nodes` YAML nodes once its
    aliases are expanded."""

    max_bytes: int
    max_depth: int = 64
    max_nodes: int = 1_000_000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_depth <= 0 or self.max_nodes <= 0:
            raise ValueError(f"limits must be positive: {self}")


# One place for the numbers. A notebook with embedded plots is often tens of MB; the
# service itself capped recipes (16,000 bytes) and definitions (its request size).
PARAMS_LIMITS = Limits(max_bytes=MIB)
NOTEBOOK_LIMITS = Limits(max_bytes=256 * MIB, max_depth=100)
DEFINITION_LIMITS = Limits(max_bytes=4 * MIB, max_nodes=200_000)
RECIPE_LIMITS = Limits(max_bytes=MIB, max_nodes=100_000)
REGISTRY_DOCUMENT_LIMITS = Limits(max_bytes=4 * MIB)  # distribution's own manifest cap
REQUEST_BODY_LIMITS = Limits(max_bytes=4 * MIB)
CREDENTIAL_LIMITS = Limits(max_bytes=MIB)  # Docker's config.json, a credential helper's answer

# The fix each kind of refusal suggests unless the caller knows a better one.
_NOT_THAT_KIND = "that is not a {what}; check the path"
_SEND_SMALLER = "send a smaller one"
_FLATTEN = "flatten it"


def read_bytes_limited(
    path: str | os.PathLike[str], limits: Limits, what: str, *, fix: str | None = None
) -> bytes:
    """At most `limits.max_bytes` of a file; a larger one (or an endless one such as
    /dev/zero) is refused after reading one byte more. OSError is left to the caller,
    which knows how to word it."""
    with open(path, "rb") as handle:
        return read_stream_limited(handle, limits, what, str(path), fix=fix)


def read_stream_limited(
    handle: IO[bytes], limits: Limits, what: str, name: str, *, fix: str | None = None
) -> bytes:
    data = handle.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise _too_large(limits, what, name, fix or _NOT_THAT_KIND.format(what=what))
    return data


def read_chunks_limited(
    chunks: Iterable[bytes], limits: Limits, what: str, name: str, *, fix: str | None = None
) -> bytes:
    """The chunks joined, refused as soon as they pass `limits.max_bytes` (an HTTP body
    as it arrives: nothing past the limit is waited for or kept)."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limits.max_bytes:
            raise _too_large(limits, what, name, fix or _NOT_THAT_KIND.format(what=what))
    return bytes(data)


def check_size(
    data: bytes | str, limits: Limits, what: str, name: str, *, fix: str | None = None
) -> None:
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > limits.max_bytes:
        raise _too_large(limits, what, name, fix or _SEND_SMALLER)


def loads_json(
    data: bytes | str,
    limits: Limits,
    what: str,
    name: str,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
    fix: str | None = None,
) -> Any:
    """`json.loads` within `limits`; ValueError (bad JSON) is left to the caller. `fix`
    replaces the advice of a refusal (the sender of a registry answer cannot "flatten it")."""
    check_size(data, limits, what, name, fix=fix)
    try:
        document = json.loads(
            data, object_pairs_hook=object_pairs_hook, parse_constant=parse_constant
        )
    except RecursionError:
        raise _too_deep(limits, what, name, fix) from None
    check_depth(document, limits, what, name, fix=fix)
    return document


def check_depth(
    document: Any, limits: Limits, what: str, name: str, *, fix: str | None = None
) -> None:
    """Refuse a parsed document nested deeper than `limits.max_depth` (iteratively, so a
    deep one cannot exhaust the stack here either)."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth + 1 > limits.max_depth:
            raise _too_deep(limits, what, name, fix)
        stack.extend((child, depth + 1) for child in children)


def check_yaml_node(node: Any, limits: Limits, what: str, name: str) -> None:
    """Refuse a composed YAML node graph that is too deep, or that holds more than
    `limits.max_nodes` nodes once every alias is expanded (the "billion laughs": a few
    hundred bytes whose aliases expand into gigabytes when the result is walked)."""
    import yaml

    count = 0
    stack: list[tuple[yaml.Node, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        count += 1
        if count > limits.max_nodes:
            raise LimitExceeded(
                f"{what} {name!r} expands to more than {limits.max_nodes:,} values "
                "(YAML aliases): write the values out, or use fewer aliases"
            )
        if isinstance(current, yaml.SequenceNode):
            children: list[yaml.Node] = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [part for pair in current.value for part in pair]
        else:
            continue
        if depth + 1 > limits.max_depth:
            raise _too_deep(limits, what, name)
        stack.extend((child, depth + 1) for child in children)


def load_yaml(text: str, loader_class: Any, limits: Limits, what: str, name: str) -> Any:
    """One YAML document read with `loader_class` (a PyYAML loader class) within `limits`:
    its size checked first, its node graph composed and checked (`check_yaml_node`), and
    only then constructed. None for an empty stream; yaml.YAMLError is left to the caller."""
    check_size(text, limits, what, name)
    loader = _depth_bounded(loader_class)(text)
    loader.depth_limit = limits.max_depth
    try:
        try:
            node = loader.get_single_node()
        except _TooDeep:
            raise _too_deep(limits, what, name) from None
        if node is None:
            return None
        check_yaml_node(node, limits, what, name)
        return loader.construct_document(node)
    finally:
        loader.dispose()


class _TooDeep(Exception):
    pass


@functools.lru_cache(maxsize=16)
def _depth_bounded(loader_class: Any) -> Any:
    """`loader_class` whose composer stops past `depth_limit` levels. Stopping there, not at
    a RecursionError, matters: PyYAML's scanner is quadratic in the nesting of flow
    collections (`[[[[...`), so 5,000 levels cost it seconds before the stack ran out."""

    class DepthBounded(loader_class):  # type: ignore[misc]
        depth_limit = 64
        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self._depth += 1
            try:
                if self._depth > self.depth_limit + 1:  # a scalar at the limit is depth 64
                    raise _TooDeep
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return DepthBounded


def _too_deep(limits: Limits, what: str, name: str, fix: str | None = None) -> LimitExceeded:
    return LimitExceeded(
        f"{what} {name!r} is nested deeper than {limits.max_depth} levels: {fix or _FLATTEN}"
    )


def _too_large(limits: Limits, what: str, name: str, fix: str) -> LimitExceeded:
    return LimitExceeded(f"{what} {name!r} is larger than {_size(limits.max_bytes)}: {fix}")


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count:,} bytes"
