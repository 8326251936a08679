"""The parts of the server extension a deployment may swap through traits.

`RegistryRepositories` lists and creates repositories (IotaContainerExtension's
`repositories_class`): ECR through its API, any other registry through its catalog.
"""

from __future__ import annotations

from typing import Any

from iota_container.image.repositories import create_repository, list_repositories


class RegistryRepositories:
    def list(self, registry: str, next_token: str | None, max_results: int) -> dict[str, Any]:
        page = list_repositories(registry, next_token, max_results)
        return {
            "registry": registry,
            "repositories": [{"name": r.name, "uri": r.uri} for r in page.repositories],
            "nextToken": page.next_token,
        }

    def create(self, registry: str, name: str) -> dict[str, Any]:
        repository = create_repository(registry, name)
        return {"name": repository.name, "uri": repository.uri}
