"""One table drives loading, export and problem paths of a dataset definition.

Each model field (see spec.py) carries, in its dataclass metadata, its CreateDataset key
(camelCase), its CloudFormation key (PascalCase) and its kind. One generic reader turns a
decoded JSON/YAML document into the model, collecting every problem on the way; one
generic writer turns the model back into either shape. Hand-written readers for twenty
small classes would drift from the writers; a table cannot.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from iota_container.definitions.problems import Problem

STRING = "string"
INTEGER = "integer"
DOUBLE = "double"
BOOLEAN = "boolean"

_META = "iota_container.definitions"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# JSON's number grammar: what YAML 1.2 and JSON agree on. YAML 1.1 spellings (`0123`
# octal, `1_000`, `1:30` sexagesimal, `.inf`) are refused rather than guessed.
_JSON_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")
INTEGER_RANGE = (-(2**31), 2**31 - 1)  # the API's `integer` shapes are Java ints
_BOOLEANS = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
}


class PlainScalar(str):
    """An unquoted YAML scalar, kept as the text the author wrote.

    A field's kind decides what it means: a string field keeps `2024-01-01`, `yes`, `1.10`
    and `0123` as written; a number field parses it (see `_read_number`).
    """


class KeyedMapping(dict[Any, Any]):
    """A decoded object that remembers keys given twice (JSON and YAML keep the last)."""

    duplicates: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    attr: str
    api: str  # the CreateDataset request's key
    cfn: str  # the AWS::IoTAnalytics::Dataset property's key
    kind: str | type[Any]  # a scalar kind above, or a model dataclass
    many: bool
    required: bool

    def key(self, cloudformation: bool) -> str:
        return self.cfn if cloudformation else self.api

    @property
    def is_extension(self) -> bool:
        return self.api.startswith("x-")


def meta(
    api: str, kind: str | type[Any], *, cfn: str | None = None, many: bool = False
) -> dict[str, Any]:
    """Dataclass field metadata; a field without a default is a required one."""
    pascal = api if api.startswith("x-") else api[0].upper() + api[1:]
    return {_META: (api, cfn or pascal, kind, many)}


_SPECS: dict[type[Any], tuple[FieldSpec, ...]] = {}


def specs_of(cls: type[Any]) -> tuple[FieldSpec, ...]:
    if cls in _SPECS:
        return _SPECS[cls]
    specs = []
    for f in dataclasses.fields(cls):
        if _META in f.metadata:
            api, cfn, kind, many = f.metadata[_META]
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            specs.append(FieldSpec(f.name, api, cfn, kind, many, required))
    _SPECS[cls] = tuple(specs)
    return _SPECS[cls]


def child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{key!r}]"


def render_path(
    cls: type[Any], segments: Sequence[str | int], *, cloudformation: bool, root: str = "$"
) -> str:
    """`("actions", 0, "containerAction")` as `$.actions[0].containerAction`, or in the
    CloudFormation keys (`$.Actions[0].ContainerAction`) for a definition written so."""
    path = root
    current: type[Any] | None = cls
    for segment in segments:
        spec = None
        if isinstance(segment, str) and current is not None:
            spec = next((s for s in specs_of(current) if s.api == segment), None)
        if spec is not None:
            path = child_path(path, spec.key(cloudformation))
            current = spec.kind if isinstance(spec.kind, type) else None
        else:
            path = child_path(path, segment)
    return path


def dump(obj: Any, *, cloudformation: bool = False, extensions: bool = True) -> dict[str, Any]:
    """A model object as a JSON-ready dict; absent fields and empty lists are left out."""
    out: dict[str, Any] = {}
    for spec in specs_of(type(obj)):
        value = getattr(obj, spec.attr)
        if value is None or value == () or (spec.is_extension and not extensions):
            continue
        if isinstance(spec.kind, type):
            write = functools.partial(dump, cloudformation=cloudformation, extensions=extensions)
            value = [write(v) for v in value] if spec.many else write(value)
        elif spec.many:
            value = list(value)
        out[spec.key(cloudformation)] = value
    return out


class _Rejected(Exception):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


class DocumentReader:
    """Reads a decoded document into model objects, noting every problem it meets."""

    def __init__(self, file: str, *, cloudformation: bool) -> None:
        self.file = file
        self.cloudformation = cloudformation
        self.problems: list[Problem] = []

    def add(self, path: str, rule: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, path, rule, message, fix))

    def read(self, cls: type[Any], data: Any, path: str) -> Any:
        """An instance of `cls`, or None when `data` (or anything inside it) is wrong."""
        if not isinstance(data, dict):
            self.add(
                path,
                "type",
                _mismatch(data, "an object"),
                "write an object ({...}) here",
            )
            return None
        before = len(self.problems)
        specs = {spec.key(self.cloudformation): spec for spec in specs_of(cls)}
        for key in getattr(data, "duplicates", ()):
            self.add(
                child_path(path, key),
                "duplicate-key",
                f"{key!r} is given twice",
                "keep one (JSON and YAML readers silently keep the last)",
            )
        values: dict[str, Any] = {}
        meant: set[str] = set()  # keys that unknown ones were guessed to be
        for key, value in data.items():
            spec = specs.get(key) if isinstance(key, str) else None
            if spec is None:
                guess = self._unknown(cls, key, path)
                meant.update([guess] if guess else [])
            elif value is not None:  # null, or YAML's empty value: as if left out
                values[spec.attr] = self._read_field(spec, value, child_path(path, key))
        for key, spec in specs.items():
            # `imag` already got "did you mean 'image'?": "image is missing" adds nothing.
            if spec.required and data.get(key) is None and key not in meant:
                state = "null" if key in data else "missing"
                fix = f"{'give it a value' if key in data else 'add it'}: {_kind_name(spec)}"
                self.add(child_path(path, key), "required", f"{key} is {state}", fix)
        return cls(**values) if len(self.problems) == before else None

    def _read_field(self, spec: FieldSpec, value: Any, path: str) -> Any:
        if not spec.many:
            return self._read_one(spec.kind, value, path)
        if not isinstance(value, list):
            self.add(
                path,
                "type",
                _mismatch(value, "a list"),
                "write a list ([...]) here",
            )
            return None
        return tuple(self._read_one(spec.kind, v, child_path(path, i)) for i, v in enumerate(value))

    def _read_one(self, kind: str | type[Any], value: Any, path: str) -> Any:
        function = _intrinsic_function(value)
        if function:
            message = f"CloudFormation function {function} cannot be resolved here"
            fix = "write the value it stands for (a Ref to a parameter needs its Default)"
            self.add(path, "unresolved-function", message, fix)
            return None
        if isinstance(kind, type):
            return self.read(kind, value, path)
        try:
            return _SCALAR_READERS[kind](value)
        except _Rejected as e:
            self.add(path, "type", e.message, e.fix)
            return None

    def _unknown(self, cls: type[Any], key: Any, path: str) -> str | None:
        """Reports an unknown key; returns the key it was guessed to mean."""
        where = child_path(path, key) if isinstance(key, str) else path
        known = [spec.key(self.cloudformation) for spec in specs_of(cls)]
        guess = suggest(str(key), specs_of(cls), self.cloudformation)
        fix = f"did you mean {guess!r}?" if guess else f"remove it (known: {', '.join(known)})"
        self.add(where, "unknown-field", f"unknown field {key!r}", fix)
        return guess


def _intrinsic_function(value: Any) -> str | None:
    """`Ref 'Role'` or `Fn::Sub '...'` when `value` is `{"Ref": ...}` or `{"Fn::Sub": ...}`."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            shown = (
                repr(argument) if isinstance(argument, str) else json.dumps(argument, default=str)
            )
            return f"{key} {shown if len(shown) <= 60 else shown[:57] + '...'}"
    return None


