from __future__ import annotations

import json

from iota_container.image.layer import Layer
from iota_container.image.media_types import (
    DOCKER_LAYER_GZIP,
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)
from iota_container.image.oci_image import analysis_config, image_manifest, timestamp

LAYER = Layer(b"layer", "sha256:" + "1" * 64, "sha256:" + "2" * 64, 5)
BASE = {
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "Env": ["PATH=/bin", "NOTEBOOK_PATH=/old.ipynb"],
        "Labels": {"org.opencontainers.image.title": "base", "io.iota-container.notebook": "x"},
        "User": "iota",
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
    "history": [{"created_by": "base"}],
    "created": "2024-01-01T00:00:00Z",
}


def build_config() -> dict[str, object]:
    return analysis_config(
        BASE,
        [(LAYER, "COPY a.ipynb /home/iota/analysis/")],
        labels={"io.iota-container.notebook": "/home/iota/analysis/a.ipynb"},
        env={"NOTEBOOK_PATH": "/home/iota/analysis/a.ipynb", "KERNEL_NAME": "python3"},
        created=timestamp(0),
    )


def test_config_appends_the_layer_and_keeps_the_base() -> None:
    config = build_config()
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + "0" * 64, LAYER.diff_id]}
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert config["history"] == [
        {"created_by": "base"},
        {
            "created": "1970-01-01T00:00:00Z",
            "created_by": "iota-container build --backend oci: COPY a.ipynb /home/iota/analysis/",
        },
    ]
    runtime = config["config"]
    assert isinstance(runtime, dict)
    assert runtime["User"] == "iota"
    assert runtime["Labels"] == {
        "io.iota-container.notebook": "/home/iota/analysis/a.ipynb",
        "org.opencontainers.image.title": "base",
    }
    # Replaced in place, added at the end: the base's PATH stays first.
    assert runtime["Env"] == [
        "PATH=/bin",
        "NOTEBOOK_PATH=/home/iota/analysis/a.ipynb",
        "KERNEL_NAME=python3",
    ]
    assert BASE["config"]["Env"] == ["PATH=/bin", "NOTEBOOK_PATH=/old.ipynb"]  # type: ignore[index]


def test_manifest_is_oci_with_docker_base_layers_renamed() -> None:
    base_layer = {"mediaType": DOCKER_LAYER_GZIP, "digest": "sha256:" + "3" * 64, "size": 7}
    body = image_manifest(b"{}", "sha256:" + "4" * 64, [base_layer], [LAYER], {"b": "2", "a": "1"})
    manifest = json.loads(body)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"] == {
        "mediaType": OCI_CONFIG,
        "digest": "sha256:" + "4" * 64,
        "size": 2,
    }
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_GZIP] * 2
    assert manifest["layers"][0]["digest"] == base_layer["digest"]
    assert list(manifest["annotations"]) == ["a", "b"]
    assert body == image_manifest(
        b"{}", "sha256:" + "4" * 64, [base_layer], [LAYER], {"a": "1", "b": "2"}
    )
