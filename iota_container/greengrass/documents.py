"""Recipe files as documents: JSON or YAML, read the way common YAML loaders read them.

A YAML recipe is read with PyYAML's safe loader on purpose: it reads an unquoted
`2020-01-25` as a date and `1.0` as a number, as many loaders do, and the rules then say
which value to quote.

Both readers stay within `RECIPE_LIMITS` (limits.py): a file larger than any recipe is
refused after reading one byte more than the limit, and a YAML recipe is composed and
checked (depth, alias expansion) before it is constructed, so neither a huge file nor an
alias bomb costs more than the limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iota_container.errors import LimitExceeded
from iota_container.greengrass.errors import RecipeInvalid
from iota_container.limits import RECIPE_LIMITS, load_yaml, loads_json, read_bytes_limited

MAX_RECIPE_BYTES = 16_000  # the Greengrass Development Kit refuses larger recipe files
WHAT = "recipe"


def read_recipe_text(path: Path) -> bytes:
    try:
        return read_bytes_limited(path, RECIPE_LIMITS, WHAT)
    except LimitExceeded as e:
        raise RecipeInvalid(str(e)) from e
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
            return loads_json(text, RECIPE_LIMITS, WHAT, source)
        except LimitExceeded as e:
            raise RecipeInvalid(str(e)) from e
        except ValueError as e:
            raise RecipeInvalid(f"recipe {source!r} is not valid JSON ({e}): fix the syntax") from e
    import yaml

    try:
        return load_yaml(text, yaml.SafeLoader, RECIPE_LIMITS, WHAT, source)
    except LimitExceeded as e:
        raise RecipeInvalid(str(e)) from e
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
