"""`s3://` outputs: every object is written with the ACL `bucket-owner-full-control`.

The bucket belongs to whoever runs the dataset, not to the container's account, so the
ACL is what lets the owner read what the container wrote. Small objects go up in one
PutObject, large ones as a multipart upload (s3transfer) whose CreateMultipartUpload
carries the ACL. Throttling and 5xx answers are retried by botocore's standard retry mode.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import shutil
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path
from typing import Any

from iota_container.errors import StorageError
from iota_container.storage.uri import OutputUri

OUTPUT_ACL = "bucket-owner-full-control"
DEFAULT_MAX_ATTEMPTS = 10
MULTIPART_THRESHOLD_ENV = "IOTA_MULTIPART_THRESHOLD"
MAX_CONCURRENCY_ENV = "IOTA_S3_MAX_CONCURRENCY"

log = logging.getLogger(__name__)

_CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "ExpiredToken",
    "InvalidToken",
    "UnrecognizedClientException",
}


def default_session() -> Any:
    """A boto3 session configured from the environment (AWS_PROFILE, AWS_REGION, ...)."""
    import boto3

    return boto3.session.Session()


def client_config() -> Any:
    """Retries every client of the store shares: botocore's standard mode, 10 attempts,
    unless AWS_RETRY_MODE or AWS_MAX_ATTEMPTS say otherwise."""
    from botocore.config import Config

    retries: Any = {
        "mode": os.environ.get("AWS_RETRY_MODE", "standard"),
        "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)),
    }
    return Config(retries=retries)


def default_s3_client() -> Any:
    """An S3 client configured from the environment (AWS_ENDPOINT_URL, AWS_REGION, ...)."""
    return default_session().client("s3", config=client_config())


class S3Store:
    """The s3:// store. Its clients are given (s3transfer style) or made from one session
    in the constructor; the STS client, needed only when a bucket refuses HeadBucket, is
    made from that session on first need. One TransferManager serves every upload of the
    store until close()."""

    def __init__(
        self,
        client: Any = None,
        multipart_threshold: int | None = None,
        max_concurrency: int | None = None,
        *,
        sts_client: Any = None,
        session: Any = None,
    ) -> None:
        self._multipart_threshold = _positive(
            multipart_threshold, "multipart_threshold", MULTIPART_THRESHOLD_ENV, 8 * 1024 * 1024
        )
        # Parts in flight at once; a one-vCPU container may want fewer than s3transfer's 10.
        self._max_concurrency = _positive(
            max_concurrency, "max_concurrency", MAX_CONCURRENCY_ENV, 10
        )
        if session is None and (client is None or sts_client is None):
            session = default_session()
        self._session = session
        self._owned: list[Any] = []  # the clients made here, closed with the store
        if client is None:
            client = session.client("s3", config=client_config())
            self._owned.append(client)
        self.client = client
        self._sts_client = sts_client
        self._manager: Any = None
        self._closed = False

    def __enter__(self) -> S3Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for the uploads in flight, stop the transfer threads, close own clients."""
        self._closed = True
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None
        for client in self._owned:
            client.close()
        self._owned.clear()

    @property
    def transfer_manager(self) -> Any:
        if self._closed:
            raise StorageError(
                "this S3 store is closed: upload through storage.put(), which makes a new one"
            )
        if self._manager is None:
            from s3transfer.manager import TransferConfig, TransferManager

            config = TransferConfig(
                multipart_threshold=self._multipart_threshold,
                multipart_chunksize=max(self._multipart_threshold, 8 * 1024 * 1024),
                max_request_concurrency=self._max_concurrency,
            )
            self._manager = TransferManager(self.client, config)
        return self._manager

    @property
    def sts_client(self) -> Any:
        if self._sts_client is None:
            self._sts_client = self._session.client("sts", config=client_config())
            self._owned.append(self._sts_client)
        return self._sts_client

    def put(self, source: Path | bytes, target: OutputUri) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        extra_args = {"ACL": OUTPUT_ACL}
        content_type = mimetypes.guess_type(target.key)[0]
        if content_type:
            extra_args["ContentType"] = content_type
        body: Any = BytesIO(source) if isinstance(source, bytes) else str(source)
        try:
            upload = self.transfer_manager.upload(
                body, target.bucket, target.key, extra_args=extra_args
            )
            upload.result()
        except ClientError as e:
            raise _client_error(e, target.uri) from e
        except BotoCoreError as e:
            raise _botocore_error(e, target.uri) from e

    def get(self, source: OutputUri, target: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=source.bucket, Key=source.key)
            with target.open("wb") as out:
                shutil.copyfileobj(answer["Body"], out, 1 << 20)
        except (BotoCoreError, ClientError) as e:
            target.unlink(missing_ok=True)
            raise _read_error(e, source.uri) from e

    def check_writable(self, targets: Iterable[OutputUri]) -> None:
        """HeadBucket once per bucket: a missing bucket or refused credentials stop the run
        before it starts. A 403 alone does not: the role may write objects without being
        allowed to list the bucket, so STS tells refused credentials from a narrow policy."""
        from botocore.exceptions import BotoCoreError, ClientError

        checked: set[str] = set()
        for target in targets:
            if target.bucket in checked:
                continue
            checked.add(target.bucket)
            try:
                self.client.head_bucket(Bucket=target.bucket)
            except ClientError as e:
                if _status(e) == 403:
                    self._check_credentials(target.uri)
                    continue
                raise _client_error(e, target.uri) from e
            except BotoCoreError as e:
                raise _botocore_error(e, target.uri) from e

    def _check_credentials(self, uri: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sts_client.get_caller_identity()
        except ClientError as e:
            raise _client_error(e, uri) from e
        except BotoCoreError as e:
            raise _botocore_error(e, uri) from e
        log.debug("no ListBucket permission for %s; going on, PutObject may still be allowed", uri)


def _positive(given: int | None, parameter: str, name: str, default: int) -> int:
    """`given` (the constructor's `parameter`), else the environment's `name`, else
    `default`: a positive whole number either way."""
    if given is not None:
        if given < 1:
            raise StorageError(
                f"{parameter}={given!r} is not a positive whole number: give 1 or more"
            )
        return given
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise StorageError(f"{name}={raw!r} is not a positive whole number: fix or unset it")
    return value


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _client_error(error: Any, uri: str) -> StorageError:
    code = str(error.response.get("Error", {}).get("Code", ""))
    bucket = uri.split("/")[2]
    if code in ("NoSuchBucket", "404") or (code == "" and _status(error) == 404):
        return StorageError(
            f"bucket {bucket!r} does not exist (for {uri}): create it, or fix the URI"
        )
    if code in _CREDENTIAL_ERRORS:
        return StorageError(
            f"AWS refused the credentials ({code}) writing {uri}: check AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or the execution role"
        )
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return StorageError(
            f"access denied writing {uri}: allow s3:PutObject and s3:PutObjectAcl on it "
            "for these credentials"
        )
    message = error.response.get("Error", {}).get("Message", "")
    return StorageError(
        f"S3 answered {code or _status(error)} ({message}) writing {uri}: fix and rerun"
    )


def _read_error(error: Exception, uri: str) -> StorageError:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        detail = response.get("Error", {})
        reason = f"{detail.get('Code') or _status(error)}: {detail.get('Message', '')}"
    else:
        reason = f"{type(error).__name__}: {error}"
    return StorageError(
        f"cannot read {uri} ({reason.strip()}): check the AWS settings and that it still exists"
    )


def _botocore_error(error: Exception, uri: str) -> StorageError:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(error, NoCredentialsError):
        return StorageError(
            f"no AWS credentials to write {uri}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or give the container a role"
        )
    if isinstance(error, EndpointConnectionError):
        return StorageError(
            f"cannot reach S3 to write {uri} ({error}): check AWS_ENDPOINT_URL and the network"
        )
    if isinstance(error, NoRegionError):
        return StorageError(f"no AWS region to write {uri}: set AWS_REGION")
    return StorageError(
        f"S3 upload of {uri} failed ({type(error).__name__}: {error}): fix and rerun"
    )