def suggest(key: str, specs: Sequence[FieldSpec], cloudformation: bool) -> str | None:
    """The key the author most likely meant, in the document's own style."""
    lowered = key.lower().replace("_", "").replace("-", "")
    for spec in specs:  # the other style's spelling, or a case slip
        if lowered in (spec.api.lower().replace("-", ""), spec.cfn.lower().replace("-", "")):
            return spec.key(cloudformation)
    keys = [spec.key(cloudformation) for spec in specs]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    return close[0] if close else None


def _read_string(value: Any) -> str:
    if isinstance(value, str):
        return str(value)  # a PlainScalar keeps its text: `yes`, `1.10`, `2024-01-01`
    scalar = isinstance(value, (bool, int, float))
    fix = f'write it in quotes: "{_show(value)}"' if scalar else "write a string here"
    raise _Rejected(_mismatch(value, "a string"), fix)


def _read_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, PlainScalar) and value in _BOOLEANS:
        return _BOOLEANS[value]
    if isinstance(value, PlainScalar):  # `yes`, `on`: YAML 1.1 booleans, not JSON's
        raise _Rejected(f"{value!r} is not a boolean", "write true or false")
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        raise _Rejected(f"{value!r} is a string, not a boolean", f"remove the quotes: {value}")
    raise _Rejected(_mismatch(value, "a boolean"), "write true or false")


