"""`iota-container requirements`: what a notebook needs, found without running it.

Each imported module is traced, in the kernel's own interpreter, to what provides it:
the standard library, the base image, a file beside the notebook, or an installed
distribution, whose version (and whose dependencies' versions) the lock pins. What the
base image already has stays the base's: its runtime (kernel, nbclient, boto3...) must
keep working, so the lock only adds, and a version the kernel has in another version is
reported, not swapped. Modules nothing provides come back with a fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

from iota_container.environment.closure import Closure, Dependency, closure, satisfies
from iota_container.environment.imports import NotebookImports, PipInstall, notebook_imports
from iota_container.environment.kernel_python import kernel_python
from iota_container.environment.local_files import (
    LocalFile,
    collect_local_files,
    module_files,
    named_data_files,
)
from iota_container.environment.lock import Lock, Pin
from iota_container.environment.python_env import (
    InstalledDistribution,
    PythonEnvironment,
    normalize,
    probe_environment,
)

STDLIB = "stdlib"
BASE = "base"
LOCAL = "local"
DISTRIBUTION = "distribution"
MISSING = "missing"

# Import names whose distribution is called something else, for the fix of a missing one.
_KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python-headless",
    "PIL": "pillow",
    "yaml": "PyYAML",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "skimage": "scikit-image",
    "serial": "pyserial",
    "dotenv": "python-dotenv",
    "jwt": "PyJWT",
}


@dataclass(frozen=True)
class ModuleSource:
    """Where one imported module comes from."""

    module: str
    provider: str  # stdlib | base | local | distribution | missing
    optional: bool
    cells: tuple[int, ...]
    distributions: tuple[str, ...] = ()  # NAME==VERSION of what provides it
    path: str = ""  # a local module's path, relative to the notebook
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "module": self.module,
            "provider": self.provider,
            "optional": self.optional,
            "cells": [cell + 1 for cell in self.cells],  # as Jupyter numbers them
        }
        for key in ("distributions", "path", "fix"):
            value = getattr(self, key)
            if value:
                document[key] = list(value) if isinstance(value, tuple) else value
        return document


@dataclass(frozen=True)
class Requirements:
    """What `iota-container requirements` reports, and what a build starts from."""

    notebook: str
    kernel: str
    python_version: str  # the kernel's
    modules: tuple[ModuleSource, ...]
    lock: Lock
    local_files: tuple[LocalFile, ...] = ()
    problems: tuple[str, ...] = ()  # each one line with its fix; a build refuses them
    notes: tuple[str, ...] = ()
    base_distributions: tuple[str, ...] = field(default=())  # NAME==VERSION kept from the base

    def missing(self) -> list[ModuleSource]:
        return [m for m in self.modules if m.provider == MISSING and not m.optional]

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "kernel": self.kernel,
            "python_version": self.python_version,
            "distributions": self.lock.to_json()["distributions"],
            "unresolved": list(self.lock.unresolved),
            "modules": [m.to_json() for m in self.modules],
            "local_files": [
                {"path": f.relative, "size": f.size, "reason": f.reason} for f in self.local_files
            ],
            "base_distributions": list(self.base_distributions),
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def detect_requirements(
    notebook_path: Path,
    notebook: Mapping[str, Any],
    kernel: str,
    base: PythonEnvironment | None = None,
    includes: Iterable[Path] = (),
) -> Requirements:
    """Trace every import of `notebook` through kernel `kernel`'s environment. `base`: the
    image's base environment, when known (its label); without it, the runtime's own
    distributions count as the base's (every base built from Dockerfile.base has them)."""
    folder = notebook_path.resolve().parent
    imports = notebook_imports(notebook)
    python = kernel_python(kernel)
    environment = probe_environment(python.argv, imports.names(), folder, python.env)
    if base is None:
        base = runtime_distributions(environment)
    markers = base.markers if base is not None else environment.markers
    tracer = _Tracer(environment, base, folder)
    sources = tuple(tracer.trace(module) for module in imports.modules)
    roots, pip_problems = _pip_roots(imports, environment)
    for source in sources:
        for requirement in source.distributions if source.provider == DISTRIBUTION else ():
            name = requirement.split("==", 1)[0]
            roots.append(Dependency(normalize(name), None, Requirement(requirement).specifier))
    reached = closure(roots, environment, markers)
    lock, kept, notes = _lock_from_closure(reached, environment, base, sources)
    local = collect_local_files(
        folder,
        [*tracer.local_files, *_data_files(notebook, folder, notebook_path)],
        includes,
    )
    problems = [*pip_problems, *tracer.problems, *_source_problems(lock, environment)]
    problems += [
        f"module {m.module} (cell {_cells(m.cells)}) is not installed in kernel {kernel!r}: {m.fix}"
        for m in sources
        if m.provider == MISSING and not m.optional and m.module not in tracer.reported
    ]
    return Requirements(
        notebook=str(notebook_path),
        kernel=kernel,
        python_version=environment.interpreter.version,
        modules=sources,
        lock=lock,
        local_files=local,
        problems=tuple(problems),
        notes=tuple([*notes, *_unparsed_notes(imports)]),
        base_distributions=tuple(sorted(kept)),
    )


