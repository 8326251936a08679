"""The params-file contract: read, validate and write `/opt/ml/input/data/iotanalytics/params`.

The file is the only input a container dataset run gets. Validation happens once, up
front, so that a run never starts (and never uploads anything) with a file it cannot use.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union, overload

from iota_container.errors import ParamsError, VariableError
from iota_container.limits import PARAMS_LIMITS, loads_json, read_bytes_limited
from iota_container.storage.uri import parse_output_uri
from iota_container.variable_codec import decode_value

DEFAULT_PARAMS_PATH = "/opt/ml/input/data/iotanalytics/params"
PARAMS_PATH_ENV = "IOTA_PARAMS_PATH"
REQUIRED_OUTPUT_KEYS = ("ipynb", "html")

JsonValue = Union[str, int, float, bool, None, list[Any], dict[str, Any]]
T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<no default>"


MISSING: Any = _Missing()


def params_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The params file to read: an explicit path, else `$IOTA_PARAMS_PATH`, else the contract's."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(PARAMS_PATH_ENV) or DEFAULT_PARAMS_PATH)


@dataclass(frozen=True)
class Params:
    """One run's parameters, as the container sees them."""

    variables: Mapping[str, JsonValue]
    output_uris: Mapping[str, str]
    analysis: str | None = None
    source: str = "<params>"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @overload
    def variable(self, name: str) -> JsonValue: ...

    @overload
    def variable(self, name: str, as_type: type[T], default: T | Any = MISSING) -> T: ...

    def variable(self, name: str, as_type: type[Any] | None = None, default: Any = MISSING) -> Any:
        """The value of variable `name`, checked (and, where lossless, converted) to `as_type`.

        Dataset variables are strings or doubles, so a bool, list or dict travels as a JSON
        string: asking for `bool`, `list` or `dict` (or a number) decodes such a string.
        """
        if name not in self.variables:
            if default is not MISSING:
                return default
            known = ", ".join(sorted(self.variables)) or "none"
            raise VariableError(
                f"variable {name!r} is not in {self.source} (variables: {known}): "
                f"add it under Variables, or pass a default"
            )
        value = self.variables[name]
        if as_type is None:
            return value
        return decode_value(name, value, as_type, self.source)


def load_params(path: str | os.PathLike[str] | None = None) -> Params:
    """Read and validate the params file (see `params_path` for which one)."""
    file = params_path(path)
    return parse_params_text(_read_params_text(file), source=str(file))


def _read_params_text(file: Path) -> str:
    """The file's text, at most PARAMS_LIMITS.max_bytes of it: a device such as /dev/zero
    given by mistake is refused instead of filling the memory."""
    try:
        return read_bytes_limited(file, PARAMS_LIMITS, "params file").decode("utf-8")
    except FileNotFoundError:
        raise ParamsError(
            f"params file {str(file)!r} does not exist: mount it there, or point "
            f"{PARAMS_PATH_ENV} at it (`iota-container params init` writes a template)"
        ) from None
    except IsADirectoryError:
        raise ParamsError(
            f"params file {str(file)!r} is a directory: give the file's path"
        ) from None
    except (PermissionError, UnicodeDecodeError) as e:
        raise ParamsError(
            f"params file {str(file)!r} cannot be read ({type(e).__name__}): "
            f"make it a UTF-8 file readable by uid {os.getuid()}"
        ) from e
    except OSError as e:
        raise ParamsError(_unopenable(file, e)) from e


