"""The Jupyter side of iota-container: a jupyter_server extension (REST API under
`{base_url}iota-container/api/`, see docs/jupyter-api.md) and its JupyterLab UI."""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from jupyter_ext.app import IotaContainerExtension

    return [{"module": "jupyter_ext.app", "app": IotaContainerExtension}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "iota-container-jupyter"}]
