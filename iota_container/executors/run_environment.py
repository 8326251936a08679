"""What an analysis run by the engine (`dataset run`, the scheduler) sees of its environment.

The notebook is code its dataset's author wrote, so the engine's own secrets must not
reach it: the registry password it pulls images with, tokens of other services, the
Docker client's credentials.

A container gets exactly this allow-list (`CONTAINER_ENVIRONMENT`), each variable only
when set, and nothing else of the engine's environment:
- AWS credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (and its
  old name AWS_SECURITY_TOKEN), AWS_CREDENTIAL_EXPIRATION; and the container credential
  endpoint of ECS or Greengrass's token exchange service: AWS_CONTAINER_CREDENTIALS_FULL_URI,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN;
- region and endpoints: AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL,
  AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
  AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, AWS_STS_REGIONAL_ENDPOINTS,
  AWS_S3_US_EAST_1_REGIONAL_ENDPOINT, AWS_EC2_METADATA_DISABLED;
- TLS and retries of the uploads: AWS_CA_BUNDLE (the file is mounted read-only at the
  same path, see `mounted_files`), AWS_RETRY_MODE, AWS_MAX_ATTEMPTS;
- the runtime's own settings: IOTA_MULTIPART_THRESHOLD, IOTA_S3_MAX_CONCURRENCY.
AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE are left out: they name
files of the engine's machine that the container does not have; give the run keys
(or a role) instead. Everything else stays out, IOTA_REGISTRY_PASSWORD and
IOTA_REGISTRY_USERNAME, DOCKER_AUTH_CONFIG and any *_TOKEN or *_PASSWORD included.

A run without a container (`--no-container`) is a child process on the engine's own
machine, which needs what any process does there (PATH, HOME, the virtualenv's and
Jupyter's settings, locale, proxies) to start its kernel; it gets the engine's
environment without what the container would not get either (`process_environment`):
- IOTA_* and DOCKER_* variables other than the allow-list's: iota-container's and the
  Docker client's own settings and credentials;
- any other variable whose name has a word TOKEN, PASSWORD, PASSWD, SECRET, CREDENTIALS,
  AUTH, APIKEY or API_KEY in it (GITHUB_TOKEN, TWINE_PASSWORD, SSH_AUTH_SOCK, ...),
  except AWS_* variables: those are the AWS SDK's own settings (a profile, a web
  identity token file), whose files this user can read anyway.
NOTEBOOK_PATH is left out of both: the runtime would prefer it to the notebook asked for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from iota_container.storage.s3 import MAX_CONCURRENCY_ENV, MULTIPART_THRESHOLD_ENV

CA_BUNDLE_ENV = "AWS_CA_BUNDLE"
CONTAINER_ENVIRONMENT = frozenset(
    (
        # credentials
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        # region and endpoints
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_STS",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
        "AWS_EC2_METADATA_DISABLED",
        # TLS and retries
        CA_BUNDLE_ENV,
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
        # the runtime's settings
        MULTIPART_THRESHOLD_ENV,
        MAX_CONCURRENCY_ENV,
    )
)
_OWN_PREFIXES = ("IOTA_", "DOCKER_")
_SECRET_WORDS = frozenset(
    ("TOKEN", "PASSWORD", "PASSWD", "SECRET", "CREDENTIALS", "AUTH", "APIKEY", "API_KEY")
)
_NEVER = frozenset(("NOTEBOOK_PATH",))
_WORDS = re.compile(r"[A-Z0-9]+")


def container_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed variables of `environ` (default: this process's)."""
    source = os.environ if environ is None else environ
    return {key: value for key, value in source.items() if key in CONTAINER_ENVIRONMENT}


def process_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) without the engine's settings and secrets."""
    source = os.environ if environ is None else environ
    return {key: value for key, value in source.items() if not _withheld(key)}


def mounted_files(environment: Mapping[str, str]) -> list[Path]:
    """Files the allow-listed variables name, to mount read-only at their own paths."""
    bundle = environment.get(CA_BUNDLE_ENV)
    if bundle and Path(bundle).is_absolute() and Path(bundle).is_file():
        return [Path(bundle)]
    return []


def _withheld(key: str) -> bool:
    if key in CONTAINER_ENVIRONMENT:
        return False
    name = key.upper()
    if key in _NEVER or name.startswith(_OWN_PREFIXES):
        return True
    if name.startswith("AWS_"):
        return False
    words = _WORDS.findall(name)
    pairs = {f"{a}_{b}" for a, b in zip(words, words[1:])}
    return bool(_SECRET_WORDS.intersection(words) or _SECRET_WORDS.intersection(pairs))
