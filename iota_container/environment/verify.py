"""Before anything is pushed: does every import of the notebook resolve in the image
about to be pushed, and is that image's set of distributions consistent?

The image is the base (its stdlib and distributions, from its environment label), less
what the dependency layer replaces, plus the layer and the files beside the notebook.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from iota_container.environment.closure import inconsistencies
from iota_container.environment.detect import BASE, LOCAL, STDLIB, Requirements
from iota_container.environment.imports import NotebookImports
from iota_container.environment.local_files import is_beside
from iota_container.environment.python_env import InstalledDistribution, PythonEnvironment
from iota_container.errors import IotaError


class UnresolvedImports(IotaError):
    """The image about to be pushed would fail to import something the notebook needs."""


def image_distributions(
    base: PythonEnvironment | None,
    added: Iterable[InstalledDistribution],
) -> dict[str, InstalledDistribution]:
    """The distributions of the image: the base's, with those the layer adds on top."""
    found = dict(base.distributions) if base is not None else {}
    for distribution in added:
        found[distribution.key] = distribution
    return found


def check_image_imports(
    requirements: Requirements,
    base: PythonEnvironment | None,
    added: Iterable[InstalledDistribution],
    image: str,
) -> None:
    """Raise, naming every module, when a non-optional import resolves to nothing."""
    distributions = image_distributions(base, added)
    provided = {m for d in distributions.values() for m in d.top_level}
    stdlib = base.stdlib if base is not None else frozenset()
    missing = []
    for source in requirements.modules:
        if source.optional or source.provider == LOCAL:
            continue
        if source.provider == BASE and base is None:
            continue  # detection's stand-in for an unknown base: the runtime's distributions
        if source.provider == STDLIB and (not stdlib or source.module in stdlib):
            continue
        if source.module not in provided:
            missing.append(source.module)
    if missing:
        raise UnresolvedImports(
            f"{image} would not import {', '.join(missing)}: nothing was pushed; install "
            f"{'them' if len(missing) > 1 else 'it'} in the notebook's kernel "
            "(%pip install ...) and build again, add them with --requirements, or guard the "
            "import with try/except ImportError"
        )


def check_listed_imports(
    imports: NotebookImports,
    folder: Path,
    base: PythonEnvironment | None,
    added: Iterable[InstalledDistribution],
    image: str,
) -> None:
    """The same check for an image whose packages a requirements file lists: nothing was
    traced in a kernel, so each import must be the standard library's, a module beside the
    notebook, or a distribution's of the image. An unknown base counts as having the
    runtime's own distributions, as detection counts it."""
    if base is None:
        from iota_container.environment.detect import runtime_distributions
        from iota_container.environment.probe import describe

        stand_in = runtime_distributions(PythonEnvironment.from_json(describe()))
        stdlib = frozenset(getattr(sys, "stdlib_module_names", ())) | stand_in.stdlib
        distributions = image_distributions(stand_in, added)
    else:
        stdlib, distributions = base.stdlib, image_distributions(base, added)
    provided = {m for d in distributions.values() for m in d.top_level}
    missing = [
        m.name
        for m in imports.modules
        if not m.optional
        and m.name not in stdlib
        and m.name not in provided
        and not is_beside(folder, m.name)
    ]
    if missing:
        raise UnresolvedImports(
            f"{image} would not import {', '.join(missing)}: nothing was pushed; add "
            f"{'them' if len(missing) > 1 else 'it'} to the --requirements file, or guard "
            "the import with try/except ImportError"
        )


def check_consistency(
    base: PythonEnvironment | None, added: Iterable[InstalledDistribution], image: str
) -> None:
    """What `pip check` in the image would report, refused before the push."""
    if base is None:
        return
    problems = inconsistencies(image_distributions(base, added), base.markers)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UnresolvedImports(
            f"{image} would have broken requirements: {problems[0]}{more}: nothing was "
            "pushed; pin versions that fit together with --requirements"
        )
