"""Reading request fields: each reader names the field it complains about, and
`blame` gives an SDK error without a field of its own the field it came from."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from iota_container.definitions.problems import DefinitionError, Problem
from iota_container.errors import IotaError


class BadRequest(IotaError):
    """A missing or invalid request field; `field` is its dotted name (or None)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def blame(field: str | None) -> Iterator[None]:
    """An IotaError raised inside, without a field of its own, is about `field`."""
    try:
        yield
    except BadRequest:
        raise
    except IotaError as e:
        raise BadRequest(str(e), getattr(e, "field", None) or field) from e


def field_of(problem: Problem, prefix: str = "definition") -> str:
    """`$.actions[0].containerAction.image` → `definition.actions.0.containerAction.image`."""
    path = re.sub(r"\[(\d+)\]", r".\1", problem.json_path).lstrip("$").lstrip(".")
    return f"{prefix}.{path}" if path else prefix


def problem_text(problem: Problem) -> str:
    """A finding without its file (the UI shows it beside a field, not a file)."""
    if not problem.fix:
        return problem.message
    return f"{problem.message.rstrip('.')}: {problem.fix}"


def problems_json(error: DefinitionError) -> list[dict[str, str]]:
    return [
        {"path": p.json_path, "rule": p.rule, "message": p.message, "fix": p.fix}
        for p in error.problems
    ]


def text(data: Mapping[str, Any], key: str, field: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{field} is missing: fill it in", field)
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be text, not {type(value).__name__}", field)
    return value


def optional_text(data: Mapping[str, Any], key: str, field: str) -> str | None:
    return text(data, key, field, required=False) or None


_WHOLE_NUMBER = re.compile(r"^\s*-?[0-9]{1,18}\s*$")  # int() of longer text is slow, or refused


def integer(
    data: Mapping[str, Any], key: str, field: str, default: int, low: int, high: int
) -> int:
    value = data.get(key, default)
    if isinstance(value, str) and _WHOLE_NUMBER.match(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{field} must be a whole number, not {shown(value)}", field)
    if not low <= value <= high:
        raise BadRequest(f"{field} {shown(value)} is out of range: use {low} to {high}", field)
    return value


def shown(value: Any, most: int = 40) -> str:
    """`repr(value)`, cut short: a message quotes the bad value, not all of a huge one."""
    text = repr(value)
    return text if len(text) <= most else f"{text[: most - 1]}…"


def flag(data: Mapping[str, Any], key: str, field: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{field} must be true or false, not {shown(value)}", field)
    return value


def json_object(
    data: Mapping[str, Any], key: str, field: str, *, required: bool = True
) -> dict[str, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object", field)
    return value


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", None)
    return body
