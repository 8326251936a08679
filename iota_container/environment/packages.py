"""What a build puts in the image besides the notebook, decided once for both backends:
the lock (detected from the kernel, or a --requirements file), the files beside the
notebook, and, for the daemonless backend, the dependency layer itself.

Nothing is pushed when a module resolves to nothing, a pin has no wheel for the base's
platform, or the image's distributions would not fit together: each is one line naming
the package and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from iota_container.environment.dependency_layer import DependencyLayer, build_dependency_layer
from iota_container.environment.detect import Requirements, detect_requirements
from iota_container.environment.imports import NotebookImports, notebook_imports
from iota_container.environment.layer_cache import LayerCache
from iota_container.environment.local_files import (
    LocalFile,
    collect_local_files,
    modules_beside,
    named_data_files,
)
from iota_container.environment.lock import Lock
from iota_container.environment.options import PackageOptions
from iota_container.environment.platform import PlatformError, TargetPlatform
from iota_container.environment.python_env import PythonEnvironment
from iota_container.environment.verify import (
    check_consistency,
    check_image_imports,
    check_listed_imports,
)
from iota_container.environment.wheels import fetch_wheels, resolved_lock
from iota_container.errors import IotaError


class RequirementsProblem(IotaError):
    """What the notebook needs cannot be put in the image as asked."""


@dataclass(frozen=True)
class PackagePlan:
    """The lock as asked for, and the files to copy beside the notebook."""

    lock: Lock
    local_files: tuple[LocalFile, ...]
    notebook_folder: Path
    requirements: Requirements | None = None  # the detection report, when detected
    imports: NotebookImports | None = None  # what the notebook imports, for a listed lock

    @property
    def empty(self) -> bool:
        return self.lock.empty


def plan_packages(
    notebook_path: Path,
    notebook: Any,
    kernel: str | None,
    options: PackageOptions,
    base: PythonEnvironment | None,
) -> PackagePlan:
    """Detect (or read) what the image needs; refuse now what a build could not satisfy."""
    folder = notebook_path.resolve().parent
    listed = _listed_lock(options)
    if listed is not None:
        # No kernel is asked, but the image still needs the notebook's own modules and
        # data files, and its imports are checked against the image before the push.
        imports = notebook_imports(notebook)
        beside = modules_beside(folder, imports.names())
        named = [(path, f"named in cell {cell + 1}") for path, cell in named_data_files(
            notebook, folder, notebook_path)]  # fmt: skip
        local = collect_local_files(folder, [*beside, *named], options.includes)
        return PackagePlan(listed, local, folder, imports=imports)
    if not options.detect:
        local = collect_local_files(folder, [], options.includes)
        return PackagePlan(Lock(), local, folder)
    if kernel is None:
        raise RequirementsProblem(
            "the notebook names no kernel, so its packages cannot be detected: "
            "give --kernel, --requirements FILE, or --no-requirements"
        )
    found = detect_requirements(notebook_path, notebook, kernel, base, options.includes)
    if found.problems:
        more = f" (and {len(found.problems) - 1} more: iota-container requirements " \
               f"{notebook_path} lists them)" if len(found.problems) > 1 else ""  # fmt: skip
        raise RequirementsProblem(f"{found.problems[0]}{more}; nothing was pushed")
    return PackagePlan(found.lock, found.local_files, folder, found)


def _listed_lock(options: PackageOptions) -> Lock | None:
    """The lock the user listed (a --requirements file, or lines as edited), if any."""
    if options.requirement_lines is not None:
        return Lock(unresolved=tuple(line.strip() for line in options.requirement_lines))
    if options.requirements_file is not None:
        return read_requirements_file(options.requirements_file)
    return None


def edited_packages_problems(found: Requirements, lines: tuple[str, ...]) -> list[str]:
    """What an edited package list leaves out: each module the notebook imports (not
    optionally) from a distribution the list no longer names."""
    from packaging.requirements import InvalidRequirement, Requirement

    from iota_container.environment.detect import DISTRIBUTION
    from iota_container.environment.python_env import normalize

    listed = set()
    for line in lines:
        try:
            listed.add(normalize(Requirement(line).name))
        except InvalidRequirement:
            continue
    problems = []
    for source in found.modules:
        if source.provider != DISTRIBUTION or source.optional:
            continue
        names = [text.split("==", 1)[0] for text in source.distributions]
        if not any(normalize(name) in listed for name in names):
            problems.append(
                f"module {source.module} (cell {source.cells[0] + 1}) comes from "
                f"{' or '.join(names)}, which the package list no longer names: add it back, "
                "or remove the import"
            )
    return problems


def read_requirements_file(path: Path) -> Lock:
    """A pip requirements file as a lock with nothing pinned yet (pip reads it as is)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RequirementsProblem(
            f"--requirements {str(path)!r} cannot be read ({e.strerror or e}): fix the path"
        ) from e
    lines = [line.split(" #", 1)[0].strip() for line in text.splitlines()]
    return Lock(unresolved=tuple(line for line in lines if line and not line.startswith("#")))


def target_platform(
    options: PackageOptions, base: PythonEnvironment | None, image: str
) -> TargetPlatform:
    if options.python_version:
        return TargetPlatform.of_options(options.python_version, options.platform)
    if base is None:
        raise PlatformError(
            f"base image {image} does not say which Python it has (no "
            "io.iota-container.environment label): rebuild it with scripts/build-base-image.sh, "
            "or describe it with --python-version (and --platform)"
        )
    return TargetPlatform.of_environment(base)


def dependency_layer(
    plan: PackagePlan,
    platform: TargetPlatform,
    base: PythonEnvironment | None,
    mtime: int,
    on_step: Callable[[str], None],
    cache: LayerCache | None = None,
) -> DependencyLayer:
    """The plan's dependency layer: from the cache, else resolved, fetched and packed."""
    cache = cache or LayerCache()
    key = cache.key(plan.lock, platform, base)
    cached = cache.load(key)
    if cached is not None:
        on_step(f"dependency layer from the cache ({len(cached.lock.pins)} distributions)")
        return replace(cached, cache_key=key)
    on_step(f"resolving {len(plan.lock.pins) + len(plan.lock.unresolved)} requirements "
            f"for {platform.describe()}")  # fmt: skip
    constraints = [f"{d.name}=={d.version}" for d in (base.distributions.values() if base else ())]
    wheels = fetch_wheels(
        plan.lock,
        platform,
        cache.wheels_folder(platform),
        constraints,
        on_line=on_step,
        kernel_python=plan.requirements.python_version if plan.requirements else "",
    )
    on_step(f"installing {len(wheels)} wheels into the dependency layer")
    layer = build_dependency_layer(
        wheels, resolved_lock(plan.lock, wheels, platform), platform, base, mtime
    )
    cache.save(key, layer)
    return replace(layer, cache_key=key)


def verify_image(
    plan: PackagePlan, base: PythonEnvironment | None, layer: DependencyLayer | None, image: str
) -> None:
    added = layer.distributions if layer is not None else ()
    if plan.requirements is not None:
        check_image_imports(plan.requirements, base, added, image)
    elif plan.imports is not None:
        check_listed_imports(plan.imports, plan.notebook_folder, base, added, image)
    check_consistency(base, added, image)
