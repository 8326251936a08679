"""Small real images for registry tests, made without Docker: a layer tar, a config, a
manifest (OCI or Docker schema 2), pushed with the project's own RegistryClient."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iota_container.environment.options import PackageOptions
from iota_container.image.media_types import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)
from iota_container.image.metadata import ANALYSIS_DIR, ImageMetadata
from iota_container.image.reference import parse_reference
from iota_container.image.registry import RegistryClient
from iota_container.image.spec import BuildSpec
from iota_container.variables import variable_from_default


def digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def tar_gz(files: dict[str, bytes]) -> tuple[bytes, bytes]:
    """(gzip'd tar, plain tar) of `files`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    plain = buffer.getvalue()
    return gzip.compress(plain, mtime=0), plain


def pseudo_random(size: int, seed: str) -> bytes:
    """Incompressible bytes that are the same on every run, so a base layer has weight."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@dataclass(frozen=True)
class PushedImage:
    manifest_digest: str
    manifest: bytes
    layer_digests: list[str]
    layer_sizes: list[int]
    config: dict[str, Any] = field(default_factory=dict)


def push_image(
    client: RegistryClient,
    repository: str,
    tag: str,
    layers: list[dict[str, bytes]],
    docker_types: bool = False,
    architecture: str = "amd64",
    env: list[str] | None = None,
    labels: dict[str, str] | None = None,
) -> PushedImage:
    """An image whose layers hold `layers` (one dict of files per layer)."""
    compressed = [tar_gz(files) for files in layers]
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": "linux",
        "config": {
            "Env": env or ["PATH=/usr/bin:/bin"],
            "User": "1000",
            "Labels": labels or {"base": "1"},
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(plain) for _, plain in compressed]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    config_bytes = json.dumps(config).encode()
    for blob, _ in compressed:
        client.upload_blob(repository, blob, digest(blob))
    client.upload_blob(repository, config_bytes, digest(config_bytes))
    layer_type = DOCKER_LAYER_GZIP if docker_types else OCI_LAYER_GZIP
    manifest_type = DOCKER_MANIFEST if docker_types else OCI_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": DOCKER_CONFIG if docker_types else OCI_CONFIG,
            "digest": digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": layer_type, "digest": digest(blob), "size": len(blob)}
            for blob, _ in compressed
        ],
    }
    body = json.dumps(manifest, indent=3).encode()
    pushed = client.put_manifest(repository, tag, body, manifest_type)
    return PushedImage(
        pushed,
        body,
        [digest(blob) for blob, _ in compressed],
        [len(blob) for blob, _ in compressed],
        config,
    )


def push_base(
    client: RegistryClient,
    repository: str = "base/tiny",
    tag: str = "1",
    docker_types: bool = False,
) -> PushedImage:
    """A two-layer base: a small file, and a ~1 MiB layer that makes copying visible."""
    return push_image(
        client,
        repository,
        tag,
        [
            {"etc/base-release": b"tiny 1\n"},
            {"opt/data.bin": pseudo_random(1024 * 1024, repository)},
        ],
        docker_types=docker_types,
    )


def push_index(
    client: RegistryClient,
    repository: str,
    tag: str,
    architectures: tuple[str, ...] = ("arm64", "amd64"),
) -> dict[str, PushedImage]:
    """An OCI index of one linux image per architecture, in this order."""
    images = {
        arch: push_image(
            client, repository, f"{tag}-{arch}", [{"etc/arch": arch.encode()}], architecture=arch
        )
        for arch in architectures
    }
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": image.manifest_digest,
                "size": len(image.manifest),
                "platform": {"os": "linux", "architecture": arch},
            }
            for arch, image in images.items()
        ],
    }
    client.put_manifest(repository, tag, json.dumps(index).encode(), OCI_INDEX)
    return images


def write_notebook(path: Path, source: str = "threshold = 25\nprint(threshold)") -> Path:
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": []}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))
    return path


class RecordingProgress:
    """A Progress that keeps what it was told."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.steps: list[str] = []
        self.transfers: list[tuple[str, int, int]] = []
        self.phase_of_transfers: list[str | None] = []  # beside transfers, one each

    def phase(self, name: str) -> None:
        self.phases.append(name)

    def step(self, message: str) -> None:
        self.steps.append(message)

    def transfer(self, label: str, done: int, total: int) -> None:
        self.transfers.append((label, done, total))
        self.phase_of_transfers.append(self.phases[-1] if self.phases else None)

    def bytes_sent_in(self, phase: str) -> int:
        """What a progress view shows: each label's last count, of transfers in `phase`."""
        last: dict[str, int] = {}
        for (label, done, _), during in zip(self.transfers, self.phase_of_transfers):
            if during == phase:
                last[label] = done
        return sum(last.values())


def make_spec(
    notebook: Path, target: str, base: str, requirements: Path | None = None
) -> BuildSpec:
    metadata = ImageMetadata(
        notebook_path=f"{ANALYSIS_DIR}/{notebook.name}",
        kernel="python3",
        variables=[variable_from_default("threshold", 25)],
        description="tiny test analysis",
    )
    return BuildSpec(
        notebook=notebook,
        metadata=metadata,
        target=parse_reference(target),
        base=parse_reference(base),
        packages=PackageOptions(requirements_file=requirements),
    )