def _unopenable(file: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return (
            f"params file {str(file)!r} leads into a loop of symbolic links (ELOOP): "
            "point the link, or the path, at the real params file"
        )
    reason = error.strerror or type(error).__name__
    code = errno.errorcode.get(error.errno or 0, "")
    return (
        f"params file {str(file)!r} cannot be opened ({reason}{', ' + code if code else ''}): "
        "give the path of a readable params file"
    )


def parse_params_text(text: str, source: str = "<params>") -> Params:
    try:
        document = loads_json(
            text,
            PARAMS_LIMITS,
            "params file",
            source,
            object_pairs_hook=_object_refusing_repeated_keys(source),
            fix="a params file holds Context and Variables a few levels deep; flatten it",
        )
    except ValueError as e:
        raise ParamsError(f"params file {source!r} is not JSON ({e}): fix the syntax") from e
    return parse_params(document, source)


def _object_refusing_repeated_keys(
    source: str,
) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """JSON readers disagree on which of two equal keys wins (Python's keeps the last, others
    the first), so a run could see another value than the author meant: refuse it."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for key, value in pairs:
            if key in document:
                raise ParamsError(
                    f"params file {source!r} gives the key {key!r} twice in one object: "
                    "keep one of them"
                )
            document[key] = value
        return document

    return build


def parse_params(document: Any, source: str = "<params>") -> Params:
    """Validate a decoded params document against the contract."""
    where = f"params file {source!r}"
    if not isinstance(document, dict):
        raise ParamsError(
            f"{where}: the top level is {_json_type(document)}, not an object: "
            'write {"Context": {"OutputUris": {...}}, "Variables": {...}}'
        )
    context = _require_object(document, "Context", where)
    output_uris = _require_object(context, "OutputUris", where, path="Context.OutputUris")
    variables = _require_object(document, "Variables", where)
    for key, uri in output_uris.items():
        if not isinstance(uri, str):
            raise ParamsError(
                f"{where}: Context.OutputUris.{key} is {_json_type(uri)}, not a string: "
                "give an s3:// or file:// URI"
            )
        parse_output_uri(uri, what=f"Context.OutputUris.{key} in {source}")
    for key in REQUIRED_OUTPUT_KEYS:
        if key not in output_uris:
            raise ParamsError(
                f"{where}: Context.OutputUris has no {key!r}: add the URI the executed "
                f"{'notebook' if key == 'ipynb' else 'HTML report'} goes to"
            )
    analysis = context.get("Analysis")
    if analysis is not None and (not isinstance(analysis, str) or not analysis):
        raise ParamsError(
            f"{where}: Context.Analysis is {analysis!r}, not a notebook path: "
            "give the notebook's path inside the image, or leave Analysis out"
        )
    for name, value in variables.items():
        _check_json_value(value, f"Variables.{name}", where)
    return Params(
        variables=dict(variables),
        output_uris=dict(output_uris),
        analysis=analysis,
        source=source,
        raw=document,
    )


def _require_object(
    parent: Mapping[str, Any], key: str, where: str, path: str | None = None
) -> dict[str, Any]:
    path = path or key
    if key not in parent:
        raise ParamsError(f"{where}: {path} is missing: add it (see `iota-container params init`)")
    value = parent[key]
    if not isinstance(value, dict):
        raise ParamsError(
            f"{where}: {path} is {_json_type(value)}, not an object: make it an object"
        )
    return value


def _check_json_value(value: Any, path: str, where: str) -> None:
    # json.loads accepts NaN and Infinity, which no dataset variable can hold.
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(f"{where}: {path} is {value!r}: give a finite number")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]", where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json_value(item, f"{path}.{key}", where)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def template_params(
    output_root: str,
    variables: Mapping[str, JsonValue] | None = None,
    analysis: str | None = None,
) -> dict[str, Any]:
    """A params document whose outputs go under `output_root` (an s3:// or file:// URI)."""
    root = output_root.rstrip("/") + "/"
    context: dict[str, Any] = {
        "OutputUris": {"ipynb": root + "output.ipynb", "html": root + "output.html"}
    }
    if analysis:
        context["Analysis"] = analysis
    document = {"Context": context, "Variables": dict(variables or {})}
    parse_params(document, source="<template>")  # a template must itself be valid
    return document


def write_params(
    document: Mapping[str, Any], path: str | os.PathLike[str], overwrite: bool = False
) -> Path:
    """Write a params document atomically: readers never see half a file."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise ParamsError(f"{str(target)!r} already exists: choose another path, or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
    ) as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    # World-readable: the container's non-root user reads it through a bind mount.
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)
    return target