RUNTIME_DISTRIBUTION = "iota-container"


def runtime_distributions(kernel: PythonEnvironment) -> PythonEnvironment:
    """This project's runtime and what it requires, as a stand-in for a base whose
    environment is not known: from the kernel's environment when the runtime is installed
    there, else from this interpreter's own."""
    environment = kernel
    if kernel.distribution(RUNTIME_DISTRIBUTION) is None:
        from iota_container.environment.probe import describe

        environment = PythonEnvironment.from_json(describe())
    root = Dependency(normalize(RUNTIME_DISTRIBUTION), None, SpecifierSet())
    reached = closure([root], environment, environment.markers)
    return replace(
        environment,
        distributions={
            key: d for key, d in environment.distributions.items() if key in reached.needs
        },
        modules={},
    )


class _Tracer:
    def __init__(
        self, environment: PythonEnvironment, base: PythonEnvironment | None, folder: Path
    ) -> None:
        self.environment = environment
        self.base = base
        self.base_modules = base.provided_modules() if base is not None else frozenset()
        self.folder = folder
        self.local_files: list[tuple[Path, str]] = []
        self.problems: list[str] = []
        self.reported: set[str] = set()  # modules with a problem of their own

    def trace(self, imported: Any) -> ModuleSource:
        name, optional, cells = imported.name, imported.optional, imported.cells
        origin = self.environment.modules.get(name)
        kind = origin.kind if origin is not None else MISSING
        if kind == STDLIB or name in self.environment.stdlib:
            return ModuleSource(name, STDLIB, optional, cells)
        if kind == LOCAL and origin is not None:
            files = module_files(self.folder, origin.origin, origin.package)
            self.local_files += [(path, f"module {name}") for path in files]
            relative = Path(origin.origin).resolve().relative_to(self.folder)
            shown = relative.parent if origin.package else relative
            return ModuleSource(name, LOCAL, optional, cells, path=shown.as_posix())
        if name in self.base_modules and self.base is not None:
            provided = [f"{d.name}=={d.version}" for d in self.base.providers(name)]
            return ModuleSource(name, BASE, optional, cells, tuple(provided))
        if kind == MISSING:
            return ModuleSource(name, MISSING, optional, cells, fix=_missing_fix(name))
        providers = self.environment.providers(name)
        if not providers:
            fix = self._unpackaged(name, origin.origin if origin is not None else "")
            if not optional:
                self.problems.append(fix)
                self.reported.add(name)
            return ModuleSource(name, MISSING, optional, cells, fix=fix)
        pins = tuple(f"{d.name}=={d.version}" for d in providers)
        return ModuleSource(name, DISTRIBUTION, optional, cells, pins)

    def _unpackaged(self, name: str, where: str) -> str:
        """Why module `name`, found at `where` but in no distribution, cannot be put in the
        image: a link beside the notebook to a file elsewhere, or a file elsewhere."""
        place = Path(where)
        if where and self.folder in place.parents and self.folder not in place.resolve().parents:
            return (
                f"module {name} is {place.relative_to(self.folder).as_posix()}, a link to "
                f"{str(place.resolve())!r} outside the notebook's folder: copy the file "
                "beside the notebook instead of linking it"
            )
        return (
            f"module {name} comes from {where or '?'}, which no installed distribution "
            "provides: move it beside the notebook, add it with --include, or package it"
        )


def _missing_fix(module: str) -> str:
    distribution = _KNOWN_DISTRIBUTIONS.get(module, module)
    return f"install it where the notebook runs (%pip install {distribution}), or remove the import"


def _pip_roots(
    imports: NotebookImports, environment: PythonEnvironment
) -> tuple[list[Dependency], list[str]]:
    roots: list[Dependency] = []
    problems = [
        f"`pip install {option}` (in a %pip line) cannot be locked: give the packages by name, "
        "or pass your own file with --requirements"
        for option in imports.pip_options
    ]
    seen: dict[str, PipInstall] = {}
    for install in imports.pip_installs:
        problem = _pip_problem(install, seen)
        if problem:
            problems.append(problem)
            continue
        requirement = Requirement(install.requirement)
        roots.append(
            Dependency(
                normalize(requirement.name),
                None,
                requirement.specifier,
                frozenset(requirement.extras),
                install.requirement,
            )
        )
        seen[normalize(requirement.name)] = install
    return roots, problems


