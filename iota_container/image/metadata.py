"""What an analysis image says about itself, in its labels (and, from the daemonless
backend, its manifest annotations): notebook path, kernel and variables. A dataset
definition can be written from the image alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iota_container.environment.lock import Lock
from iota_container.errors import IotaError
from iota_container.variables import Variable, check_variables, variable_from_stored_json

LABEL_PREFIX = "io.iota-container"
NOTEBOOK_LABEL = f"{LABEL_PREFIX}.notebook"
KERNEL_LABEL = f"{LABEL_PREFIX}.kernel"
VARIABLES_LABEL = f"{LABEL_PREFIX}.variables"
VERSION_LABEL = f"{LABEL_PREFIX}.version"
LOCK_LABEL = f"{LABEL_PREFIX}.lock"
DESCRIPTION_LABEL = "org.opencontainers.image.description"
TITLE_LABEL = "org.opencontainers.image.title"

ANALYSIS_DIR = "/home/iota/analysis"
METADATA_FILE = ".iota-container.json"
IMAGE_UID = 1000


class MetadataError(IotaError):
    """An image without (or with broken) iota-container labels."""


@dataclass(frozen=True)
class ImageMetadata:
    notebook_path: str  # absolute, inside the image
    kernel: str | None
    variables: list[Variable] = field(default_factory=list)
    description: str = ""
    lock: Lock | None = None  # the distributions the image adds to its base

    def labels(self) -> dict[str, str]:
        from iota_container import __version__

        labels = {
            NOTEBOOK_LABEL: self.notebook_path,
            VARIABLES_LABEL: json.dumps(
                [v.to_json() for v in self.variables], ensure_ascii=False, separators=(",", ":")
            ),
            VERSION_LABEL: __version__,
        }
        if self.kernel:
            labels[KERNEL_LABEL] = self.kernel
        if self.lock is not None:
            labels[LOCK_LABEL] = self.lock.to_label()
        # Always set, even empty: otherwise the image inherits the base image's own
        # description and title, and would describe the base instead of the analysis.
        labels[DESCRIPTION_LABEL] = self.description
        labels[TITLE_LABEL] = self.notebook_path.rsplit("/", 1)[-1]
        return labels

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook_path": self.notebook_path,
            "kernel": self.kernel,
            "variables": [v.to_json() for v in self.variables],
            "description": self.description,
            "lock": self.lock.to_json() if self.lock is not None else None,
        }

    @classmethod
    def from_labels(cls, labels: Mapping[str, str] | None, image: str) -> ImageMetadata:
        labels = labels or {}
        if NOTEBOOK_LABEL not in labels:
            raise MetadataError(
                f"image {image} has no {NOTEBOOK_LABEL} label: it was not built by "
                "`iota-container build`; build it with that, or give the variables by hand"
            )
        try:
            raw = json.loads(labels.get(VARIABLES_LABEL, "[]"))
            variables = check_variables(variable_from_stored_json(item) for item in raw)
        except (ValueError, TypeError) as e:
            raise MetadataError(
                f"image {image}: label {VARIABLES_LABEL} is not valid ({e}): rebuild the image"
            ) from e
        return cls(
            notebook_path=labels[NOTEBOOK_LABEL],
            kernel=labels.get(KERNEL_LABEL),
            variables=variables,
            description=labels.get(DESCRIPTION_LABEL, ""),
            lock=_lock_from_label(labels.get(LOCK_LABEL), image),
        )


def _lock_from_label(text: str | None, image: str) -> Lock | None:
    if not text:
        return None
    try:
        return Lock.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError) as e:
        raise MetadataError(
            f"image {image}: label {LOCK_LABEL} is not valid ({e}): rebuild the image"
        ) from e


@dataclass(frozen=True)
class InspectedImage:
    """An image's metadata, read from its registry, and the digest-pinned reference it
    was read from."""

    reference: str
    metadata: ImageMetadata

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, **self.metadata.to_json()}
