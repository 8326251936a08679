"""Greengrass recipes: every option combination passes the recipe schema and the device's
rules, in both formats; bad input is refused with one line naming the value and the rule."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from iota_container.greengrass.errors import GreengrassError
from iota_container.greengrass.policy import device_role_policy
from iota_container.greengrass.recipe import RecipeSpec, build_recipe, dump_recipe
from iota_container.greengrass.validate import recipe_problems
from iota_container.image.reference import ImageReferenceError, parse_reference
from iota_container.params_file import ParamsError, template_params
from tests.servers import require

DIGEST = "sha256:" + "ab" * 32
IMAGE_ID = "sha256:" + "cd" * 32
IMAGES = {
    "private-ecr": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/analysis/report@{DIGEST}",
    "public-ecr": f"public.ecr.aws/iota/report@{DIGEST}",
    "docker-hub": f"report@{DIGEST}",
    "own-registry": f"registry.example.com:5000/team/report@{DIGEST}",
}
OUTPUTS = {"s3": "s3://bucket/edge/@RUN_ID@", "file": "file:///var/lib/iota/outputs"}
SCHEMA_ORACLE = Path(__file__).resolve().parents[3] / "shared/oracles/greengrass/recipe_schema.json"


def spec(
    image: str = IMAGES["own-registry"],
    output: str = OUTPUTS["s3"],
    source: str = "registry",
    **options: Any,
) -> RecipeSpec:
    archive = {"image_archive_uri": "s3://artifacts/img/report.tar", "image_id": IMAGE_ID}
    return RecipeSpec(
        image=parse_reference(image, default_tag=None),
        component_name=options.pop("component_name", "com.example.Report"),
        component_version=options.pop("component_version", "1.0.0"),
        params=template_params(output, {"threshold": 27.5, "site": "lab"}),
        **(archive if source == "s3" else {}),
        **options,
    )


COMBINATIONS = list(
    itertools.product(
        IMAGES, ("registry", "s3"), (None, 300), (False, True), (False, True), OUTPUTS
    )
)


@pytest.mark.parametrize(("image", "source", "interval", "ipc", "stream", "output"), COMBINATIONS)
def test_every_combination_passes_schema_and_device_rules(
    image: str, source: str, interval: int | None, ipc: bool, stream: bool, output: str
) -> None:
    made = spec(
        IMAGES[image], OUTPUTS[output], source, interval_seconds=interval, ipc=ipc,
        stream_manager=stream, env=[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"), ("TZ", None)],
    )  # fmt: skip
    recipe = build_recipe(made)
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        text = dump_recipe(recipe, fmt)
        assert recipe_problems(load(text), f"recipe.{fmt}", size=len(text.encode())) == []
        assert load(text) == recipe
    dependencies = set(recipe["ComponentDependencies"])
    expected = set()
    if source == "registry":
        expected.add("aws.greengrass.DockerApplicationManager")
    if (source == "registry" and image == "private-ecr") or output == "s3":
        expected.add("aws.greengrass.TokenExchangeService")
    if stream:
        expected.add("aws.greengrass.StreamManager")
    assert dependencies == expected
    run = recipe["Manifests"][0]["Lifecycle"]["Run"]["Script"]
    assert "docker run --rm --name iota-com.example.Report" in run
    assert ("-e AWS_CONTAINER_CREDENTIALS_FULL_URI" in run) == (
        "aws.greengrass.TokenExchangeService" in dependencies
    )
    assert ("-e SVCUID" in run) == ipc
    assert ("{configuration:/RunIntervalSeconds}" in run) == (interval is not None)


def test_registry_recipe_shape() -> None:
    recipe = build_recipe(spec(IMAGES["private-ecr"]))
    assert recipe["RecipeFormatVersion"] == "2020-01-25"
    assert recipe["ComponentDependencies"] == {
        "aws.greengrass.DockerApplicationManager": {"VersionRequirement": "~2.0.0"},
        "aws.greengrass.TokenExchangeService": {"VersionRequirement": "~2.0.0"},
    }
    manifest = recipe["Manifests"][0]
    assert manifest["Artifacts"] == [{"URI": f"docker:{IMAGES['private-ecr']}"}]
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    assert defaults["Params"]["Variables"] == {"threshold": 27.5, "site": "lab"}
    run = manifest["Lifecycle"]["Run"]["Script"]
    assert "--network=host" in run
    assert "-e AWS_CONTAINER_AUTHORIZATION_TOKEN" in run
    assert '-v "$params:/opt/ml/input/data/iotanalytics/params:ro"' in run
    assert "\n{configuration:/Params}\nIOTA_PARAMS_JSON\n" in run  # quoted here-document
    assert run.rstrip().endswith(IMAGES["private-ecr"])
    lifecycle = manifest["Lifecycle"]
    assert "docker stop" in lifecycle["Shutdown"]["Script"]
    assert "docker rm -f iota-com.example.Report" in lifecycle["Recover"]["Script"]
    assert "Install" not in lifecycle


def test_s3_tarball_recipe_loads_and_runs_by_image_id() -> None:
    recipe = build_recipe(spec(source="s3"))
    manifest = recipe["Manifests"][0]
    assert manifest["Artifacts"] == [{"URI": "s3://artifacts/img/report.tar"}]
    assert manifest["Lifecycle"]["Install"]["Script"] == (
        "docker load -i {artifacts:path}/report.tar"
    )
    assert manifest["Lifecycle"]["Run"]["Script"].rstrip().endswith(IMAGE_ID)
    assert "aws.greengrass.DockerApplicationManager" not in recipe["ComponentDependencies"]


def test_docker_hub_images_use_the_short_name() -> None:
    recipe = build_recipe(spec(f"library/report@{DIGEST}"))
    assert recipe["Manifests"][0]["Artifacts"] == [{"URI": f"docker:report@{DIGEST}"}]


def test_yaml_quotes_the_format_version_and_keeps_scripts_readable() -> None:
    text = dump_recipe(build_recipe(spec(interval_seconds=60)), "yaml")
    assert "RecipeFormatVersion: '2020-01-25'" in text
    assert "RunIntervalSeconds: '60'" in text
    assert "Script: |" in text


def test_file_outputs_are_mounted_and_need_no_credentials() -> None:
    recipe = build_recipe(spec(output=OUTPUTS["file"]))
    run = recipe["Manifests"][0]["Lifecycle"]["Run"]["Script"]
    assert "-v /var/lib/iota/outputs:/var/lib/iota/outputs" in run
    assert "--network=host" not in run
    assert device_role_policy(spec(output=OUTPUTS["file"])) is None


def test_policy_for_private_ecr_outputs_and_tarballs() -> None:
    policy = device_role_policy(spec(IMAGES["private-ecr"]))
    assert policy is not None
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["PullAnalysisImage"]["Resource"] == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/analysis/report"
    ]
    assert statements["GetEcrAuthorizationToken"]["Resource"] == ["*"]
    assert statements["WriteAnalysisOutputs"]["Action"] == ["s3:PutObject", "s3:PutObjectAcl"]
    assert statements["WriteAnalysisOutputs"]["Resource"] == ["arn:aws:s3:::bucket/edge/*"]
    tarball = device_role_policy(spec(source="s3"))
    assert tarball is not None
    sids = [s["Sid"] for s in tarball["Statement"]]
    assert sids == ["WriteAnalysisOutputs", "GetImageArchive"]
    assert tarball["Statement"][1] == {
        "Sid": "GetImageArchive",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::artifacts/img/report.tar"],
    }
    china = device_role_policy(spec(f"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/r@{DIGEST}"))
    assert china is not None
    assert china["Statement"][0]["Resource"][0].startswith("arn:aws-cn:ecr:cn-north-1:")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"component_name": "com example"}, "component name 'com example' has characters"),
        ({"component_name": "x" * 129}, "is longer than 128 characters"),
        ({"component_name": "aws.greengrass.Mine"}, "the prefix of AWS-provided components"),
        ({"component_version": "1.0"}, "component version '1.0' is not a strict semantic"),
        ({"component_version": "01.0.0"}, "component version '01.0.0' is not a strict semantic"),
        ({"component_version": "1.0.0.0"}, "'1.0.0.0' is not a strict semantic version"),
        ({"component_version": "v1.0.0"}, "'v1.0.0' is not a strict semantic version"),
        ({"interval_seconds": 0}, "interval 0 is not a whole number of seconds >= 1"),
        (
            {"image_archive_uri": "https://x/y.tar", "image_id": IMAGE_ID},
            "image archive URI 'https://x/y.tar' is not an s3:// URI of a .tar file",
        ),
        (
            {"image_archive_uri": "s3://b/image.tgz", "image_id": IMAGE_ID},
            "image archive URI 's3://b/image.tgz' is not an s3:// URI of a .tar file",
        ),
        ({"image_archive_uri": "s3://b/image.tar"}, "needs both its archive URI and its image ID"),
    ],
)
def test_bad_input_is_one_line_naming_value_and_rule(options: dict[str, Any], message: str) -> None:
    with pytest.raises(GreengrassError) as raised:
        spec(**options)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_image_without_digest_is_refused() -> None:
    with pytest.raises(GreengrassError, match=r"image reference '.*report:v1' has no digest"):
        spec("registry.example.com/team/report:v1")


def test_image_reference_grammar_is_checked() -> None:
    with pytest.raises(ImageReferenceError, match="repository part 'Report' is invalid"):
        spec(f"registry.example.com/Report@{DIGEST}")


def test_params_that_break_the_contract_are_refused() -> None:
    with pytest.raises(ParamsError, match=r"Context\.OutputUris has no 'html'"):
        RecipeSpec(
            image=parse_reference(IMAGES["own-registry"]),
            component_name="com.example.Report",
            component_version="1.0.0",
            params={"Context": {"OutputUris": {"ipynb": "s3://b/k.ipynb"}}, "Variables": {}},
        )


def test_embedded_schema_is_the_development_kits() -> None:
    """The package ships the GDK schema without its annotation keywords; every validation
    keyword must be the oracle's."""
    require(
        SCHEMA_ORACLE.is_file(),
        f"the recipe schema oracle {SCHEMA_ORACLE} is missing: the shared oracles folder "
        "should hold the Greengrass Development Kit's recipe_schema.json",
    )
    from iota_container.greengrass.recipe_schema import RECIPE_SCHEMA

    def strip(node: Any, names: bool = False) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v, not names and k in ("properties", "patternProperties", "definitions"))
                for k, v in node.items()
                if names or k not in ("title", "description", "default", "examples")
            }
        return [strip(item) for item in node] if isinstance(node, list) else node

    assert strip(json.loads(SCHEMA_ORACLE.read_text())) == RECIPE_SCHEMA