def _pip_problem(install: PipInstall, seen: Mapping[str, PipInstall]) -> str | None:
    where = f"%pip install {install.requirement} (cell {install.cell + 1})"
    try:
        requirement = Requirement(install.requirement)
    except InvalidRequirement:
        kind = "a URL" if "://" in install.requirement else "a local path"
        return (
            f"{where} installs {kind}, which an image cannot be built from reproducibly: "
            "publish it to a package index and install it by name, or copy it beside the "
            "notebook and --include it"
        )
    if requirement.url:
        return (
            f"{where} installs from a URL: install it by name from a package index, or "
            "pass your own file with --requirements"
        )
    earlier = seen.get(normalize(requirement.name))
    if earlier is not None and Requirement(earlier.requirement).specifier != requirement.specifier:
        return (
            f"{where} conflicts with %pip install {earlier.requirement} (cell {earlier.cell + 1}): "
            "keep one version"
        )
    return None


def _lock_from_closure(
    reached: Closure,
    environment: PythonEnvironment,
    base: PythonEnvironment | None,
    sources: Iterable[ModuleSource],
) -> tuple[Lock, list[str], list[str]]:
    pins: list[Pin] = []
    unresolved: list[str] = []
    kept: list[str] = []
    notes: list[str] = []
    modules: dict[str, list[str]] = {}
    for source in sources:
        for requirement in source.distributions if source.provider == DISTRIBUTION else ():
            modules.setdefault(normalize(requirement.split("==", 1)[0]), []).append(source.module)
    for key in sorted(reached.needs):
        specifier = reached.specifier(key)
        installed = environment.distributions.get(key)
        in_base = base.distributions.get(key) if base is not None else None
        if in_base is not None and satisfies(in_base.version, specifier):
            kept.append(f"{in_base.name}=={in_base.version}")
            if installed is not None and installed.version != in_base.version:
                notes.append(
                    f"{in_base.name}: the image keeps the base's {in_base.version} "
                    f"(the kernel has {installed.version}); pin another with --requirements"
                )
            continue
        if installed is not None and satisfies(installed.version, specifier):
            pins.append(
                Pin(
                    installed.name,
                    installed.version,
                    tuple(sorted(modules.get(key, ()))),
                    reached.requirers(key),
                )
            )
            continue
        texts = [d.text or f"{key}{d.specifier}" for d in reached.needs[key]]
        asked = next((t for t in texts if not t.startswith(key + ";")), texts[0])
        unresolved.append(_without_marker(asked))
        having = f"the kernel has {installed.version}" if installed else "the kernel lacks it"
        notes.append(f"{_without_marker(asked)} is resolved for the image ({having})")
    return Lock(tuple(pins), tuple(dict.fromkeys(unresolved))), kept, notes


def _without_marker(text: str) -> str:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return text
    requirement.marker = None
    return str(requirement)


def _source_problems(lock: Lock, environment: PythonEnvironment) -> list[str]:
    problems = []
    for pin in lock.pins:
        installed: InstalledDistribution | None = environment.distributions.get(pin.key)
        source = installed.local_source if installed is not None else None
        if source:
            problems.append(
                f"{pin.name} {pin.version} is installed from {source}, not from a package "
                "index: publish it, or build with --requirements naming a version an index has"
            )
    return problems


def _data_files(notebook: Mapping[str, Any], folder: Path, path: Path) -> list[tuple[Path, str]]:
    return [
        (file, f"named in cell {cell + 1}")
        for file, cell in named_data_files(notebook, folder, path)
    ]


def _unparsed_notes(imports: NotebookImports) -> list[str]:
    return [
        f"cell {index + 1} does not parse as Python: its imports are not counted"
        for index in imports.unparsed_cells
    ]


def _cells(cells: tuple[int, ...]) -> str:
    return ", ".join(str(c + 1) for c in cells)


def notebook_requirements(
    notebook_path: Path,
    kernel: str | None = None,
    base: PythonEnvironment | None = None,
    includes: Iterable[Path] = (),
) -> Requirements:
    """`detect_requirements` for a notebook file, on its own kernel unless `kernel` is given."""
    from iota_container.notebook.execute import load_notebook_document
    from iota_container.notebook.kernel import choose_kernel

    document = load_notebook_document(notebook_path, "the command line")
    chosen = choose_kernel(kernel, document)
    return detect_requirements(notebook_path, document, chosen, base, includes)
