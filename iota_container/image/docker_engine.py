"""`--backend docker`: build the analysis image with a Docker engine, then push it.

The engine builds a generated Dockerfile FROM the base image: pip installs the
requirements (when given) as root into the base's venv, then the notebook and its
metadata file are copied into the analysis folder, owned by the image user. The layers
are ordered so that editing the notebook rebuilds (and pushes) one small layer only.

Credentials come from a CredentialSource and go to the engine in the request header of
each push or pull, in memory: nothing here runs `docker login` or writes Docker's config.

A TLS-intercepting proxy between the engine and PyPI: the base image built by
scripts/build-base-image.sh already trusts the build machine's CA bundle (its
EXTRA_CA_BUNDLE), so its children need nothing more. A base built without that CA gets it
from `DockerBackend(ca_bundle=...)`: the file is staged into the build context and pip
trusts the system bundle plus that file during the install step only (SSL_CERT_FILE and
PIP_CERT set in that step's shell). The CA certificate (public data) stays in that
step's COPY layer, but the image does not trust it at run time (dockerfile.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from iota_container.docker_host import EngineUnreachable, connect_docker_py
from iota_container.environment.detect import Requirements
from iota_container.environment.packages import plan_packages
from iota_container.environment.platform import base_environment
from iota_container.environment.verify import UnresolvedImports
from iota_container.errors import IotaError
from iota_container.image.docker_stream import (
    BuildLog,
    PullTally,
    PushTally,
    engine_reason,
)
from iota_container.image.dockerfile import build_context, render_dockerfile, split_labels
from iota_container.image.metadata import ANALYSIS_DIR
from iota_container.image.reference import ImageReference
from iota_container.image.spec import (
    BuildResult,
    BuildSpec,
    CredentialSource,
    Progress,
    RegistryCredentials,
)
from iota_container.text import one_line

NO_ENGINE_FIX = "start dockerd, or use --backend oci"
# Pushes and pulls stream progress; a read timeout only catches an engine that stopped
# talking. (The SDK sends builds without one: a quiet pip step can take minutes.)
STREAM_TIMEOUT_SECONDS = 1800
_COMMAND_FAILED = re.compile(r"^The command .* returned a non-zero code: (\d+)$")


class DockerEngineError(IotaError):
    """The Docker engine is missing, or refused or failed a build, pull or push."""


class EngineApi(Protocol):
    """What this backend asks of docker.APIClient (whose stubs leave most of it untyped)."""

    timeout: int

    def ping(self) -> bool: ...

    def inspect_image(self, image: str) -> dict[str, Any]: ...

    def pull(
        self,
        repository: str,
        tag: str | None = None,
        stream: bool = False,
        auth_config: dict[str, Any] | None = None,
        decode: bool = False,
    ) -> Iterator[dict[str, Any]]: ...

    def build(
        self,
        path: str | None = None,
        tag: str | None = None,
        rm: bool = False,
        forcerm: bool = False,
        pull: bool = False,
        dockerfile: str | None = None,
        decode: bool = False,
        labels: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]: ...

    def push(
        self,
        repository: str,
        tag: str | None = None,
        stream: bool = False,
        auth_config: dict[str, Any] | None = None,
        decode: bool = False,
    ) -> Iterator[dict[str, Any]]: ...

    def create_container(
        self,
        image: str,
        command: list[str] | None = None,
        entrypoint: list[str] | None = None,
        working_dir: str | None = None,
        network_disabled: bool = False,
    ) -> dict[str, Any]: ...

    def start(self, container: str) -> None: ...

    def wait(self, container: str, timeout: int | None = None) -> dict[str, Any]: ...

    def logs(self, container: str, stdout: bool = True, stderr: bool = True) -> bytes: ...

    def remove_container(self, container: str, force: bool = False) -> None: ...

    def close(self) -> None: ...


def connect_engine() -> EngineApi:
    """A docker-py client of the engine docker_host.py finds, patient with long streams."""
    try:
        api = connect_docker_py(call_timeout=STREAM_TIMEOUT_SECONDS)
    except ImportError as e:
        raise DockerEngineError(
            f"--backend docker needs the `docker` Python package ({e}): "
            f"pip install 'docker>=7', or use --backend oci"
        ) from e
    except EngineUnreachable as e:
        raise DockerEngineError(e.needed_by("--backend docker", NO_ENGINE_FIX)) from e
    return cast(EngineApi, api)


class DockerBackend:
    """Implements image.spec.BuildBackend with a Docker engine (the legacy builder will do)."""

    name: ClassVar[str] = "docker"

    def __init__(self, ca_bundle: Path | None = None, api: EngineApi | None = None) -> None:
        if ca_bundle is not None:
            check_ca_bundle(ca_bundle)
        self.ca_bundle = ca_bundle
        self._api = api

    def build_and_push(
        self, spec: BuildSpec, credentials: CredentialSource, progress: Progress
    ) -> BuildResult:
        started = time.perf_counter()
        api = self._api or connect_engine()
        try:
            inspected = ensure_base_image(api, spec.base, credentials, progress)
            base_env = base_environment(_labels(inspected))
            progress.step("detecting the notebook's packages")
            plan = plan_packages(
                spec.notebook, spec.document or {}, spec.metadata.kernel, spec.packages, base_env
            )
            metadata = replace(spec.metadata, lock=None if plan.empty else plan.lock)
            in_file, in_request = split_labels(metadata.labels())
            # The CA bundle serves pip only: without requirements it has nothing to do.
            ca_bundle = self.ca_bundle if not plan.empty else None
            dockerfile = render_dockerfile(
                spec, _image_user(inspected), in_file, ca_bundle is not None, not plan.empty
            )
            tag = f"{spec.target.name}:{spec.target.tag or 'latest'}"
            with build_context(spec, dockerfile, ca_bundle, plan, metadata) as context:
                run_engine_build(api, context, tag, in_request, spec, progress)
            if plan.requirements is not None:
                check_imports_in_image(api, tag, plan.requirements, progress)
            progress.phase("pushing")
            tally = push_image(api, spec.target, spec.target.tag or "latest", credentials, progress)
        finally:
            if self._api is None:
                api.close()
        return BuildResult(
            reference=spec.target.with_digest(tally.digest).pinned(),
            digest=tally.digest,
            tag=spec.target.tag or "latest",
            backend=self.name,
            bytes_uploaded=tally.bytes_uploaded,
            blobs_uploaded=tally.blobs_uploaded,
            blobs_reused=tally.blobs_reused,
            seconds=round(time.perf_counter() - started, 3),
            distributions=tuple(p.requirement for p in plan.lock.pins),
        )


# Run in the built image, in the notebook's folder (as the runtime runs the kernel): which
# of the modules given cannot be found. find_spec locates a module without importing it.
_FIND_MODULES = (
    "import importlib.util, json, sys\n"
    "print(json.dumps([m for m in json.loads(sys.argv[1]) if importlib.util.find_spec(m) is None]))"
)


def check_imports_in_image(
    api: EngineApi, image: str, requirements: Requirements, progress: Progress
) -> None:
    """Before the push: every non-optional import of the notebook must resolve in the
    image just built, asked of the image's own Python."""
    from docker.errors import DockerException

    modules = [m.module for m in requirements.modules if not m.optional]
    if not modules:
        return
    progress.step(f"checking {len(modules)} imports in {image}")
    try:
        container = api.create_container(
            image,
            command=["-c", _FIND_MODULES, json.dumps(modules)],
            entrypoint=["python"],
            working_dir=ANALYSIS_DIR,
            network_disabled=True,
        )["Id"]
        try:
            api.start(container)
            status = api.wait(container, timeout=300).get("StatusCode")
            output = api.logs(container, stdout=True, stderr=False).decode("utf-8", "replace")
        finally:
            api.remove_container(container, force=True)
    except DockerException as e:
        raise _engine_failed(f"check the imports in {image}", e) from e
    try:
        missing = json.loads(output.strip().splitlines()[-1]) if status == 0 else None
    except (ValueError, IndexError):
        missing = None
    if missing is None:
        raise DockerEngineError(
            f"{image} could not check its imports (exit {status}: {one_line(output, 160)}): "
            "nothing was pushed; check that the base runs `python`"
        )
    if missing:
        raise UnresolvedImports(
            f"{image} would not import {', '.join(missing)}: nothing was pushed; install them "
            "in the notebook's kernel and build again, or give them with --requirements"
        )


