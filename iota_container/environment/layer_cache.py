"""The build machine's cache of dependency layers and wheels.

A dependency layer is a function of what the lock asks for, the platform and the base's
own distributions, so it is kept under a key of those: a second notebook with the same
lock reuses the layer without running pip, and its push finds the blob in the registry.
`IOTA_CACHE_DIR` moves the cache (default: `$XDG_CACHE_HOME/iota-container`, else
`~/.cache/iota-container`); deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from iota_container.atomic import write_bytes_atomically
from iota_container.environment.dependency_layer import (
    LAYER_FORMAT,
    DependencyLayer,
    layer_description,
    layer_from_description,
)
from iota_container.environment.lock import Lock
from iota_container.environment.platform import TargetPlatform
from iota_container.environment.python_env import PythonEnvironment
from iota_container.image.layer import sha256_digest

CACHE_DIR_ENV = "IOTA_CACHE_DIR"


def cache_root() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "iota-container"


class LayerCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()

    def wheels_folder(self, platform: TargetPlatform) -> Path:
        return self.root / "wheels" / platform.key()

    def key(self, lock: Lock, platform: TargetPlatform, base: PythonEnvironment | None) -> str:
        parts = [
            f"format {LAYER_FORMAT}",
            f"platform {platform.key()}",
            f"lock {lock.request_key()}",
            "base " + ",".join(
                f"{d.key}=={d.version}" for d in sorted(
                    (base.distributions.values() if base else ()), key=lambda d: d.key
                )
            ),
        ]  # fmt: skip
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def load(self, key: str) -> DependencyLayer | None:
        folder = self.root / "layers" / key
        try:
            description = json.loads((folder / "layer.json").read_text(encoding="utf-8"))
            data = (folder / "layer.tar.gz").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(description, dict) or description.get("format") != LAYER_FORMAT:
            return None
        # A cut or altered entry would be pushed under a digest that is not its own (the
        # registry refuses it, and the build would fail until the cache is deleted).
        if len(data) != description.get("size") or sha256_digest(data) != description.get("digest"):
            return None
        try:
            return layer_from_description(description, data)
        except (KeyError, TypeError, ValueError):
            return None  # an entry another version of this program wrote: build anew

    def pushed_to(self, key: str, registry: str) -> list[str]:
        """Repositories of `registry` this layer was pushed to from here: a push to another
        repository of that registry mounts it from one of them instead of uploading it."""
        try:
            places = json.loads((self.root / "layers" / key / "pushed.json").read_text("utf-8"))
        except (OSError, ValueError):
            return []
        found = places.get(registry) if isinstance(places, dict) else None
        return [str(r) for r in found] if isinstance(found, list) else []

    def record_push(self, key: str, registry: str, repository: str) -> None:
        folder = self.root / "layers" / key
        known = self.pushed_to(key, registry)
        if repository in known or not folder.is_dir():
            return
        path = folder / "pushed.json"
        try:
            places = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            places = {}  # none yet, or damaged: this push starts it anew
        if not isinstance(places, dict):
            places = {}
        try:
            places[registry] = [repository, *known][:20]  # the newest first, a few kept
            write_bytes_atomically(path, json.dumps(places).encode())
        except (OSError, ValueError):
            pass  # a cache that cannot be written is no error

    def save(self, key: str, layer: DependencyLayer) -> None:
        """Write the entry beside its final place and rename it there, so that a reader
        never sees half an entry (and two builds racing both end with a whole one)."""
        layers = self.root / "layers"
        layers.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.", dir=layers))
        try:
            (staging / "layer.tar.gz").write_bytes(layer.layer.data)
            (staging / "layer.json").write_text(
                json.dumps(layer_description(layer), indent=1), encoding="utf-8"
            )
            final = layers / key
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # a cache that cannot be written is no error
