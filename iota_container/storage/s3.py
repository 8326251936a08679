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


def default_s3_client() -> Any:
    """An S3 client configured from the environment (AWS_ENDPOINT_URL, AWS_REGION, ...)."""
    import boto3
    from botocore.config import Config

    retries: Any = {
        "mode": os.environ.get("AWS_RETRY_MODE", "standard"),
        "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)),
    }
    return boto3.session.Session().client("s3", config=Config(retries=retries))


class S3Store:
    def __init__(
        self,
        client: Any = None,
        multipart_threshold: int | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self._client = client
        self._multipart_threshold = multipart_threshold or _env_int(
            MULTIPART_THRESHOLD_ENV, 8 * 1024 * 1024
        )
        # Parts in flight at once; a one-vCPU container may want fewer than s3transfer's 10.
        self._max_concurrency = max_concurrency or _env_int(MAX_CONCURRENCY_ENV, 10)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = default_s3_client()
        return self._client

    def put(self, source: Path | bytes, target: OutputUri) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        from s3transfer.manager import TransferConfig, TransferManager

        extra_args = {"ACL": OUTPUT_ACL}
        content_type = mimetypes.guess_type(target.key)[0]
        if content_type:
            extra_args["ContentType"] = content_type
        config = TransferConfig(
            multipart_threshold=self._multipart_threshold,
            multipart_chunksize=max(self._multipart_threshold, 8 * 1024 * 1024),
            max_request_concurrency=self._max_concurrency,
        )
        body: Any = BytesIO(source) if isinstance(source, bytes) else str(source)
        try:
            with TransferManager(self.client, config) as manager:
                manager.upload(body, target.bucket, target.key, extra_args=extra_args).result()
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
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            boto3.session.Session().client("sts").get_caller_identity()
        except ClientError as e:
            raise _client_error(e, uri) from e
        except BotoCoreError as e:
            raise _botocore_error(e, uri) from e
        log.debug("no ListBucket permission for %s; going on, PutObject may still be allowed", uri)


def _env_int(name: str, default: int) -> int:
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
