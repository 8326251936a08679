"""The device's rules for a recipe, beyond the recipe schema: what the Greengrass nucleus
refuses or silently misreads. Each finding names the rule it breaks.

Keys are matched without regard to case, as the nucleus reads them. An `s3://` artifact's
bucket is never refused: the device downloads from whatever bucket is named. A name that
looks like a placeholder (`DOC-EXAMPLE-BUCKET`, `<bucket>`) or that only a legacy bucket
can have (uppercase letters, `_`) is a warning.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from typing import Any

from iota_container.definitions.problems import ERROR, WARNING, Problem
from iota_container.greengrass.identity import (
    component_name_problem,
    component_version_problem,
    version_requirement_problem,
)
from iota_container.greengrass.recipe import (
    DOCKER_APPLICATION_MANAGER,
    RECIPE_FORMAT_VERSION,
    TOKEN_EXCHANGE_SERVICE,
)
from iota_container.image.reference import ImageReferenceError, is_ecr_registry, parse_reference

ARTIFACT_SCHEMES = ("s3", "docker", "greengrass")
LIFECYCLE_STEPS = ("setenv", "bootstrap", "install", "startup", "run", "shutdown", "recover")
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_LEGACY_BUCKET = re.compile(r"^[A-Za-z0-9._-]{1,255}$")  # us-east-1 before March 2018
_PLACEHOLDER = re.compile(r"[<>{}$%]|^[A-Z0-9_-]*BUCKET[A-Z0-9_-]*$|^(BUCKET|NAME)$")
_RECIPE_VARIABLE = re.compile(r"\{(?:([\w.-]+):)?configuration:([^}]*)\}")


def key(mapping: Any, name: str) -> tuple[str, Any] | None:
    """(the key as written, its value) for `name` in any case, or None."""
    if isinstance(mapping, Mapping):
        for written, value in mapping.items():
            if isinstance(written, str) and written.lower() == name.lower():
                return written, value
    return None


def value(mapping: Any, name: str, default: Any = None) -> Any:
    found = key(mapping, name)
    return default if found is None else found[1]


def device_problems(recipe: Mapping[str, Any], source: str) -> Iterator[Problem]:
    """Every rule the recipe breaks (the schema is checked separately)."""

    def problem(
        path: str, rule: str, message: str, fix: str = "", severity: str = ERROR
    ) -> Problem:
        return Problem(source, path, rule, message, fix, severity)

    yield from _scalar_types(recipe, problem)
    name = value(recipe, "ComponentName")
    version = value(recipe, "ComponentVersion")
    if name is not None and (message := component_name_problem(name)):
        yield problem("$.ComponentName", "component name", message)
    if isinstance(version, str) and (message := component_version_problem(version)):
        yield problem("$.ComponentVersion", "strict semantic version", message)
    dependencies = value(recipe, "ComponentDependencies") or {}
    if isinstance(dependencies, Mapping):
        for dependency, spec in dependencies.items():
            requirement = value(spec, "VersionRequirement")
            if requirement is not None and (message := version_requirement_problem(requirement)):
                path = f"$.ComponentDependencies[{dependency!r}].VersionRequirement"
                yield problem(path, "dependency version range", message)
    names = {str(n).lower() for n in dependencies} if isinstance(dependencies, Mapping) else set()
    manifests = value(recipe, "Manifests") or []
    for index, manifest in enumerate(manifests if isinstance(manifests, list) else []):
        where = f"$.Manifests[{index}]"
        yield from _lifecycle_problems(value(manifest, "Lifecycle"), f"{where}.Lifecycle", problem)
        yield from _artifact_problems(manifest, where, names, problem)
    yield from _lifecycle_problems(value(recipe, "Lifecycle"), "$.Lifecycle", problem, True)
    yield from _variable_problems(recipe, names, problem)


def _scalar_types(recipe: Mapping[str, Any], problem: Any) -> Iterator[Problem]:
    """Values a YAML loader turned into dates or numbers where the device wants text, and
    a format version the device does not read."""
    fmt = value(recipe, "RecipeFormatVersion")
    if isinstance(fmt, (datetime.date, datetime.datetime)):
        yield problem(
            "$.RecipeFormatVersion",
            "RecipeFormatVersion is text",
            f"RecipeFormatVersion {fmt.isoformat()} is read as a date, not the text "
            f"{RECIPE_FORMAT_VERSION!r}",
            f"quote it: RecipeFormatVersion: '{RECIPE_FORMAT_VERSION}'",
        )
    elif fmt is not None and fmt != RECIPE_FORMAT_VERSION:
        yield problem(
            "$.RecipeFormatVersion",
            "recipe format version",
            f"RecipeFormatVersion {fmt!r} is not a format the device reads (it reads only "
            f"{RECIPE_FORMAT_VERSION!r})",
            f"write RecipeFormatVersion: '{RECIPE_FORMAT_VERSION}'",
        )
    version = value(recipe, "ComponentVersion")
    if version is not None and not isinstance(version, str):
        yield problem(
            "$.ComponentVersion",
            "strict semantic version",
            f"ComponentVersion {version!r} is read as a {type(version).__name__}, not text",
            "quote it and write MAJOR.MINOR.PATCH, e.g. '1.0.0'",
        )


def _lifecycle_problems(
    lifecycle: Any, where: str, problem: Any, global_lifecycle: bool = False
) -> Iterator[Problem]:
    if not isinstance(lifecycle, Mapping):
        return
    steps = {str(step).lower() for step in lifecycle}
    if {"startup", "run"} <= steps:
        yield problem(
            where,
            "Startup and Run are exclusive",
            "the lifecycle defines both Startup and Run",
            "keep Startup for a background process, or Run for a process the component is",
        )
    if global_lifecycle:
        return  # a global lifecycle may also hold selection keys
    for step in lifecycle:
        if str(step).lower() not in LIFECYCLE_STEPS:
            yield problem(
                f"{where}.{step}",
                "lifecycle step",
                f"{step!r} is not a lifecycle step",
                "use one of Setenv, Bootstrap, Install, Startup, Run, Shutdown, Recover",
            )


def _artifact_problems(
    manifest: Any, where: str, dependencies: set[str], problem: Any
) -> Iterator[Problem]:
    artifacts = value(manifest, "Artifacts") or []
    seen: dict[str, int] = {}
    for index, artifact in enumerate(artifacts if isinstance(artifacts, list) else []):
        path = f"{where}.Artifacts[{index}].URI"
        uri = value(artifact, "URI")
        if not isinstance(uri, str):
            continue
        scheme, sep, rest = uri.partition(":")
        if not sep or scheme.lower() not in ARTIFACT_SCHEMES:
            yield problem(
                path,
                "artifact URI scheme",
                f"artifact URI {uri!r} has no scheme the device downloads",
                "write s3://BUCKET/KEY, docker:REGISTRY/REPO@sha256:... or greengrass:NAME",
            )
            continue
        if scheme.lower() == "docker":
            yield from _docker_problems(uri, rest, path, dependencies, problem)
            continue
        if scheme.lower() == "s3":
            yield from _s3_problems(uri, rest, path, problem)
        file_name = rest.rstrip("/").rsplit("/", 1)[-1]
        if file_name in seen:
            yield problem(
                path,
                "artifact file names are unique",
                f"artifact file name {file_name!r} is also that of Artifacts[{seen[file_name]}]",
                "rename one of them: the device keeps artifacts in one folder",
            )
        seen.setdefault(file_name, index)


def _docker_problems(
    uri: str, reference: str, path: str, dependencies: set[str], problem: Any
) -> Iterator[Problem]:
    try:
        image = parse_reference(reference, default_tag=None)
    except ImageReferenceError as e:
        yield problem(path, "Docker reference grammar", str(e))
        return
    if DOCKER_APPLICATION_MANAGER.lower() not in dependencies:
        yield problem(
            path,
            "docker artifacts need the Docker application manager",
            f"artifact {uri!r} is a Docker image, but {DOCKER_APPLICATION_MANAGER} is not a "
            "dependency",
            f"add ComponentDependencies: {DOCKER_APPLICATION_MANAGER}: VersionRequirement: ~2.0.0",
        )
    if is_ecr_registry(image.registry) and TOKEN_EXCHANGE_SERVICE.lower() not in dependencies:
        yield problem(
            path,
            "private ECR images need the token exchange service",
            f"artifact {uri!r} is a private Amazon ECR image, but {TOKEN_EXCHANGE_SERVICE} is "
            "not a dependency",
            f"add ComponentDependencies: {TOKEN_EXCHANGE_SERVICE}: VersionRequirement: ~2.0.0",
        )


def _s3_problems(uri: str, rest: str, path: str, problem: Any) -> Iterator[Problem]:
    bucket, _, object_key = rest.removeprefix("//").partition("/")
    if not rest.startswith("//") or not bucket or not object_key:
        fix = "write s3://BUCKET/KEY, e.g. s3://my-artifacts/app/app.py"
        yield problem(path, "S3 artifact URI", f"artifact URI {uri!r} is not s3://BUCKET/KEY", fix)
        return
    doubt = _bucket_doubt(bucket)
    if doubt:
        # Warnings: the device downloads from whatever bucket is named, and buckets made
        # before March 2018 in us-east-1 may have uppercase letters and underscores.
        message, fix = doubt
        yield problem(
            path,
            "S3 bucket name",
            f"artifact URI {uri!r} names bucket {bucket!r}, {message}",
            fix,
            severity=WARNING,
        )


def _bucket_doubt(bucket: str) -> tuple[str, str] | None:
    """Why a bucket name looks wrong, and what to check; None when it follows S3's rules."""
    if _BUCKET.match(bucket) and not _IP_ADDRESS.match(bucket):
        return None  # even doc-example-bucket: a real bucket may have that name
    if _PLACEHOLDER.search(bucket) or "example" in bucket.lower():
        return "which looks like a placeholder", "fill in the name of your bucket"
    if _LEGACY_BUCKET.match(bucket):
        return (
            "which only a legacy bucket (us-east-1, before March 2018) can be named",
            "check the name: S3 names buckets in 3 to 63 lowercase letters, digits, '.', '-'",
        )
    return (
        "which S3 does not allow",
        "use 3 to 63 lowercase letters, digits, '.' and '-'",
    )


def _variable_problems(
    recipe: Mapping[str, Any], dependencies: set[str], problem: Any
) -> Iterator[Problem]:
    for section in ("Manifests", "Lifecycle"):
        for path, text in _strings(value(recipe, section), f"$.{section}"):
            for match in _RECIPE_VARIABLE.finditer(text):
                owner, pointer = match.group(1), match.group(2)
                if not pointer.startswith("/"):
                    yield problem(
                        path,
                        "recipe variable",
                        f"{match.group(0)} has no JSON pointer, so the device leaves it as it is",
                        "start the path with '/', e.g. {configuration:/Message}",
                    )
                if owner and owner.lower() not in dependencies:
                    yield problem(
                        path,
                        "recipe variable",
                        f"{match.group(0)} reads the configuration of {owner}, which is not a "
                        "dependency",
                        f"add {owner} to ComponentDependencies",
                    )


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for name, child in node.items():
            yield from _strings(child, f"{path}.{name}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _strings(child, f"{path}[{index}]")
