"""Amazon ECR (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`): make sure a repository exists,
list repositories page by page, and registry credentials from GetAuthorizationToken.

The token is a secret: it is decoded into RegistryCredentials in memory, cached per
region until shortly before it expires, and never logged, printed or written. The ECR
client is injected (tests, the Jupyter server's own session) or made from the
environment on first use, in the region the registry's host name names.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from iota_container.errors import IotaError
from iota_container.image.reference import is_ecr_registry
from iota_container.image.spec import RegistryCredentials
from iota_container.text import one_line

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import (
        CreateRepositoryRequestTypeDef,
        DescribeRepositoriesRequestTypeDef,
    )

# reference.is_ecr_registry's pattern, with the parts named.
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
# A token is renewed this long before ECR says it expires: a push takes a while.
EXPIRY_MARGIN = timedelta(minutes=5)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # DescribeRepositories' own limit
NO_CREATE_OPTION = "--no-create-repository"
_REPOSITORY_NAME_FIX = (
    "use 2 to 256 lowercase letters, digits, and . _ - / between them (e.g. team/analysis)"
)
_REFUSED_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "ExpiredTokenException",
    "ExpiredToken",
    "AuthFailure",
}
_DENIED_CODES = {"AccessDeniedException", "AccessDenied"}
_INVALID_CODES = {"InvalidParameterException", "ValidationException"}


class EcrError(IotaError):
    """ECR refused or failed a request, or answered something unusable."""


@dataclass(frozen=True)
class EcrRepository:
    name: str
    uri: str  # REGISTRY/NAME: what an image reference starts with
    created_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        created = self.created_at.isoformat() if self.created_at else None
        return {"name": self.name, "uri": self.uri, "created_at": created}


@dataclass(frozen=True)
class RepositoryPage:
    repositories: list[EcrRepository]
    next_token: str | None  # pass it back for the next page; None on the last one


def ecr_account_and_region(registry: str) -> tuple[str, str]:
    match = _ECR_HOST.match(registry)
    if match is None:
        raise EcrError(
            f"{registry!r} is not an ECR registry: write ACCOUNT.dkr.ecr.REGION.amazonaws.com"
        )
    return match["account"], match["region"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class EcrRegistry:
    """Implements image.spec.CredentialSource for ECR registries (None for any other)."""

    def __init__(
        self,
        client: ECRClient | None = None,
        *,
        registry: str | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.registry = registry
        self._account: str | None = None
        self._region: str | None = None
        if registry:
            self._account, self._region = ecr_account_and_region(registry)
        self._injected = client
        self._clients: dict[str | None, ECRClient] = {}
        self._now = now
        self._tokens: dict[str, tuple[RegistryCredentials, datetime]] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_registry(cls, registry: str, client: ECRClient | None = None) -> EcrRegistry:
        """Bound to one registry: its repositories, in its account and region."""
        return cls(client, registry=registry)

    def ensure_repository(self, name: str, create: bool = True) -> EcrRepository:
        """The repository `name`, created when missing unless `create` is False."""
        found = self._describe(name)
        if found is not None:
            return found
        if not create:
            where = self.registry or "this account's ECR registry"
            raise EcrError(
                f"ECR repository {name!r} does not exist in {where} and {NO_CREATE_OPTION} "
                f"forbids creating it: create it (aws ecr create-repository --repository-name "
                f"{name}), or drop {NO_CREATE_OPTION}"
            )
        return self._create(name)

    def _describe(self, name: str) -> EcrRepository | None:
        from botocore.exceptions import ClientError

        client = self._client(self._region)
        with _aws_errors("DescribeRepositories", f"repository {name!r}", _REPOSITORY_NAME_FIX):
            try:
                answer = client.describe_repositories(**self._describe_request([name]))
            except ClientError as e:
                if _error_code(e)[0] == "RepositoryNotFoundException":
                    return None
                raise
        return _repository(answer["repositories"][0])

    def _create(self, name: str) -> EcrRepository:
        from botocore.exceptions import ClientError

        client = self._client(self._region)
        with _aws_errors("CreateRepository", f"repository {name!r}", _REPOSITORY_NAME_FIX):
            try:
                answer = client.create_repository(**self._create_request(name))
            except ClientError as e:
                # Another build made it between our two calls: that is all we wanted.
                raced = _error_code(e)[0] == "RepositoryAlreadyExistsException"
                found = self._describe(name) if raced else None
                if found is None:
                    raise
                return found
        return _repository(answer["repository"])

    def list_repositories(
        self, page_token: str | None = None, max_results: int = DEFAULT_PAGE_SIZE
    ) -> RepositoryPage:
        """One page of the registry's repositories, in ECR's order."""
        if not 1 <= max_results <= MAX_PAGE_SIZE:
            raise EcrError(
                f"page size {max_results} is out of range: ask for 1 to {MAX_PAGE_SIZE} "
                "repositories per page"
            )
        client = self._client(self._region)
        paging = self._describe_request()
        paging["maxResults"] = max_results
        if page_token:
            paging["nextToken"] = page_token
        fix = "list again from the first page (no page token)"
        with _aws_errors("DescribeRepositories", "the repository list", fix):
            answer = client.describe_repositories(**paging)
        return RepositoryPage(
            repositories=[_repository(item) for item in answer.get("repositories", [])],
            next_token=answer.get("nextToken") or None,
        )

    def credentials_for(self, registry: str) -> RegistryCredentials | None:
        if not is_ecr_registry(registry):
            return None
        _, region = ecr_account_and_region(registry)
        with self._lock:
            cached = self._tokens.get(region)
            if cached is not None and self._now() < cached[1] - EXPIRY_MARGIN:
                return cached[0]
            credentials, expires_at = self._fetch_token(region)
            self._tokens[region] = (credentials, expires_at)
            return credentials

    def _fetch_token(self, region: str) -> tuple[RegistryCredentials, datetime]:
        # Without registryIds (deprecated): one token serves every registry of the region
        # that the caller's identity may use.
        with _aws_errors("GetAuthorizationToken", f"ECR in {region}", "retry"):
            answer = self._client(region).get_authorization_token()
        data = answer.get("authorizationData") or []
        if not data or "authorizationToken" not in data[0]:
            raise EcrError(
                f"ECR in {region} answered GetAuthorizationToken without a token: retry, or "
                "check the AWS endpoint (AWS_ENDPOINT_URL)"
            )
        credentials = decode_authorization_token(data[0]["authorizationToken"], region)
        return credentials, data[0].get("expiresAt") or self._now()

    # Requests name the registry when this one is bound to one: with a caller's identity
    # that may use other accounts' registries, the default would be its own account.
    def _describe_request(
        self, names: list[str] | None = None
    ) -> DescribeRepositoriesRequestTypeDef:
        request: DescribeRepositoriesRequestTypeDef = {}
        if names:
            request["repositoryNames"] = names
        if self._account:
            request["registryId"] = self._account
        return request

    def _create_request(self, name: str) -> CreateRepositoryRequestTypeDef:
        request: CreateRepositoryRequestTypeDef = {"repositoryName": name}
        if self._account:
            request["registryId"] = self._account
        return request

    def _client(self, region: str | None) -> ECRClient:
        if self._injected is not None:
            if region and self._injected.meta.region_name != region:
                raise EcrError(
                    f"the ECR client is for region {self._injected.meta.region_name} but the "
                    f"registry is in {region}: give a client for {region}"
                )
            return self._injected
        if region not in self._clients:
            import boto3

            with _aws_errors("client set-up", "ECR", "set AWS_REGION"):
                self._clients[region] = boto3.client(
                    "ecr", region_name=region, config=_bounded_waits()
                )
        return self._clients[region]


def _bounded_waits() -> Any:
    """The registry's timeout (IOTA_REGISTRY_TIMEOUT) for the ECR API too, instead of
    botocore's 60 s per wait. Its retries stay as the user's AWS configuration says."""
    from botocore.config import Config

    from iota_container.image.registry_transport import registry_timeout

    seconds = registry_timeout()
    return Config(connect_timeout=seconds, read_timeout=seconds)


def decode_authorization_token(token: str, region: str) -> RegistryCredentials:
    """`base64("AWS:" + password)` into a user name and password."""
    try:
        username, separator, password = (
            base64.b64decode(token, validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        separator = ""
    if not separator or not username or not password:
        # Never quote the token: it is the secret.
        raise EcrError(
            f"ECR in {region} answered an authorization token that is not base64 of "
            "USER:PASSWORD: retry, or check the AWS endpoint (AWS_ENDPOINT_URL)"
        )
    return RegistryCredentials(username=username, password=password)


def _repository(item: Any) -> EcrRepository:
    return EcrRepository(
        name=str(item["repositoryName"]),
        uri=str(item.get("repositoryUri") or ""),
        created_at=item.get("createdAt"),
    )


def _error_code(error: BaseException) -> tuple[str, str]:
    """The code and message of a botocore ClientError. An answer botocore could not parse
    (XML from a proxy or an emulator, for a JSON service) has them inside the message."""
    response = getattr(error, "response", None) or {}
    details = response.get("Error") or {}
    code, message = str(details.get("Code") or ""), str(details.get("Message") or "")
    if (not code or code.isdigit()) and "<Code>" in message:
        code = _xml_field(message, "Code") or code
        message = _xml_field(message, "Message") or message
    return code, one_line(message)


def _xml_field(text: str, name: str) -> str | None:
    found = re.search(rf"<{name}>(.*?)</{name}>", text, re.DOTALL)
    return found[1] if found else None


@contextmanager
def _aws_errors(action: str, subject: str, invalid_fix: str) -> Iterator[None]:
    """botocore's exceptions as one-line EcrErrors; `invalid_fix` says how to mend a
    request ECR calls invalid."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
    )

    try:
        yield
    except ClientError as e:
        raise _client_error(action, subject, invalid_fix, e) from e
    except ParamValidationError as e:
        reason = one_line(str(e))
        raise EcrError(f"ECR {action} rejects {subject} ({reason}): {invalid_fix}") from e
    except NoCredentialsError as e:
        raise EcrError(
            f"no AWS credentials for ECR {action}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        ) from e
    except NoRegionError as e:
        raise EcrError(
            f"no AWS region for ECR {action}: set AWS_REGION, or name an ECR registry"
        ) from e
    except BotoCoreError as e:
        reason = one_line(str(e))
        raise EcrError(
            f"ECR {action} for {subject} failed ({reason}): check the network, the region "
            "and AWS_ENDPOINT_URL"
        ) from e


def _client_error(action: str, subject: str, invalid_fix: str, error: Exception) -> EcrError:
    code, message = _error_code(error)
    if code in _REFUSED_CODES:
        return EcrError(
            f"AWS refused the credentials for ECR {action} ({code}: {message}): check "
            "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or renew expired ones"
        )
    if code in _DENIED_CODES:
        return EcrError(
            f"AWS denied ecr:{action} on {subject} ({message}): grant ecr:{action} to this "
            "identity, or use a repository it may use"
        )
    if code in _INVALID_CODES:
        return EcrError(f"ECR {action} rejects {subject} ({message}): {invalid_fix}")
    return EcrError(f"ECR {action} for {subject} failed ({code}: {message}): retry later")
