"""Images shipped as S3 artifacts: `docker save` through the engine, and the upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iota_container.greengrass.errors import GreengrassError
from iota_container.image.reference import ImageReference

SAVE_TIMEOUT_SECONDS = 1800


def local_image(docker_client: Any, reference: str) -> Any:
    """The engine's image for `reference`, pulled when the engine does not have it."""
    from docker.errors import APIError, ImageNotFound

    try:
        return docker_client.images.get(reference)
    except ImageNotFound:
        pass
    try:
        return docker_client.images.pull(reference)
    except APIError as e:
        raise GreengrassError(
            f"image {reference!r} is not in the Docker engine and cannot be pulled "
            f"({e.explanation or e}): `docker pull` it first (after `docker login`)"
        ) from e


def save_image(docker_client: Any, reference: str, target: Path) -> str:
    """Write the image as a `docker save` tarball; returns its image ID (what
    `docker load` gives it, and what the recipe runs)."""
    image = local_image(docker_client, reference)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as handle:
        for chunk in image.save(named=False):
            handle.write(chunk)
    partial.replace(target)
    return str(image.id)


def upload_archive(archive: Path, uri: str) -> None:
    """Upload the tarball where the recipe's artifact says (with the usual S3 settings)."""
    from iota_container import storage

    storage.put(archive, uri)


def archive_image_id(
    image: ImageReference,
    image_source: str,
    archive_uri: str | None,
    save_to: Path | None,
    upload: bool,
) -> str | None:
    """For `--image-source s3`, the ID of the image the tarball holds (saving and
    uploading the tarball when asked); None for registry images."""
    if image_source != "s3":
        if archive_uri or save_to or upload:
            raise GreengrassError(
                "--image-archive-uri, --save-image and --upload-image go with "
                "--image-source s3: add it, or leave them out"
            )
        return None
    if not archive_uri:
        raise GreengrassError(
            "--image-source s3 needs --image-archive-uri s3://BUCKET/KEY.tar: where the "
            "device downloads the image from"
        )
    if upload and save_to is None:
        raise GreengrassError("--upload-image needs --save-image FILE: the tarball to upload")
    if not image.digest:
        return None  # the recipe refuses it, and says why a digest is needed
    from iota_container.docker_host import EngineUnreachable, connect_docker_py

    try:
        # A save streams the whole image: the call timeout only catches a silent engine.
        client = connect_docker_py(call_timeout=SAVE_TIMEOUT_SECONDS, objects=True)
    except EngineUnreachable as e:
        fix = "start dockerd, or use --image-source registry"
        raise GreengrassError(e.needed_by("--image-source s3", fix)) from e
    try:
        if save_to is None:
            return str(local_image(client, image.pinned()).id)
        image_id = save_image(client, image.pinned(), save_to)
    finally:
        client.close()
    if upload:
        upload_archive(save_to, archive_uri)
    return image_id