def _labels(inspected: Mapping[str, Any]) -> dict[str, str]:
    return dict((inspected.get("Config") or {}).get("Labels") or {})


def check_ca_bundle(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise DockerEngineError(
            f"CA bundle {str(path)!r} cannot be read ({e.strerror}): give a PEM file"
        ) from e
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise DockerEngineError(
            f"CA bundle {str(path)!r} holds no PEM certificate: give the proxy's CA "
            "certificate(s) in PEM form"
        )


def auth_config(credentials: RegistryCredentials | None) -> dict[str, str]:
    """The engine's AuthConfig. Empty (anonymous) rather than None: with None, the SDK
    would send whatever ~/.docker/config.json holds instead of what the source decided."""
    if credentials is None:
        return {}
    if credentials.identity_token:
        return {"identitytoken": credentials.identity_token}
    return {"username": credentials.username or "", "password": credentials.password or ""}


def ensure_base_image(
    api: EngineApi, base: ImageReference, credentials: CredentialSource, progress: Progress
) -> dict[str, Any]:
    """Pull the base unless the engine has it; returns the engine's description of it."""
    from docker.errors import DockerException, ImageNotFound

    try:
        return api.inspect_image(str(base))
    except ImageNotFound:
        pass
    except DockerException as e:
        raise _engine_failed(f"inspect the base image {base}", e) from e
    progress.step(f"pulling base image {base}")
    source = credentials.credentials_for(base.registry)
    failure = _pull(api, base, source, progress)
    if failure is None:
        try:
            return api.inspect_image(str(base))
        except DockerException as e:
            failure = engine_reason(e)
    raise DockerEngineError(
        f"base image {base} is not on this Docker engine and pulling it failed "
        f"({_scrub(failure, source)}): build it (scripts/build-base-image.sh --tag {base}), "
        "push it where this engine can pull it, or choose another one with --base"
    )


def _pull(
    api: EngineApi, base: ImageReference, source: RegistryCredentials | None, progress: Progress
) -> str | None:
    """Why the pull failed, or None."""
    from docker.errors import DockerException

    tally = PullTally(progress)
    try:
        stream = api.pull(
            base.name,
            tag=base.digest or base.tag,
            stream=True,
            decode=True,
            auth_config=auth_config(source),
        )
        for chunk in stream:
            tally.feed(chunk)
    except DockerException as e:
        return engine_reason(e)
    return tally.error


def _image_user(inspected: Mapping[str, Any]) -> str:
    return str((inspected.get("Config") or {}).get("User") or "root")


def run_engine_build(
    api: EngineApi,
    context: Path,
    tag: str,
    labels: dict[str, str],
    spec: BuildSpec,
    progress: Progress,
) -> None:
    from docker.errors import DockerException

    log = BuildLog(progress)
    try:
        stream = api.build(
            path=str(context),
            dockerfile="Dockerfile",
            tag=tag,
            labels=labels or None,
            rm=True,
            forcerm=True,  # also remove the container of a failed step
            pull=False,  # ensure_base_image pulled it, with the right credentials
            decode=True,
        )
        for chunk in stream:
            log.feed(chunk)
    except DockerException as e:
        raise _engine_failed(f"build {tag}", e) from e
    log.close()
    if log.error is not None:
        raise DockerEngineError(_build_failure(log, spec))


def _build_failure(log: BuildLog, spec: BuildSpec) -> str:
    output = " | ".join(log.tail) or "no output"
    # The legacy builder repeats the whole RUN line; the step already names it.
    exited = _COMMAND_FAILED.search(log.error or "")
    error = f"exit code {exited[1]}" if exited else log.error
    if "CERTIFICATE_VERIFY_FAILED" in output:
        fix = (
            "pip does not trust the TLS certificate it got: behind a TLS-intercepting proxy, "
            "give the proxy's CA certificates with --ca-bundle"
        )
    elif "pip install" in log.step:
        given = spec.packages.requirements_file
        fix = f"fix {given}" if given else "pin versions pip can install with --requirements"
    else:
        fix = "fix the cause shown and build again"
    return f"docker build failed at {log.step} ({error}); last output: {output}; {fix}"


def push_image(
    api: EngineApi,
    target: ImageReference,
    tag: str,
    credentials: CredentialSource,
    progress: Progress,
) -> PushTally:
    from docker.errors import DockerException

    source = credentials.credentials_for(target.registry)
    tally = PushTally(progress)
    try:
        stream = api.push(
            target.name, tag=tag, stream=True, decode=True, auth_config=auth_config(source)
        )
        for chunk in stream:
            tally.feed(chunk)
    except DockerException as e:
        raise _engine_failed(f"push {target.name}:{tag}", e) from e
    if tally.error is not None:
        raise DockerEngineError(_push_failure(target, _scrub(tally.error, source), source))
    if not tally.digest:
        raise DockerEngineError(
            f"the Docker engine pushed {target.name}:{tag} but reported no digest: "
            "update the engine (API 1.23 or later reports it)"
        )
    return tally


_REFUSED = ("unauthorized", "authentication required", "denied", "no basic auth", "forbidden")
_UNTRUSTED = ("x509:", "certificate signed by unknown authority", "tls: ")
_UNREACHABLE = ("dial tcp", "connection refused", "no such host", "i/o timeout", "no route")


def _push_failure(target: ImageReference, reason: str, source: RegistryCredentials | None) -> str:
    registry, repository = target.registry, target.repository
    lowered = reason.lower()
    if any(word in lowered for word in _REFUSED):
        who = f"as {source.username!r}" if source and source.username else "without credentials"
        return (
            f"registry {registry} refused the push to {repository} {who} ({reason}): "
            f"give credentials for {registry} that may push to {repository}"
        )
    if any(word in lowered for word in _UNTRUSTED):
        return (
            f"the Docker engine does not trust the TLS certificate of registry {registry} "
            f"({reason}): put its CA certificate in /etc/docker/certs.d/{registry}/ca.crt"
        )
    if any(word in lowered for word in _UNREACHABLE):
        return (
            f"registry {registry} is unreachable from the Docker engine ({reason}): "
            "check the registry address and that it is running"
        )
    return f"pushing {repository} to registry {registry} failed ({reason}): push again"


def _scrub(message: str, source: RegistryCredentials | None) -> str:
    """Engines and registries sometimes echo what they got; a secret never reaches a message."""
    for secret in (source.password, source.identity_token) if source else ():
        if secret:
            message = message.replace(secret, "***")
    return message


def _engine_failed(action: str, error: Exception) -> DockerEngineError:
    return DockerEngineError(
        f"the Docker engine failed to {action} ({engine_reason(error)}): "
        f"check that dockerd is healthy (`docker info`), or use --backend oci"
    )
