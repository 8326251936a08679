"""RegistryClient against real docker-registry processes: plain HTTP on loopback, and basic
auth behind TLS with a self-signed certificate."""

from __future__ import annotations

import json

import pytest

from iota_container.image.auth import ChainedCredentials, StaticCredentials
from iota_container.image.media_types import OCI_MANIFEST
from iota_container.image.reference import ImageReference
from iota_container.image.registry import (
    ImageNotFound,
    RegistryClient,
    RegistryError,
    fetch_image_config,
)
from tests.oci_helpers import RecordingProgress, digest, pseudo_random, push_base, push_index
from tests.registry import RegistryServer, TlsFiles
from tests.servers import free_port
from tests.support import REGISTRY_USER

pytestmark = pytest.mark.integration

ANONYMOUS = ChainedCredentials([])


def user_client(
    server: RegistryServer, tls: TlsFiles, password: str | None = None
) -> RegistryClient:
    user, right_password = REGISTRY_USER
    credentials = StaticCredentials(server.address, user, password or right_password)
    return RegistryClient(server.address, credentials, ca_bundle=str(tls.certificate))


def test_upload_exists_and_get_blob(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    data = b"a small blob"
    assert not client.blob_exists("client/blobs", digest(data))
    client.upload_blob("client/blobs", data, digest(data))
    assert client.blob_exists("client/blobs", digest(data))
    assert client.get_blob("client/blobs", digest(data)) == data
    assert client.base_url() == f"http://{registry.address}"  # loopback fell back to http


def test_chunked_upload_reports_progress(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS, chunk_size=64 * 1024)
    data = pseudo_random(300 * 1024, "chunked")
    progress = RecordingProgress()
    client.upload_blob("client/chunked", data, digest(data), "big blob", progress)
    assert client.get_blob("client/chunked", digest(data)) == data
    done = [d for label, d, total in progress.transfers if label == "big blob"]
    assert done[0] == 0 and done[-1] == len(data) and len(done) >= 5  # one per PATCH
    assert all(total == len(data) for _, _, total in progress.transfers)


def test_upload_refuses_data_that_does_not_match_its_digest(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.upload_blob("client/blobs", b"content", digest(b"other content"))


def test_mount_links_a_blob_from_another_repository(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    data = b"mounted blob"
    client.upload_blob("client/source", data, digest(data))
    assert client.mount_blob("client/mounted", digest(data), "client/source")
    assert client.blob_exists("client/mounted", digest(data))
    missing = digest(b"never uploaded")
    assert not client.mount_blob("client/mounted", missing, "client/source")


def test_manifest_roundtrip_keeps_bytes_and_media_type(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    config = b"{}"
    client.upload_blob("client/manifest", config, digest(config))
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": 2,
            },
            "layers": [],
        },
        indent=2,
    ).encode()
    pushed = client.put_manifest("client/manifest", "v1", body, OCI_MANIFEST)
    assert pushed == digest(body)
    assert client.get_manifest("client/manifest", "v1") == (body, OCI_MANIFEST, pushed)
    assert client.get_manifest("client/manifest", pushed)[0] == body
    with pytest.raises(ImageNotFound, match=r"client/manifest:v2 does not exist"):
        client.get_manifest("client/manifest", "v2")


def test_fetch_image_config_resolves_an_index_to_linux_amd64(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    images = push_index(client, "client/multi", "1")
    reference = ImageReference(registry.address, "client/multi", "1")
    config, manifest, manifest_digest = fetch_image_config(reference, ANONYMOUS)
    assert manifest_digest == images["amd64"].manifest_digest
    assert config["architecture"] == "amd64"
    assert manifest["layers"][0]["digest"] == images["amd64"].layer_digests[0]


def test_an_index_without_linux_amd64_names_what_it_has(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    push_index(client, "client/arm-only", "1", ("arm64", "s390x"))
    with pytest.raises(RegistryError) as error:
        client.get_image("client/arm-only", "1")
    assert "has no linux/amd64 variant (it has linux/arm64, linux/s390x)" in str(error.value)


def test_basic_auth_over_tls(auth_registry: RegistryServer, registry_tls: TlsFiles) -> None:
    client = user_client(auth_registry, registry_tls)
    image = push_base(client, "client/authed")
    assert client.blob_exists("client/authed", image.layer_digests[0])
    assert client.mount_blob("client/authed-copy", image.layer_digests[1], "client/authed")
    assert client.get_image("client/authed", "1").digest == image.manifest_digest


def test_refused_credentials_name_the_registry_and_repository_not_the_secret(
    auth_registry: RegistryServer, registry_tls: TlsFiles
) -> None:
    client = user_client(auth_registry, registry_tls, password="wrong-password")
    with pytest.raises(RegistryError) as error:
        client.blob_exists("client/refused", digest(b"x"))
    message = str(error.value)
    assert message.startswith(
        f"registry {auth_registry.address} refused the credentials for client/refused: check"
    )
    assert "wrong-password" not in message and REGISTRY_USER[1] not in message
    assert "\n" not in message


def test_no_credentials_says_which_are_needed(
    auth_registry: RegistryServer, registry_tls: TlsFiles
) -> None:
    client = RegistryClient(
        auth_registry.address, ANONYMOUS, ca_bundle=str(registry_tls.certificate)
    )
    with pytest.raises(RegistryError, match="requires credentials for client/anon: give them"):
        client.blob_exists("client/anon", digest(b"x"))


def test_tls_without_the_ca_names_the_ca_option(auth_registry: RegistryServer) -> None:
    client = RegistryClient(auth_registry.address, ANONYMOUS)
    with pytest.raises(RegistryError) as error:
        client.blob_exists("client/tls", digest(b"x"))
    message = str(error.value)
    assert "TLS certificate" in message and "--ca-bundle" in message and "\n" not in message


def test_unreachable_registry_names_host_and_fix() -> None:
    address = f"127.0.0.1:{free_port()}"
    client = RegistryClient(address, ANONYMOUS)
    with pytest.raises(RegistryError) as error:
        client.blob_exists("client/none", digest(b"x"))
    message = str(error.value)
    assert message.startswith(f"registry {address} is unreachable (Connection refused): check")
    assert "\n" not in message


def test_plain_http_true_skips_https(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS, plain_http=True)
    assert client.base_url() == f"http://{registry.address}"
    assert not client.blob_exists("client/http", digest(b"x"))


def test_plain_http_false_never_falls_back(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS, plain_http=False)
    with pytest.raises(RegistryError, match=f"registry {registry.address} is unreachable"):
        client.blob_exists("client/https", digest(b"x"))


def test_a_repository_name_the_registry_rejects(registry: RegistryServer) -> None:
    client = RegistryClient(registry.address, ANONYMOUS)
    with pytest.raises(RegistryError) as error:
        client.upload_blob("bad/-name", b"x", digest(b"x"))
    message = str(error.value)
    assert message.startswith(
        f"registry {registry.address} rejects the repository name 'bad/-name'"
    )
    assert "\n" not in message
