"""The docker backend against a real Docker engine and real registries: it builds a child
of the base image, pushes it (plain HTTP, and basic auth behind TLS), and what the
registry serves is what the build reported. The pushed image then runs as a container
dataset, uploading to the moto S3 server."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from iota_container.docker_host import engine_answers
from iota_container.image.docker_engine import DockerBackend, DockerEngineError
from iota_container.image.metadata import (
    DESCRIPTION_LABEL,
    NOTEBOOK_LABEL,
    VARIABLES_LABEL,
    ImageMetadata,
)
from iota_container.image.reference import ImageReference, parse_reference
from iota_container.image.spec import BuildSpec
from iota_container.params_file import template_params, write_params
from iota_container.variables import variable_from_default
from tests.docker_helpers import (
    MANIFEST_TYPES,
    Anonymous,
    Login,
    build_spec,
    run_with_params,
    served_config,
    served_manifest,
    trusted_by_docker,
    unique_target,
)
from tests.notebooks import write_notebook
from tests.oci_helpers import RecordingProgress
from tests.registry import RegistryServer
from tests.servers import MotoServer, free_port, header
from tests.support import REGISTRY_USER, run_cli

pytestmark = pytest.mark.integration

NO_CREDENTIALS = Anonymous()
# Small, pure Python, not in the base image; fetched from PyPI (through the proxy here).
TINY_REQUIREMENT = "tabulate==0.9.0"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture
def engine_images(docker_client: Any) -> Iterator[list[str]]:
    """Image references a test made on the engine; removed afterwards."""
    from docker.errors import DockerException

    made: list[str] = []
    yield made
    for reference in made:
        # Already gone, or never made because the build failed.
        with contextlib.suppress(DockerException):
            docker_client.images.remove(reference, force=True)


SpecFactory = Callable[..., BuildSpec]


@pytest.fixture
def one_cell_spec(base_image: str, engine_images: list[str], tmp_path: Path) -> SpecFactory:
    """make(target, base=None, requirement=None): a one-cell notebook built FROM the test
    base image (or `base`), with a requirements file holding `requirement` when given."""

    def make(
        target: ImageReference, base: str | None = None, requirement: str | None = None
    ) -> BuildSpec:
        engine_images.append(str(target))
        requirements = None
        if requirement is not None:
            requirements = tmp_path / "requirements.txt"
            requirements.write_text(requirement + "\n")
        notebook = write_notebook(tmp_path / "a.ipynb", "print(1)")
        return build_spec(notebook, target, base or base_image, requirements)

    return make


@pytest.fixture(scope="module")
def trusted_auth_registry(auth_registry: RegistryServer) -> Iterator[RegistryServer]:
    with trusted_by_docker(auth_registry):
        yield auth_registry


def tricky_notebook(folder: Path) -> Path:
    """A name that needs quoting in a Dockerfile, and a variable whose default does too."""
    return write_notebook(
        folder / "sensor report $HOME 'v2'.ipynb",
        "import iota_container as iota\n"
        "print('threshold', threshold, 'note', note)\n"
        "print('custom', iota.upload(f'{note}:{threshold}'.encode(), 'custom_output'))",
        parameters="threshold = 25\nnote = 'a \"quoted\" $VALUE \\\\ here'\ncustom_output = ''",
    )


def tricky_variables() -> list[Any]:
    return [
        variable_from_default("threshold", 25, "alert above this"),
        variable_from_default("note", 'a "quoted" $VALUE \\ here', "ünïcode ok"),
    ]


def test_push_to_plain_registry_matches_what_the_registry_serves(
    registry: RegistryServer, base_image: str, engine_images: list[str], tmp_path: Path
) -> None:
    target = unique_target(registry, "plain/analysis")
    engine_images.append(str(target))
    description = "Sensor report\nsecond line with $HOME and 'quotes'"
    notebook = tricky_notebook(tmp_path)
    spec = build_spec(
        notebook, target, base_image, description=description, variables=tricky_variables()
    )
    progress = RecordingProgress()

    result = DockerBackend().build_and_push(spec, NO_CREDENTIALS, progress)

    served_digest, manifest = served_manifest(registry, target)
    assert result.digest == served_digest
    assert result.reference == f"{target.name}@{served_digest}"
    assert (result.backend, result.tag) == ("docker", "v1")
    assert result.blobs_uploaded + result.blobs_reused == len(manifest["layers"])
    config = served_config(registry, target)
    assert ImageMetadata.from_labels(config["Labels"], str(target)) == spec.metadata
    assert config["Labels"][DESCRIPTION_LABEL] == description  # a newline survives, exactly
    variables = json.loads(config["Labels"][VARIABLES_LABEL])
    assert variables[1]["default"] == 'a "quoted" $VALUE \\ here'
    assert f"NOTEBOOK_PATH={spec.notebook_path_in_image}" in config["Env"]
    assert "KERNEL_NAME=python3" in config["Env"]
    assert config["User"] == "iota"
    assert any(step.startswith("Step 1/") for step in progress.steps)
    assert any(
        label.startswith("layer ") and done == total for label, done, total in progress.transfers
    )


def test_push_with_basic_auth_behind_tls(
    trusted_auth_registry: RegistryServer, one_cell_spec: SpecFactory
) -> None:
    target = unique_target(trusted_auth_registry, "auth/analysis")
    credentials = Login(trusted_auth_registry.address, *REGISTRY_USER)

    result = DockerBackend().build_and_push(one_cell_spec(target), credentials, RecordingProgress())

    served_digest, _ = served_manifest(trusted_auth_registry, target, auth=REGISTRY_USER)
    assert result.digest == served_digest
    labels = served_config(trusted_auth_registry, target, auth=REGISTRY_USER)["Labels"]
    assert labels[NOTEBOOK_LABEL] == "/home/iota/analysis/a.ipynb"


@pytest.mark.parametrize("password", ["not the password", None])
def test_refused_push_is_one_line_naming_registry_and_repository_not_the_password(
    password: str | None, trusted_auth_registry: RegistryServer, one_cell_spec: SpecFactory
) -> None:
    address = trusted_auth_registry.address
    target = unique_target(trusted_auth_registry, "refused/analysis")
    credentials = Login(address, REGISTRY_USER[0], password) if password else NO_CREDENTIALS
    with pytest.raises(DockerEngineError) as caught:
        DockerBackend().build_and_push(one_cell_spec(target), credentials, RecordingProgress())
    message = str(caught.value)
    assert "\n" not in message
    assert f"registry {address} refused the push to {target.repository}" in message
    assert "not the password" not in message
    assert REGISTRY_USER[1] not in message


def test_unreachable_registry_is_named(one_cell_spec: SpecFactory) -> None:
    spec = one_cell_spec(parse_reference(f"127.0.0.1:{free_port()}/nowhere/analysis:v1"))
    with pytest.raises(DockerEngineError, match=r"^registry 127\.0\.0\.1:\d+ is unreachable"):
        DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())


def test_missing_base_names_the_base_and_the_fix(
    registry: RegistryServer, one_cell_spec: SpecFactory
) -> None:
    base = f"{registry.address}/iota-container/no-such-base:{uuid.uuid4().hex[:8]}"
    spec = one_cell_spec(unique_target(registry, "orphan/analysis"), base=base)
    with pytest.raises(DockerEngineError) as caught:
        DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())
    message = str(caught.value)
    assert message.startswith(f"base image {base} is not on this Docker engine")
    assert "scripts/build-base-image.sh" in message and "\n" not in message


def test_a_base_that_is_not_local_is_pulled_first(
    registry: RegistryServer,
    docker_client: Any,
    base_image: str,
    engine_images: list[str],
    one_cell_spec: SpecFactory,
) -> None:
    remote_base = f"{registry.address}/iota-container/base:pulled-{uuid.uuid4().hex[:8]}"
    docker_client.images.get(base_image).tag(remote_base)
    for line in docker_client.images.push(remote_base, stream=True, decode=True):
        assert "error" not in line, line
    docker_client.images.remove(remote_base)  # only the name: the layers stay
    engine_images.append(remote_base)
    target = unique_target(registry, "pulled/analysis")
    progress = RecordingProgress()

    result = DockerBackend().build_and_push(
        one_cell_spec(target, base=remote_base), NO_CREDENTIALS, progress
    )

    assert f"pulling base image {remote_base}" in progress.steps
    assert result.digest == served_manifest(registry, target)[0]


def test_requirements_are_installed_into_the_venv_and_the_user_is_back(
    registry: RegistryServer, docker_client: Any, one_cell_spec: SpecFactory
) -> None:
    spec = one_cell_spec(unique_target(registry, "reqs/analysis"), requirement=TINY_REQUIREMENT)
    DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())

    output = shell(
        docker_client,
        str(spec.target),
        "python -c 'import tabulate; print(tabulate.__version__, tabulate.__file__)'; "
        "id -un; ls -ld /tmp/iota-build 2>&1 || true",
    )
    assert "0.9.0 /opt/iota/lib/" in output
    assert "\niota\n" in output  # the base's user, not root
    assert "No such file or directory" in output  # the build inputs are gone


def shell(docker_client: Any, image: str, script: str) -> str:
    output = docker_client.containers.run(
        image, entrypoint=["sh", "-c"], command=[script], remove=True
    )
    return bytes(output).decode()


def test_a_bad_requirement_fails_at_the_pip_step_in_one_line(
    registry: RegistryServer, one_cell_spec: SpecFactory
) -> None:
    spec = one_cell_spec(
        unique_target(registry, "badreq/analysis"),
        requirement="iota-container-no-such-package-anywhere==9.9.9",
    )
    with pytest.raises(DockerEngineError) as caught:
        DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("docker build failed at step ")
    assert "pip install" in message and "(exit code 1)" in message
    assert "No matching distribution found for iota-container-no-such-package-anywhere" in message
    assert message.endswith(f"fix {spec.packages.requirements_file}")


@pytest.fixture(scope="module")
def base_without_proxy_ca(docker_client: Any, base_image: str) -> Iterator[str]:
    """The base image minus the CA bundle it was built with: what a user behind a
    TLS-intercepting proxy has when the base came from elsewhere."""
    tag = f"iota-container/test-base-no-extra-ca:{uuid.uuid4().hex[:8]}"
    dockerfile = (
        f"FROM {base_image}\nUSER root\n"
        "RUN rm -f /usr/local/share/ca-certificates/iota-extra-ca.crt"
        " && update-ca-certificates --fresh >/dev/null\nUSER iota\n"
    )
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


def test_ca_bundle_lets_pip_through_a_tls_intercepting_proxy_for_that_step_only(
    registry: RegistryServer,
    docker_client: Any,
    base_without_proxy_ca: str,
    one_cell_spec: SpecFactory,
) -> None:
    """On this machine PyPI is reached through such a proxy, so this is the real thing."""
    spec = one_cell_spec(
        unique_target(registry, "ca/analysis"),
        base=base_without_proxy_ca,
        requirement=TINY_REQUIREMENT,
    )
    with pytest.raises(
        DockerEngineError, match=r"give the proxy's CA certificates with --ca-bundle$"
    ):
        DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())

    DockerBackend(ca_bundle=HOST_CA_BUNDLE).build_and_push(
        spec, NO_CREDENTIALS, RecordingProgress()
    )

    trust = "grep -c BEGIN /etc/ssl/certs/ca-certificates.crt; echo $SSL_CERT_FILE $PIP_CERT"
    assert shell(docker_client, str(spec.target), trust) == shell(
        docker_client, base_without_proxy_ca, trust
    )


def test_ca_bundle_that_is_not_pem_is_refused_up_front(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("hello\n")
    with pytest.raises(DockerEngineError, match=r"holds no PEM certificate"):
        DockerBackend(ca_bundle=not_pem)


def test_a_one_cell_edit_rebuilds_and_pushes_one_layer(
    registry: RegistryServer, base_image: str, engine_images: list[str], tmp_path: Path
) -> None:
    target = unique_target(registry, "edit/analysis")
    engine_images.append(str(target))
    notebook = write_notebook(tmp_path / "a.ipynb", "x = 1", "print(x)")
    spec = build_spec(notebook, target, base_image)
    first = DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())
    engine_images.append(first.reference)  # the tag moves on to the second image
    write_notebook(notebook, "x = 1", "print(x * 2)")

    second = DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())

    assert second.digest != first.digest
    assert second.blobs_uploaded == 1  # the notebook layer; the config is not counted
    assert second.blobs_reused == first.blobs_uploaded + first.blobs_reused - 1
    assert second.digest == served_manifest(registry, target)[0]


def test_pushed_image_runs_as_a_container_dataset(
    registry: RegistryServer,
    docker_client: Any,
    base_image: str,
    engine_images: list[str],
    moto: MotoServer,
    tmp_path: Path,
) -> None:
    target = unique_target(registry, "run/analysis")
    spec = build_spec(tricky_notebook(tmp_path), target, base_image, variables=tricky_variables())
    result = DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())
    docker_client.images.remove(str(target))  # so the run pulls what the registry holds
    engine_images.append(result.reference)
    bucket = f"docker-backend-{uuid.uuid4().hex[:10]}"
    moto.s3().create_bucket(Bucket=bucket)
    moto.reset_recording()
    root = f"s3://{bucket}/run"
    # No Context.Analysis: the image's NOTEBOOK_PATH must lead to the notebook.
    params = write_params(
        template_params(root, {"threshold": 7, "custom_output": f"{root}/custom.txt"}),
        tmp_path / "params",
    )

    code, logs = run_with_params(docker_client, result.reference, params, moto)

    assert code == 0, logs
    s3 = moto.s3()
    executed = s3.get_object(Bucket=bucket, Key="run/output.ipynb")["Body"].read().decode()
    outputs = json.dumps([c.get("outputs") for c in nbformat.reads(executed, as_version=4).cells])
    assert 'threshold 7 note a \\"quoted\\" $VALUE' in outputs
    custom = s3.get_object(Bucket=bucket, Key="run/custom.txt")["Body"].read().decode()
    assert custom == 'a "quoted" $VALUE \\ here:7'
    assert all(header(w, "x-amz-acl") == "bucket-owner-full-control" for w in moto.object_writes())


def test_no_engine_is_one_line_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, one_cell_spec: SpecFactory, tmp_path: Path
) -> None:
    spec = one_cell_spec(parse_reference("127.0.0.1:5000/x/y:v1"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert engine_answers() is False
    with pytest.raises(DockerEngineError) as caught:
        DockerBackend().build_and_push(spec, NO_CREDENTIALS, RecordingProgress())
    message = str(caught.value)
    assert message.startswith("--backend docker needs a Docker engine, and none answers at unix://")
    assert message.endswith(": start dockerd, or use --backend oci")


def test_engine_answers_when_one_does(docker_client: Any) -> None:
    assert engine_answers() is True


def test_detected_packages_install_in_their_own_layer_before_the_notebook(
    registry: RegistryServer, base_image: str, engine_images: list[str], tmp_path: Path
) -> None:
    """`cycler` is installed in the kernel's environment and not in the base: the lock
    pins it, pip installs it in a layer of its own, the image's Python finds it before the
    push, and a notebook edit reuses that layer (the engine's cache) instead of
    reinstalling it."""
    target = unique_target(registry, "detected/analysis")
    engine_images.append(str(target))
    notebook = write_notebook(tmp_path / "a.ipynb", "import cycler\nprint(cycler.__version__)")
    first = build_with_cli(notebook, target, base_image)
    assert any(d.startswith("cycler==") for d in first["distributions"]), first

    write_notebook(tmp_path / "a.ipynb", "import cycler\nprint('edited', cycler.__version__)")
    second = build_with_cli(notebook, target, base_image)
    layers = [served_layers(registry, target, result["digest"]) for result in (first, second)]
    assert layers[0][:-1] == layers[1][:-1]  # the pip layer and everything below: the same
    assert layers[0][-1] != layers[1][-1]  # only the notebook's layer is new


def test_an_import_the_kernel_lacks_is_refused_before_the_engine_builds(
    registry: RegistryServer, base_image: str, tmp_path: Path
) -> None:
    notebook = write_notebook(tmp_path / "a.ipynb", "import iota_no_such_module_anywhere")
    target = unique_target(registry, "refused/analysis")
    result = run_cli("build", str(notebook), "-r", str(target), "--backend", "docker",
                     "--base", base_image)  # fmt: skip
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]  # after the progress lines
    assert line.startswith("error: module iota_no_such_module_anywhere (cell 1) is not installed")
    assert "nothing was pushed" in line and "\n" not in line


def build_with_cli(notebook: Path, target: ImageReference, base: str) -> dict[str, Any]:
    result = run_cli(
        "build", str(notebook), "-r", str(target), "--backend", "docker", "--base", base,
        "--json", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def served_layers(registry: RegistryServer, target: ImageReference, digest: str) -> list[str]:
    answer = requests.get(
        f"{registry.url}/v2/{target.repository}/manifests/{digest}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=30,
    )
    answer.raise_for_status()
    return [layer["digest"] for layer in answer.json()["layers"]]
