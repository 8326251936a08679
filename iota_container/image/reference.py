"""Image references, parsed by the grammar of distribution/reference (what Docker,
registries and Greengrass accept): `[REGISTRY[:PORT]/]PATH[:TAG][@DIGEST]`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from iota_container.errors import IotaError

DOCKER_HUB = "docker.io"
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = re.compile(rf"^{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
MAX_NAME_LENGTH = 255
_ECR_REGISTRY = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
PLAIN_HTTP_OPTION = "--plain-http"


class ImageReferenceError(IotaError):
    """An image reference that registries would reject."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: str) -> ImageReference:
        return replace(self, digest=digest)

    def pinned(self) -> str:
        """`REGISTRY/REPO@sha256:...`: the reference that always means these bytes."""
        if not self.digest:
            raise ImageReferenceError(
                f"{self} has no digest: push it first, or give REPO@sha256:..."
            )
        return f"{self.name}@{self.digest}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, default_tag: str | None = "latest") -> ImageReference:
    """Parse and check an image reference; a missing tag becomes `default_tag` unless a
    digest pins it."""
    original = text
    if not text or any(character.isspace() for character in text):
        raise ImageReferenceError(
            f"image reference {original!r} is empty or has spaces: write REGISTRY/REPO[:TAG]"
        )
    _refuse_url(original)
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ImageReferenceError(
                f"image reference {original!r} has a malformed digest {digest!r}: "
                "write sha256: and 64 hex digits"
            )
    tag = None
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.match(tag):
            raise ImageReferenceError(
                f"image reference {original!r} has an invalid tag {tag!r}: "
                "use up to 128 letters, digits, _, . and -, not starting with . or -"
            )
    registry, path = _split_registry(text)
    if not _DOMAIN.match(registry):
        raise ImageReferenceError(
            f"image reference {original!r} has an invalid registry {registry!r}"
        )
    components = path.split("/")
    for component in components:
        if not _PATH_COMPONENT.match(component):
            raise ImageReferenceError(
                f"image reference {original!r}: repository part {component!r} is invalid: use "
                "lowercase letters and digits, separated by '.', '_', '__' or '-'"
            )
    if len(f"{registry}/{path}") > MAX_NAME_LENGTH:
        raise ImageReferenceError(
            f"image reference {original!r} is longer than {MAX_NAME_LENGTH} characters: shorten it"
        )
    if tag is None and digest is None:
        tag = default_tag
    return ImageReference(registry=registry, repository=path, tag=tag, digest=digest)


def _refuse_url(text: str) -> None:
    """`https://host/repo` is a URL, not a reference (Docker refuses it too): say what to
    write instead, and how a registry that speaks only HTTP is reached."""
    scheme = _URL_SCHEME.match(text)
    if scheme is None:
        return
    bare = text[scheme.end() :]
    advice = {
        "http": f", with {PLAIN_HTTP_OPTION} for a registry that speaks only HTTP "
        "(a loopback one needs none)",
        "https": " (https is the default)",
    }.get(scheme.group(1).lower(), "")
    raise ImageReferenceError(
        f"image reference {text!r} is a URL: drop the scheme and write {bare!r}{advice}"
    )


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first, rest
    if not sep:
        return DOCKER_HUB, f"library/{text}"
    return DOCKER_HUB, text


def is_ecr_registry(registry: str) -> bool:
    """`ACCOUNT.dkr.ecr.REGION.amazonaws.com` (and the .cn and FIPS variants)."""
    return _ECR_REGISTRY.match(registry) is not None
