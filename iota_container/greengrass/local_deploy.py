"""`greengrass local-deploy`: the recipe and artifact folders the Greengrass CLI reads.

`greengrass-cli deployment create --recipeDir DIR/recipes --artifactDir DIR/artifacts`
finds a component's recipe in `recipes/` and its artifacts in
`artifacts/NAME/VERSION/<file name of the artifact URI>`. Docker artifacts are not files:
the Docker application manager pulls them.
"""

from __future__ import annotations

import posixpath
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iota_container.greengrass.errors import GreengrassError
from iota_container.greengrass.rules import value

DEFAULT_GREENGRASS_ROOT = "/greengrass/v2"


@dataclass(frozen=True)
class LocalLayout:
    recipe_dir: Path
    artifact_dir: Path
    recipe_file: Path
    artifacts: tuple[Path, ...]
    command: str

    def to_json(self) -> dict[str, Any]:
        return {
            "recipeDir": str(self.recipe_dir),
            "artifactDir": str(self.artifact_dir),
            "recipe": str(self.recipe_file),
            "artifacts": [str(path) for path in self.artifacts],
            "command": self.command,
        }


def artifact_file_names(recipe: Mapping[str, Any]) -> list[str]:
    """File names of the recipe's file artifacts (s3:// and greengrass:), in order."""
    names: list[str] = []
    for manifest in value(recipe, "Manifests") or []:
        for artifact in value(manifest, "Artifacts") or []:
            uri = str(value(artifact, "URI") or "")
            if not uri.lower().startswith("docker:"):
                name = posixpath.basename(uri.split(":", 1)[-1].rstrip("/"))
                if name not in names:
                    names.append(name)
    return names


def lay_out(
    recipe: Mapping[str, Any],
    recipe_bytes: bytes,
    recipe_format: str,
    out: Path,
    artifact_files: Sequence[Path] = (),
    greengrass_root: str = DEFAULT_GREENGRASS_ROOT,
) -> LocalLayout:
    name = str(value(recipe, "ComponentName"))
    version = str(value(recipe, "ComponentVersion"))
    given = {path.name: path for path in artifact_files}
    needed = artifact_file_names(recipe)
    for file_name, path in given.items():
        if file_name not in needed:
            raise GreengrassError(
                f"artifact file {str(path)!r} is not an artifact of the recipe "
                f"(its file artifacts: {', '.join(needed) or 'none'}): leave it out"
            )
        if not path.is_file():
            raise GreengrassError(f"artifact file {str(path)!r} does not exist: give its path")
    missing = [file_name for file_name in needed if file_name not in given]
    if missing:
        raise GreengrassError(
            f"the recipe's artifact {missing[0]!r} has no local file: pass it with "
            f"--artifact PATH/{missing[0]}"
        )
    recipe_dir, artifact_dir = out / "recipes", out / "artifacts"
    component_dir = artifact_dir / name / version
    component_dir.mkdir(parents=True, exist_ok=True)
    recipe_dir.mkdir(parents=True, exist_ok=True)
    recipe_file = recipe_dir / f"{name}-{version}.{recipe_format}"
    recipe_file.write_bytes(recipe_bytes)
    copied = []
    for file_name in needed:
        target = component_dir / file_name
        shutil.copyfile(given[file_name], target)
        copied.append(target)
    cli = posixpath.join(greengrass_root, "bin", "greengrass-cli")
    command = " ".join(
        [
            "sudo",
            shlex.quote(cli),
            "deployment",
            "create",
            "--recipeDir",
            shlex.quote(str(recipe_dir.resolve())),
            "--artifactDir",
            shlex.quote(str(artifact_dir.resolve())),
            "--merge",
            shlex.quote(f"{name}={version}"),
        ]
    )
    return LocalLayout(recipe_dir, artifact_dir, recipe_file, tuple(copied), command)
