"""The analysis image as documents: its config (the base's, plus the analysis layer, labels
and environment) and its manifest. No I/O and no clock: the same inputs give the same bytes,
hence the same digest.

The manifest is always an OCI image manifest, also on a Docker schema 2 base, whose config
and layer descriptors are renamed to their OCI twins (same blobs, same digests; only the
descriptor's mediaType changes). Why not keep Docker schema 2 for such bases: that format has
no annotations, and the daemonless backend's contract is that the metadata is readable from
the manifest alone; and mixing Docker-typed descriptors into an OCI manifest is what clients
disagree about. Every runtime that pulls by digest today (Docker 20+, containerd, ECR,
Greengrass) reads OCI manifests."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from iota_container.image.layer import Layer
from iota_container.image.media_types import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    oci_media_type,
)

BUILT_BY = "iota-container build --backend oci"
BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"
BASE_DIGEST_ANNOTATION = "org.opencontainers.image.base.digest"


def serialize(document: Mapping[str, Any]) -> bytes:
    """Compact JSON in the documents' own key order: what the digest is taken of."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def timestamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def analysis_config(
    base: Mapping[str, Any],
    layers: Sequence[tuple[Layer, str]],
    labels: Mapping[str, str],
    env: Mapping[str, str],
    created: str,
    dropped_labels: Iterable[str] = (),
) -> dict[str, Any]:
    """The base's config with `layers` appended (each with a history entry saying what it
    added), `labels` and `env` set, and the base's `dropped_labels` removed."""
    config = copy.deepcopy(dict(base))
    # The legacy builder's record of the container it committed the base in: not part of
    # the OCI config, and it repeats the base's labels (kilobytes) in every derived image.
    for legacy in ("container", "container_config"):
        config.pop(legacy, None)
    runtime = dict(config.get("config") or {})
    merged = {**(runtime.get("Labels") or {}), **labels}
    for name in dropped_labels:
        merged.pop(name, None)
    runtime["Labels"] = dict(sorted(merged.items()))
    runtime["Env"] = _set_env(runtime.get("Env") or [], env)
    config["config"] = runtime
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), *(layer.diff_id for layer, _ in layers)]
    config["rootfs"] = rootfs
    entries = [{"created": created, "created_by": f"{BUILT_BY}: {added}"} for _, added in layers]
    config["history"] = [*map(_short_history, config.get("history", [])), *entries]
    config["created"] = created
    return config


def image_manifest(
    config: bytes,
    config_digest: str,
    base_layers: list[Mapping[str, Any]],
    layers: Sequence[Layer],
    annotations: Mapping[str, str],
) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [
            *({**d, "mediaType": oci_media_type(str(d["mediaType"]))} for d in base_layers),
            *(
                {"mediaType": OCI_LAYER_GZIP, "digest": layer.digest, "size": layer.size}
                for layer in layers
            ),
        ],
        "annotations": dict(sorted(annotations.items())),
    }
    return serialize(document)


_HISTORY_TEXT_LIMIT = 512


def _short_history(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A base history entry whose command is longer than 512 characters, shortened: the
    base's environment label step records its whole JSON value there, which every
    analysis image would otherwise push again (history is informational only)."""
    shortened = dict(entry)
    text = str(shortened.get("created_by") or "")
    if len(text) > _HISTORY_TEXT_LIMIT:
        shortened["created_by"] = f"{text[:200]}… ({len(text):,} characters)"
    return shortened


def _set_env(env: list[str], values: Mapping[str, str]) -> list[str]:
    """`KEY=VALUE` entries with `values` replacing the same keys in place, new ones last."""
    remaining = dict(values)
    result = []
    for entry in env:
        key = entry.split("=", 1)[0]
        result.append(f"{key}={remaining.pop(key)}" if key in remaining else entry)
    return result + [f"{key}={value}" for key, value in remaining.items()]
