"""Dependency closures and consistency checks over installed distributions, with
`packaging`'s reading of requirements, markers and specifiers (what pip itself uses).

Markers are evaluated for the *image's* interpreter (the base's marker environment), so
a kernel on Python 3.12 building for a 3.11 base gets the dependencies 3.11 needs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from iota_container.environment.python_env import (
    InstalledDistribution,
    PythonEnvironment,
    normalize,
)


@dataclass(frozen=True)
class Dependency:
    """Distribution `key` as needed by `requirer` (None for what the notebook asks for)."""

    key: str
    requirer: str | None
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()
    text: str = ""  # the requirement as written, for messages and for pip


@dataclass
class Closure:
    """Every distribution key reached from the roots, with what asked for each."""

    needs: dict[str, list[Dependency]] = field(default_factory=dict)

    def requirers(self, key: str) -> tuple[str, ...]:
        return tuple(sorted({d.requirer for d in self.needs.get(key, []) if d.requirer}))

    def specifier(self, key: str) -> SpecifierSet:
        combined = SpecifierSet()
        for dependency in self.needs.get(key, []):
            combined &= dependency.specifier
        return combined


def dependencies_of(
    distribution: InstalledDistribution, extras: Iterable[str], markers: Mapping[str, str]
) -> list[Dependency]:
    """What `distribution` requires in an interpreter with `markers`, with `extras` asked."""
    wanted = {"", *extras}
    found = []
    for text in distribution.requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # pip would refuse to install such metadata; nothing to follow
        if requirement.marker is not None and not _applies(requirement.marker, markers, wanted):
            continue
        found.append(
            Dependency(
                key=normalize(requirement.name),
                requirer=distribution.name,
                specifier=requirement.specifier,
                extras=frozenset(requirement.extras),
                text=text,
            )
        )
    return found


def _applies(marker: Marker, markers: Mapping[str, str], extras: set[str]) -> bool:
    return any(marker.evaluate({**markers, "extra": extra}) for extra in extras)


def closure(
    roots: Iterable[Dependency], environment: PythonEnvironment, markers: Mapping[str, str]
) -> Closure:
    """Follow the requirements of `roots` through the distributions of `environment`."""
    result = Closure()
    queue = deque(roots)
    expanded: set[tuple[str, frozenset[str]]] = set()
    while queue:
        dependency = queue.popleft()
        result.needs.setdefault(dependency.key, []).append(dependency)
        if (dependency.key, dependency.extras) in expanded:
            continue
        expanded.add((dependency.key, dependency.extras))
        installed = environment.distributions.get(dependency.key)
        if installed is not None:
            queue.extend(dependencies_of(installed, dependency.extras, markers))
    return result


def satisfies(version: str, specifier: SpecifierSet) -> bool:
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def inconsistencies(
    distributions: Mapping[str, InstalledDistribution], markers: Mapping[str, str]
) -> list[str]:
    """What `pip check` would say of an environment holding exactly `distributions`."""
    problems = []
    for distribution in sorted(distributions.values(), key=lambda d: d.key):
        for dependency in dependencies_of(distribution, (), markers):
            present = distributions.get(dependency.key)
            if present is None:
                problems.append(
                    f"{distribution.name} {distribution.version} needs {dependency.text}"
                    f", which the image lacks"
                )
            elif not satisfies(present.version, dependency.specifier):
                problems.append(
                    f"{distribution.name} {distribution.version} needs {dependency.text}, "
                    f"but the image has {present.name} {present.version}"
                )
    return problems
