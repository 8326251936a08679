"""The kernel environment's distributions, kept between builds.

Reading ~175 distributions' metadata is most of what the probe costs, and between two
builds they rarely change. The probe says what they depend on (its `fingerprint`: the
interpreter, its sys.path, and the inode and modification time of each folder on it);
the next probe of the same interpreter sends that fingerprint back and, when nothing
changed, answers without them. Kept under the layer cache's root (`IOTA_CACHE_DIR`), one
file per interpreter command and environment; a missing or unreadable file is a miss, and
deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iota_container.atomic import write_bytes_atomically

CACHE_FORMAT = 1


def cache_file(argv: Sequence[str], env: Mapping[str, str]) -> Path:
    from iota_container.environment.layer_cache import cache_root

    key = json.dumps([CACHE_FORMAT, list(argv), sorted(env.items())])
    return cache_root() / "environments" / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def cached_distributions(path: Path) -> tuple[str, dict[str, Any]] | None:
    """(fingerprint, the probe's `distributions`) kept in `path`, if any."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        fingerprint, distributions = document["fingerprint"], document["distributions"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(fingerprint, str) or not isinstance(distributions, dict):
        return None
    return fingerprint, distributions


def keep_distributions(path: Path, fingerprint: str, distributions: Mapping[str, Any]) -> None:
    """Write them for the next probe; a cache that cannot be written only costs time."""
    document = {"fingerprint": fingerprint, "distributions": distributions}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(path, json.dumps(document, sort_keys=True).encode())
    except OSError:
        pass
