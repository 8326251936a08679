"""One codec for a variable's value between a notebook and a dataset.

A dataset variable holds a string or a double, nothing else; a notebook's default may be a
bool, a list or a dict too. Such a value travels as a JSON string (`"true"`, `"[1,2]"`),
and is decoded back by the type the notebook's own default has. Encoding writes a
definition's variables (definitions/from_image.py) and the text an editor shows
(`default_text`); decoding reads a run's params (params_file.py), puts them into the
notebook (notebook/inject.py) and reads edited text back (`default_from_text`).
"""

from __future__ import annotations

import builtins
import json
import math
from typing import Any, TypeVar, cast

from iota_container.errors import LimitExceeded, VariableError
from iota_container.limits import PARAMS_LIMITS, loads_json

T = TypeVar("T")

# The Python types of JSON values, which a type hint may name for a default of None.
HINTABLE_TYPES = ("str", "int", "float", "bool", "list", "dict")
JSON_TYPES: dict[str, type[Any]] = {name: getattr(builtins, name) for name in HINTABLE_TYPES}
_NO_MATCH: Any = object()


def is_number(value: Any) -> bool:
    """An int or float, not a bool (which Python counts as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def dataset_value(default: Any) -> float | str | None:
    """A notebook default as a dataset variable's value: a finite number a double, a string
    itself, a bool, list or dict its JSON, None no value. NaN and infinity are text, as
    JSON (and so a definition) cannot hold them."""
    if default is None or isinstance(default, str):
        return default
    if is_number(default):
        return float(default) if math.isfinite(default) else str(default)
    return json.dumps(default, ensure_ascii=False, separators=(",", ":"))


def default_text(default: Any) -> str:
    """A default as the text an editor shows, which `default_from_text` reads back: `30`,
    `true`, `["north"]`, a string as it is, None empty."""
    if is_number(default) and math.isfinite(default):
        return json.dumps(default)
    encoded = dataset_value(default)
    return "" if encoded is None else str(encoded)


def decode_value(name: str, value: Any, as_type: type[T], source: str) -> T:
    """`value` as `as_type`, decoding a JSON-carrying string when the type asks for it."""
    converted = _convert(value, as_type)
    if converted is _NO_MATCH and isinstance(value, str) and as_type is not str:
        try:
            decoded = loads_json(value, PARAMS_LIMITS, "variable", name)
        except (ValueError, LimitExceeded):
            decoded = _NO_MATCH
        if decoded is not _NO_MATCH:
            converted = _convert(decoded, as_type)
    if converted is _NO_MATCH:
        raise VariableError(
            f"variable {name!r} is {_shown(value)} ({type(value).__name__}), "
            f"not {as_type.__name__}: set Variables.{name} in {source} to a "
            f"{as_type.__name__} value"
        )
    return cast(T, converted)


def default_from_text(name: str, text: str, python_type: str, is_double: bool) -> Any:
    """The default an edited `text` gives a variable of `python_type` (the inverse of
    `default_text`): empty is None, unless the type is str; a double's text is a number."""
    wanted = (int if python_type == "int" else float) if is_double else JSON_TYPES.get(python_type)
    if wanted is str:
        return text
    if text.strip() == "":
        return None
    if wanted is None:  # no JSON type to decode to (`x = None`): JSON if it is, else text
        try:
            return loads_json(text, PARAMS_LIMITS, "variable", name)
        except (ValueError, LimitExceeded):
            return text
    try:
        return decode_value(name, text, wanted, "the request")
    except VariableError as e:
        raise VariableError(
            f"variable {name!r}: {_shown(text)} is not {_a(wanted.__name__)}: "
            f"give {_a(wanted.__name__)} in JSON"
        ) from e


def _a(noun: str) -> str:
    return f"an {noun}" if noun == "int" else f"a {noun}"


def _shown(value: Any, most: int = 80) -> str:
    """`repr(value)` cut short: the message quotes a bad value, not all of a long one."""
    text = repr(value)
    return text if len(text) <= most else f"{text[: most - 1]}…"


def _convert(value: Any, as_type: type[Any]) -> Any:
    if as_type is bool:
        return value if isinstance(value, bool) else _NO_MATCH
    if isinstance(value, bool):
        return _NO_MATCH  # bool is an int subclass; never let True pass as 1
    if as_type is float and isinstance(value, (int, float)):
        return float(value)
    if as_type is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return _NO_MATCH
    return value if isinstance(value, as_type) else _NO_MATCH