def _read_number(value: Any) -> int | float:
    if isinstance(value, PlainScalar):
        if not _JSON_NUMBER.match(value):
            raise _Rejected(
                f"{value!r} is not a number",
                "write plain decimal digits, such as 10 or 2.5 (no underscores, leading "
                "zeros or colons)",
            )
        return int(value) if _JSON_INTEGER.match(value) else float(value)
    if isinstance(value, str):
        fix = "remove the quotes" if _JSON_NUMBER.match(value.strip()) else "write a number"
        raise _Rejected(f"{value!r} is a string, not a number", fix)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Rejected(_mismatch(value, "a number"), "write a number")
    return value


def _read_integer(value: Any) -> int:
    number = _read_number(value)
    if isinstance(number, float):
        if not math.isfinite(number):  # `1e400` reads as infinity
            raise _Rejected(f"{_show(value)} is not a finite number", "write a finite number")
        if not number.is_integer():
            raise _Rejected(f"{number} is not a whole number", "write a whole number")
        number = int(number)
    # The API's integers are 32-bit (Java's int); a larger one is no count of anything here,
    # and Python's would be an OverflowError wherever it met a float or SQLite.
    if not INTEGER_RANGE[0] <= number <= INTEGER_RANGE[1]:
        lo, hi = INTEGER_RANGE
        message = f"{_show(number)} is outside the API's integer range ({lo}..{hi})"
        raise _Rejected(message, "write a smaller number")
    return number


def _read_double(value: Any) -> float:
    number = _read_number(value)
    try:
        result = float(number)  # an int of 400 digits does not fit
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        message = f"{_show(value)} is not a finite number of the API's range (a double)"
        raise _Rejected(message, "write a smaller number")
    return result


_SCALAR_READERS = {
    STRING: _read_string,
    BOOLEAN: _read_boolean,
    INTEGER: _read_integer,
    DOUBLE: _read_double,
}


def _kind_name(spec: FieldSpec) -> str:
    noun = "object" if isinstance(spec.kind, type) else spec.kind
    if spec.many:
        return f"a list of {noun}s"
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _mismatch(value: Any, expected: str) -> str:
    """`'10' is a string, not a number`."""
    if value is None:  # a null list item: `variables: [null]`
        return f"null is not {expected}"
    return f"{_show(value)} is {_describe(value)}, not {expected}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"  # a date from an explicit !!timestamp tag


def _show(value: Any) -> str:
    """A value as the author wrote it, shortened: `true`, `'10'`, `[...]`."""
    if isinstance(value, (dict, list)):
        return "{...}" if isinstance(value, dict) else "[...]"
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def repeated_keys(keys: list[Hashable]) -> tuple[str, ...]:
    seen: set[Hashable] = set()
    repeated: list[str] = []
    for key in keys:
        if key in seen and str(key) not in repeated:
            repeated.append(str(key))
        seen.add(key)
    return tuple(repeated)
