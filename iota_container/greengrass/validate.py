"""`greengrass validate`: a recipe against the recipe schema and the device's rules.

Each finding says what to change; warnings (Problem.severity) name what may be wrong but
does not stop the device (a bucket name that looks like a placeholder), and never make a
recipe invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iota_container.definitions.problems import Problem
from iota_container.greengrass.documents import MAX_RECIPE_BYTES, parse_recipe, read_recipe_text
from iota_container.greengrass.errors import RecipeInvalid
from iota_container.greengrass.recipe import RECIPE_FORMAT_VERSION
from iota_container.greengrass.rules import device_problems
from iota_container.text import one_line


def lowercase_keys(node: Any) -> Any:
    """The recipe as the Greengrass Development Kit validates it: every key lowercased."""
    if isinstance(node, Mapping):
        return {str(k).lower(): lowercase_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [lowercase_keys(item) for item in node]
    return node


def schema_problems(recipe: Any, source: str) -> list[Problem]:
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]

    from iota_container.greengrass.recipe_schema import RECIPE_SCHEMA

    validator = Draft7Validator(RECIPE_SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(lowercase_keys(recipe)), key=lambda e: e.path):
        path = "$" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
        )
        message = one_line(error.message)
        problems.append(Problem(source, path, "recipe schema", message, _schema_fix(error)))
    return problems


# The recipe's keys as the documentation writes them, for fixes that name one.
_KEY_NAMES = {
    name.lower(): name
    for name in (
        "RecipeFormatVersion",
        "ComponentName",
        "ComponentVersion",
        "Manifests",
        "Lifecycle",
        "Artifacts",
        "URI",
        "Platform",
    )
}


def _schema_fix(error: Any) -> str:
    """What to change, by the schema keyword the recipe breaks."""
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        names = [_KEY_NAMES.get(k, k) for k in missing]
        if names == ["RecipeFormatVersion"]:
            return f"add RecipeFormatVersion: '{RECIPE_FORMAT_VERSION}'"
        return f"add {', '.join(names)}" if names else "add the missing keys"
    if error.validator == "additionalProperties":
        return "remove it, or fix its spelling (keys are read in any case)"
    if error.validator == "enum":
        return "use one of " + ", ".join(repr(v) for v in error.validator_value)
    if error.validator == "type":
        return f"write {error.validator_value} here"
    return "see the recipe reference for this key"


def recipe_problems(recipe: Any, source: str, size: int | None = None) -> list[Problem]:
    """Every finding for one decoded recipe: size, schema, then the device's rules."""
    problems: list[Problem] = []
    if size is not None and size > MAX_RECIPE_BYTES:
        problems.append(
            Problem(
                source,
                "$",
                "recipe size",
                f"the recipe is {size} bytes, over the {MAX_RECIPE_BYTES} the tools accept",
                "move large values out of DefaultConfiguration",
            )
        )
    if not isinstance(recipe, Mapping):
        kind = "empty" if recipe is None else f"a {type(recipe).__name__}"
        message = f"the recipe is {kind}, not an object"
        fix = (
            "write one mapping with RecipeFormatVersion, ComponentName, ComponentVersion and "
            "Manifests, such as `iota-container greengrass recipe` writes"
        )
        return [*problems, Problem(source, "$", "recipe schema", message, fix)]
    device = list(device_problems(recipe, source))
    typed_paths = {p.json_path.lower() for p in device if p.rule.endswith(("is text", "version"))}
    problems += [p for p in schema_problems(recipe, source) if p.json_path not in typed_paths]
    return problems + device


def format_problem(problem: Problem) -> str:
    """`FILE: $.path: rule: message: fix`, on one line (`warning: ` first for a warning)."""
    fix = f": {problem.fix}" if problem.fix else ""
    message = problem.message.rstrip(".")
    line = f"{problem.file}: {problem.json_path}: {problem.rule}: {message}{fix}"
    return line if problem.is_error else f"warning: {line}"


def validate_recipe_file(path: Path) -> list[Problem]:
    """Findings for a recipe file; a file that cannot be read or parsed is one finding."""
    try:
        data = read_recipe_text(path)
        recipe = parse_recipe(data, str(path))
    except RecipeInvalid as e:
        return [Problem(str(path), "$", "recipe file", str(e))]
    return recipe_problems(recipe, str(path), size=len(data))


def load_valid_recipe(path: Path) -> tuple[dict[str, Any], bytes]:
    """The decoded recipe and its bytes; RecipeInvalid (first finding) if it breaks a rule."""
    data = read_recipe_text(path)
    recipe = parse_recipe(data, str(path))
    problems = [p for p in recipe_problems(recipe, str(path), size=len(data)) if p.is_error]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RecipeInvalid(
            f"{format_problem(problems[0])}{more}: `iota-container greengrass validate` lists all"
        )
    assert isinstance(recipe, dict)
    return recipe, data
