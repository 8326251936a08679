"""A component recipe that runs an analysis image on a Greengrass core device.

`RecipeSpec` checks everything in its constructor, so a recipe is only ever built from
input the device accepts; `build_recipe` turns it into the recipe document and
`dump_recipe` into JSON or YAML text.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iota_container.greengrass.errors import GreengrassError
from iota_container.greengrass.identity import (
    PUBLIC_COMPONENT_PREFIX,
    component_name_problem,
    component_version_problem,
)
from iota_container.greengrass.lifecycle import (
    INTERVAL_KEY,
    PARAMS_KEY,
    STREAM_MANAGER,
    ContainerOptions,
    load_script,
    recover_script,
    run_script,
    stop_script,
)
from iota_container.image.reference import (
    DOCKER_HUB,
    ImageReference,
    is_ecr_registry,
    parse_reference,
)
from iota_container.params_file import parse_params
from iota_container.storage.uri import OutputUri, parse_output_uri

RECIPE_FORMAT_VERSION = "2020-01-25"
DOCKER_APPLICATION_MANAGER = "aws.greengrass.DockerApplicationManager"
TOKEN_EXCHANGE_SERVICE = "aws.greengrass.TokenExchangeService"
FORMATS = ("yaml", "json")
_IMAGE_ID_PREFIX = "sha256:"


@dataclass(frozen=True)
class RecipeSpec:
    """Everything a recipe says; checked as it is made.

    `image_archive_uri` (with `image_id`, the ID `docker load` gives the image) ships the
    image as a `docker save` tarball in S3, for devices that cannot reach a registry.
    """

    image: ImageReference
    component_name: str
    component_version: str
    params: Mapping[str, Any]
    interval_seconds: int | None = None
    ipc: bool = False
    stream_manager: bool = False
    image_archive_uri: str | None = None
    image_id: str | None = None
    env: Sequence[tuple[str, str | None]] = ()
    publisher: str = "iota-container"
    description: str | None = None
    outputs: tuple[OutputUri, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        for problem in (
            component_name_problem(self.component_name),
            component_version_problem(self.component_version),
        ):
            if problem:
                raise GreengrassError(f"{problem}: the device would refuse the component")
        if self.component_name.lower().startswith(PUBLIC_COMPONENT_PREFIX):
            raise GreengrassError(
                f"component name {self.component_name!r} starts with {PUBLIC_COMPONENT_PREFIX!r}, "
                "the prefix of AWS-provided components it would replace: choose your own prefix"
            )
        if not self.image.digest:
            raise GreengrassError(
                f"image reference {str(self.image)!r} has no digest: a device would run whatever "
                "the tag names when it installs; give REPO@sha256:... (`iota-container build` "
                "prints it)"
            )
        if self.interval_seconds is not None and self.interval_seconds < 1:
            raise GreengrassError(
                f"interval {self.interval_seconds!r} is not a whole number of seconds >= 1"
            )
        self._check_archive()
        parse_params(self.params, source="the recipe's params")
        object.__setattr__(self, "outputs", tuple(output_uris(self.params)))

    def _check_archive(self) -> None:
        if (self.image_archive_uri is None) != (self.image_id is None):
            raise GreengrassError(
                "an image shipped through S3 needs both its archive URI and its image ID"
            )
        if self.image_archive_uri is None:
            return
        uri = self.image_archive_uri
        if not uri.startswith("s3://") or not uri.endswith(".tar") or uri.count("/") < 3:
            raise GreengrassError(
                f"image archive URI {self.image_archive_uri!r} is not an s3:// URI of a .tar "
                "file: write s3://BUCKET/path/image.tar"
            )
        assert self.image_id is not None
        if not self.image_id.startswith(_IMAGE_ID_PREFIX):
            raise GreengrassError(f"image ID {self.image_id!r} is not sha256:<hex>")

    @property
    def private_ecr(self) -> bool:
        return self.image_archive_uri is None and is_ecr_registry(self.image.registry)

    @property
    def uploads_to_s3(self) -> bool:
        return any(output.scheme == "s3" for output in self.outputs)

    @property
    def token_exchange(self) -> bool:
        return self.private_ecr or self.uploads_to_s3

    @property
    def container_name(self) -> str:
        return f"iota-{self.component_name}"

    @property
    def archive_name(self) -> str | None:
        if self.image_archive_uri is None:
            return None
        return posixpath.basename(parse_output_uri(self.image_archive_uri).key)

    def run_reference(self) -> str:
        """What `docker run` names: the digest-pinned reference, or the loaded image's ID
        (`docker load` keeps no registry digest, so a tarball's image is run by its ID)."""
        if self.image_id is not None:
            return self.image_id
        return docker_reference(self.image)

    def container_options(self) -> ContainerOptions:
        file_dirs = sorted(
            {str(output.path.parent) for output in self.outputs if output.path is not None}
        )
        return ContainerOptions(
            image=self.run_reference(),
            container_name=self.container_name,
            token_exchange=self.token_exchange,
            ipc=self.ipc,
            stream_manager=self.stream_manager,
            env=tuple(self.env),
            output_dirs=tuple(file_dirs),
        )


def parse_pinned_image(text: str) -> ImageReference:
    """An image reference that names its bytes: `[REGISTRY/]REPO[:TAG]@sha256:...`."""
    image = parse_reference(text, default_tag=None)
    if not image.digest:
        raise GreengrassError(
            f"image reference {text!r} has no digest: a device would run whatever the tag "
            "names when it installs; give REPO@sha256:... (`iota-container build` prints it)"
        )
    return image


def docker_reference(image: ImageReference) -> str:
    """`REGISTRY/REPO@sha256:...`; Docker Hub images by their short name, as Greengrass
    writes them (`docker:name@digest`)."""
    assert image.digest
    if image.registry == DOCKER_HUB:
        return f"{image.repository.removeprefix('library/')}@{image.digest}"
    return image.pinned()


def output_uris(params: Mapping[str, Any]) -> list[OutputUri]:
    """Every output the run may write: Context.OutputUris, and the Variables holding a URI."""
    candidates = list(params["Context"]["OutputUris"].values())
    candidates += [value for value in params["Variables"].values() if isinstance(value, str)]
    return [
        parse_output_uri(value)
        for value in candidates
        if isinstance(value, str) and value.startswith(("s3://", "file://"))
    ]


def dependencies(spec: RecipeSpec) -> dict[str, dict[str, str]]:
    needed: dict[str, dict[str, str]] = {}
    if spec.image_archive_uri is None:
        needed[DOCKER_APPLICATION_MANAGER] = {"VersionRequirement": "~2.0.0"}
    if spec.token_exchange:
        needed[TOKEN_EXCHANGE_SERVICE] = {"VersionRequirement": "~2.0.0"}
    if spec.stream_manager:
        needed[STREAM_MANAGER] = {"VersionRequirement": "^2.0.0"}
    return needed


def build_recipe(spec: RecipeSpec) -> dict[str, Any]:
    """The recipe document, keys in the order the documentation writes them."""
    configuration: dict[str, Any] = {PARAMS_KEY: dict(spec.params)}
    if spec.interval_seconds is not None:
        # A string: the service may turn JSON numbers into floats (3600 into 3600.0).
        configuration[INTERVAL_KEY] = str(spec.interval_seconds)
    options = spec.container_options()
    lifecycle: dict[str, Any] = {}
    artifacts: list[dict[str, str]]
    if spec.archive_name is not None:
        lifecycle["Install"] = {"Script": load_script(spec.archive_name), "Timeout": 900}
        artifacts = [{"URI": str(spec.image_archive_uri)}]
    else:
        artifacts = [{"URI": f"docker:{docker_reference(spec.image)}"}]
    lifecycle["Run"] = {"Script": run_script(options, interval=spec.interval_seconds is not None)}
    lifecycle["Shutdown"] = {"Script": stop_script(spec.container_name), "Timeout": 30}
    lifecycle["Recover"] = {"Script": recover_script(spec.container_name)}
    how_often = (
        f"every {spec.interval_seconds} s" if spec.interval_seconds else "once per deployment"
    )
    return {
        "RecipeFormatVersion": RECIPE_FORMAT_VERSION,
        "ComponentName": spec.component_name,
        "ComponentVersion": spec.component_version,
        "ComponentDescription": spec.description
        or f"Runs the analysis image {docker_reference(spec.image)} {how_often}.",
        "ComponentPublisher": spec.publisher,
        "ComponentDependencies": dependencies(spec),
        "ComponentConfiguration": {"DefaultConfiguration": configuration},
        "Manifests": [
            {"Platform": {"os": "linux"}, "Lifecycle": lifecycle, "Artifacts": artifacts}
        ],
    }


def dump_recipe(recipe: Mapping[str, Any], fmt: str) -> str:
    """Recipe text: JSON, or YAML with scripts as literal blocks and dates quoted."""
    if fmt == "json":
        return json.dumps(recipe, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise GreengrassError(f"recipe format {fmt!r} is not one of {', '.join(FORMATS)}")
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    text: str = yaml.dump(
        dict(recipe), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096
    )
    return "---\n" + text
