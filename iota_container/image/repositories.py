"""The repositories of any registry, page by page, and making a new one: what a UI offers
when it asks where an image goes.

ECR lists through DescribeRepositories and creates through CreateRepository; any other
OCI registry lists through its catalog (`/v2/_catalog`, paged by the last name seen) and
needs nothing created, since a registry makes a repository on its first push.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from iota_container.image.ecr import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    EcrError,
    EcrRegistry,
    EcrRepository,
    RepositoryPage,
)
from iota_container.image.reference import ImageReferenceError, is_ecr_registry, parse_reference

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

__all__ = ["DEFAULT_PAGE_SIZE", "create_repository", "list_repositories"]


def list_repositories(
    registry: str,
    page_token: str | None = None,
    max_results: int = DEFAULT_PAGE_SIZE,
    *,
    ca_bundle: str | None = None,
    plain_http: bool | None = None,
    ecr_client: ECRClient | None = None,
) -> RepositoryPage:
    """One page of `registry`'s repositories; pass `next_token` back for the next one."""
    registry = _registry_host(registry)
    if is_ecr_registry(registry):
        return EcrRegistry.for_registry(registry, ecr_client).list_repositories(
            page_token, max_results
        )
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise EcrError(
            f"page size {max_results} is out of range: ask for 1 to {MAX_PAGE_SIZE} "
            "repositories per page"
        )
    from iota_container.image.build import BuildOptions, credential_chain
    from iota_container.image.registry import RegistryClient

    target = parse_reference(f"{registry}/probe")
    credentials = credential_chain(BuildOptions(notebook=Path(), repository=str(target)), target)
    client = RegistryClient(registry, credentials, ca_bundle=ca_bundle, plain_http=plain_http)
    names, last = client.catalog_page(max_results, page_token)
    return RepositoryPage([EcrRepository(name, f"{registry}/{name}") for name in names], last)


def create_repository(
    registry: str, name: str, *, ecr_client: ECRClient | None = None
) -> EcrRepository:
    """Repository `name` in `registry`: created in ECR when missing; elsewhere only checked
    against the reference grammar (the first push creates it)."""
    registry = _registry_host(registry)
    reference = parse_reference(f"{registry}/{name}")
    if is_ecr_registry(registry):
        return EcrRegistry.for_registry(registry, ecr_client).ensure_repository(name)
    return EcrRepository(reference.repository, f"{registry}/{reference.repository}")


def _registry_host(registry: str) -> str:
    """`host[:port]`, also from a URL someone pasted (`https://host/`)."""
    host = registry.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    if not host or "/" in host:
        raise ImageReferenceError(
            f"registry {registry!r} is not a registry address: write HOST[:PORT], "
            "e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com or localhost:5000"
        )
    return host
