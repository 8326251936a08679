"""Component names, versions and version requirements, as the device software reads them.

The service accepts more than the device: the Greengrass nucleus parses a component version
as a strict semantic version (`MAJOR.MINOR.PATCH`, no leading zeros, optional `-pre` and
`+build`), and a dependency's `VersionRequirement` as an npm-style range.
"""

from __future__ import annotations

import re

COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_COMPONENT_NAME = 128
MAX_COMPONENT_VERSION = 64
_NUMBER = r"(?:0|[1-9]\d*)"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER = re.compile(
    rf"^{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)
_PART = r"(?:0|[1-9]\d*|[xX*])"
_PARTIAL = (
    rf"v?{_PART}(?:\.{_PART}(?:\.{_PART}"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?"
)
_COMPARATOR = re.compile(rf"^(?:<=|>=|<|>|=|~>?|\^)?\s*{_PARTIAL}$")
_HYPHEN_RANGE = re.compile(rf"^{_PARTIAL}\s+-\s+{_PARTIAL}$")
_COMPARATOR_TOKENS = re.compile(r"(?:<=|>=|<|>|=|~>?|\^)?\s*\S+")
PUBLIC_COMPONENT_PREFIX = "aws.greengrass."


def component_name_problem(name: object) -> str | None:
    """Why the device would refuse `name` as a component name, or None."""
    if not isinstance(name, str) or not name:
        return f"component name {name!r} is not a non-empty string"
    if len(name) > MAX_COMPONENT_NAME:
        return f"component name {name!r} is longer than {MAX_COMPONENT_NAME} characters"
    if not COMPONENT_NAME.match(name):
        return f"component name {name!r} has characters outside letters, digits, '.', '_' and '-'"
    return None


def component_version_problem(version: object) -> str | None:
    """Why the device would refuse `version` as a component version, or None."""
    if not isinstance(version, str):
        return (
            f"component version {version!r} is a {type(version).__name__}, not a string "
            "(a YAML loader reads 1.0 as a number): quote it"
        )
    if len(version) > MAX_COMPONENT_VERSION:
        return f"component version {version!r} is longer than {MAX_COMPONENT_VERSION} characters"
    if not SEMVER.match(version):
        return (
            f"component version {version!r} is not a strict semantic version: "
            "write MAJOR.MINOR.PATCH without leading zeros, e.g. 1.0.0"
        )
    return None


def version_requirement_problem(requirement: object) -> str | None:
    """Why `requirement` is not an npm-style semantic version range, or None."""
    if not isinstance(requirement, str):
        return f"version requirement {requirement!r} is not a string: quote it, e.g. '~2.0.0'"
    for alternative in requirement.split("||"):
        text = alternative.strip()
        if text in ("", "*") or _HYPHEN_RANGE.match(text):
            continue
        tokens = _COMPARATOR_TOKENS.findall(text)
        if not tokens or "".join(tokens).replace(" ", "") != text.replace(" ", ""):
            return _bad_range(requirement)
        if not all(_COMPARATOR.match(token.strip()) for token in tokens):
            return _bad_range(requirement)
    return None


def _bad_range(requirement: str) -> str:
    return (
        f"version requirement {requirement!r} is not an npm-style semantic version range: "
        "write e.g. '~2.0.0', '^1.2.0' or '>=1.0.0 <2.0.0'"
    )
