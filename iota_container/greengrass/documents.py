"""Recipe files as documents: JSON or YAML, read the way common YAML loaders read them.

A YAML recipe is read with PyYAML's safe loader on purpose: it reads an unquoted
`2020-01-25` as a date and `1.0` as a number, as many loaders do, and the rules then say
which value to quote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iota_container.greengrass.errors import RecipeInvalid

MAX_RECIPE_BYTES = 16_000  # the Greengrass Development Kit refuses larger recipe files


def read_recipe_text(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise RecipeInvalid(
            f"recipe {str(path)!r} cannot be read ({e.strerror or type(e).__name__}): "
            "give the path of a JSON or YAML recipe file"
        ) from e


def parse_recipe(data: bytes, source: str) -> Any:
    """Decode a recipe: JSON for `.json`, YAML for `.yaml`/`.yml`, else whichever parses."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecipeInvalid(f"recipe {source!r} is not UTF-8 text: save it as UTF-8") from e
    suffix = Path(source).suffix.lower()
    if suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith("{")):
        try:
            return json.loads(text)
        except ValueError as e:
            raise RecipeInvalid(f"recipe {source!r} is not valid JSON ({e}): fix the syntax") from e
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise RecipeInvalid(
            f"recipe {source!r} is not valid YAML{line} ({problem}): fix the syntax"
        ) from e


def recipe_format(source: str, data: bytes) -> str:
    """'json' or 'yaml': what the CreateComponentVersion call and the local layout name it."""
    suffix = Path(source).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "json" if data.lstrip().startswith(b"{") else "yaml"
