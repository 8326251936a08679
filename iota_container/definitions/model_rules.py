"""The limits the service's own model puts on a definition, read from that model.

Lengths, patterns, enums, number ranges, item counts and required members come from the
CreateDataset shapes of the API model (service_model.py) for a definition in the API's
shape, and from the `AWS::IoTAnalytics::Dataset` resource schema (cloudformation_schema.py)
for one written for CloudFormation, where the two differ (CloudFormation: tag keys at most
128 characters, `NumberOfDays` at most 2147483647, `ActionName` required). Nothing here
copies a number by hand: one walk pairs each field of the model (spec.py) with its shape
and checks what the shape says. What the shapes cannot say (exactly one kind of value,
unique names, the trigger rules) is validate.py's and relations.py's.

Patterns are Java regular expressions matched against the whole value, as the service
matched them: `\\w` is ASCII, and a surrogate pair such as `\\uD800\\uDC00` stands for one
code point above U+FFFF.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from iota_container.definitions.cloudformation_schema import DATASET_RESOURCE_SCHEMA
from iota_container.definitions.rules import At, Findings, TextPattern, label
from iota_container.definitions.schema import specs_of
from iota_container.definitions.service_model import CREATE_DATASET_REQUEST, SHAPES

# What to write instead, by the pattern a value breaks (the model's patterns, as written).
_WORD_FIX = "use only letters, digits and _"
_PATTERN_FIXES: dict[str, str | Callable[[str], str]] = {
    "^[a-zA-Z0-9_]+$": _WORD_FIX,
    "(^(?!_{2}))(^[a-zA-Z0-9_]+$)": lambda value: (
        "drop the leading underscores" if value.startswith("__") else _WORD_FIX
    ),
    "[\\w\\.-]{1,255}": "use only letters, digits, _, . and -",
    "^[\\w\\.-]{1,255}$": "use only letters, digits, _, . and -",
    "^[a-zA-Z0-9.\\-_]*$": "give the bucket's name alone, without s3:// or a key",
    "^[a-zA-Z0-9!_.*'()/{}:-]*$": (
        "use letters, digits and !_.*'()/{}:- (such as !{iotanalytics:versionId})"
    ),
    "^[a-zA-Z][a-zA-Z0-9_]*$": "start with a letter; then letters, digits, _",
}
# What to do about a value that is too long, too large or a list with too many items
# (a short one gets "lengthen it", an empty list "add one, or leave it out").
_FIXES = {
    "image": "use a shorter repository path, or pin by digest (repo@sha256:...)",
    "volumeSizeInGB": "use 1 to 50 (GB); write larger outputs to S3 instead",
    "variables": "drop some, or pass several values as one JSON string",
    "stringValue": "shorten it, or read the data from a file the notebook fetches",
    "contentDeliveryRules": "deliver to fewer destinations",
    "triggers": "keep at most 5 triggers",
    "filters": "keep one deltaTime filter",
    "tags": "drop some tags",
    "lateDataRules": "keep one rule",
    "actions": "keep one action",
}
_TOO_FEW_FIXES = {"actions": "add a containerAction or a queryAction"}


@dataclass(frozen=True)
class Constraints:
    """What one shape says about a value: `low`..`high` (a string's length, a number's
    value, a list's item count), a pattern, an enum."""

    low: float | None = None
    high: float | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()


class ApiShape:
    """A shape of the API model, by name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.shape = SHAPES[name]

    def member(self, key: str) -> ApiShape | None:
        member = self.shape.get("members", {}).get(key)
        return ApiShape(member["shape"]) if member else None

    def items(self) -> ApiShape:
        return ApiShape(self.shape["member"]["shape"])

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.shape.get("required", ()))

    @property
    def constraints(self) -> Constraints:
        s = self.shape
        return Constraints(s.get("min"), s.get("max"), s.get("pattern"), tuple(s.get("enum", ())))


class SchemaNode:
    """A node of the CloudFormation resource schema, its `$ref` followed."""

    def __init__(self, node: Mapping[str, Any]) -> None:
        while "$ref" in node:
            node = DATASET_RESOURCE_SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        self.node = node

    def member(self, key: str) -> SchemaNode | None:
        member = self.node.get("properties", {}).get(key)
        return SchemaNode(member) if member else None

    def items(self) -> SchemaNode:
        return SchemaNode(self.node["items"])

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.node.get("required", ()))

    @property
    def constraints(self) -> Constraints:
        n = self.node
        low = n.get("minLength", n.get("minimum", n.get("minItems")))
        high = n.get("maxLength", n.get("maximum", n.get("maxItems")))
        return Constraints(low, high, n.get("pattern"), tuple(n.get("enum", ())))


Node = ApiShape | SchemaNode


def model_root(cloudformation: bool) -> Node:
    """The shape of a whole definition: the request's, or the resource's properties'."""
    return (
        SchemaNode(DATASET_RESOURCE_SCHEMA) if cloudformation else ApiShape(CREATE_DATASET_REQUEST)
    )


def check_model_constraints(f: Findings) -> None:
    """Every constraint of the model, on every field of the definition."""
    origin = f.definition.origin
    cloudformation = bool(origin and origin.cloudformation)
    _check_object(f, f.definition, model_root(cloudformation), (), cloudformation)


def _check_object(f: Findings, obj: Any, node: Node, at: At, cloudformation: bool) -> None:
    for spec in specs_of(type(obj)):
        member = None if spec.is_extension else node.member(spec.key(cloudformation))
        if member is None:  # this project's x- extensions: not the service's
            continue
        value, here = getattr(obj, spec.attr), (*at, spec.api)
        if value is None:
            if spec.key(cloudformation) in node.required:
                message = f"{spec.key(cloudformation)} is missing"
                f.add(here, f"{spec.api}.required", message, "add it")
        elif spec.many:
            _check_count(f, here, len(value), member.constraints)
            for index, item in enumerate(value):
                _check_value(f, item, member.items(), (*here, index), cloudformation)
        else:
            _check_value(f, value, member, here, cloudformation)


def _check_value(f: Findings, value: Any, node: Node, at: At, cloudformation: bool) -> None:
    c = node.constraints
    if dataclasses.is_dataclass(value):
        _check_object(f, value, node, at, cloudformation)
    elif isinstance(value, str):
        _check_text(f, at, value, c)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        fix = _FIXES.get(label(at), "")
        f.range(at, value, c.low, c.high, fix=fix)


def _check_text(f: Findings, at: At, value: str, c: Constraints) -> None:
    if c.enum:
        if value not in c.enum:
            name = label(at)
            message = f"{value!r} is not one of {' | '.join(c.enum)} ({name})"
            f.add(at, f"{name}.enum", message, f"use {' or '.join(c.enum)}")
        return
    low = None if c.low is None else int(c.low)
    high = None if c.high is None else int(c.high)
    pattern = _text_pattern(c.pattern, value) if c.pattern else None
    f.text(at, value, low, high, pattern, fix=_FIXES.get(label(at), "shorten it"))


def _check_count(f: Findings, at: At, count: int, c: Constraints) -> None:
    low = None if c.low is None else int(c.low)
    high = None if c.high is None else int(c.high)
    name = label(at)
    too_few = _TOO_FEW_FIXES.get(name, f"add at least {low}, or leave {name} out")
    f.count(at, count, low, high, too_few=too_few, too_many=_FIXES.get(name, "drop some"))


def _text_pattern(pattern: str, value: str) -> TextPattern:
    fix = _PATTERN_FIXES.get(pattern, "remove the characters it does not allow")
    return TextPattern(java_pattern(pattern), pattern, fix(value) if callable(fix) else fix)


@functools.lru_cache(maxsize=64)
def java_pattern(pattern: str) -> re.Pattern[str]:
    """A Java regular expression of the model as Python's: ASCII `\\w`, surrogate pairs
    as the one code point they encode."""

    def combine(match: re.Match[str]) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"

    pairs = re.sub(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", combine, pattern, flags=re.I)
    return re.compile(pairs, re.ASCII)
