"""`iota-container greengrass` as its own process: recipe, validate, local-deploy and
compose from the command line, and the one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from iota_container.params_file import template_params, write_params
from tests.support import run_cli

pytestmark = pytest.mark.integration

IMAGE = "registry.example.com:5000/team/report@sha256:" + "ab" * 32
ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/report@sha256:" + "ab" * 32
NAME = ("--component-name", "com.example.Report", "--component-version", "1.2.3")


def test_recipe_json_output_validate_and_local_deploy(tmp_path: Path) -> None:
    recipe = tmp_path / "report.yaml"
    made = run_cli(
        "greengrass", "recipe", ECR_IMAGE, *NAME, "--output-root", "s3://bucket/edge",
        "--var", "threshold=27.5", "--var", 'sites=["a","b"]', "-o", str(recipe), "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["recipeFile"] == str(recipe)
    assert result["format"] == "yaml"
    assert [s["Sid"] for s in result["policy"]["Statement"]] == [
        "PullAnalysisImage",
        "GetEcrAuthorizationToken",
        "WriteAnalysisOutputs",
    ]
    document = yaml.safe_load(recipe.read_text())
    assert document == result["recipe"]
    variables = document["ComponentConfiguration"]["DefaultConfiguration"]["Params"]["Variables"]
    assert variables == {"threshold": 27.5, "sites": ["a", "b"]}

    checked = run_cli("greengrass", "validate", str(recipe), "--json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout) == {"valid": True, "problems": []}

    out = tmp_path / "deploy"
    laid = run_cli("greengrass", "local-deploy", str(recipe), "--out", str(out))
    assert laid.returncode == 0, laid.stderr
    assert (out / "recipes" / "com.example.Report-1.2.3.yaml").read_bytes() == recipe.read_bytes()
    assert laid.stdout.strip() == (
        f"sudo /greengrass/v2/bin/greengrass-cli deployment create --recipeDir {out}/recipes "
        f"--artifactDir {out}/artifacts --merge com.example.Report=1.2.3"
    )


def test_recipe_to_stdout_with_the_policy_beside_it(tmp_path: Path) -> None:
    params = write_params(template_params("s3://bucket/runs"), tmp_path / "params.json")
    made = run_cli(
        "greengrass", "recipe", IMAGE, *NAME, "--params", str(params), "--format", "json"
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["ComponentName"] == "com.example.Report"
    policy = json.loads(made.stderr.split("device role policy:\n", 1)[1])
    assert policy["Statement"][0]["Resource"] == ["arn:aws:s3:::bucket/runs/*"]


def test_local_deploy_copies_the_s3_artifact(tmp_path: Path) -> None:
    recipe = tmp_path / "report.json"
    recipe.write_text(
        json.dumps(
            {
                "RecipeFormatVersion": "2020-01-25",
                "ComponentName": "com.example.Tar",
                "ComponentVersion": "1.0.0",
                "Manifests": [
                    {
                        "Lifecycle": {"Install": "docker load -i {artifacts:path}/image.tar"},
                        "Artifacts": [{"URI": "s3://artifacts-bucket/images/image.tar"}],
                    }
                ],
            }
        )
    )
    tarball = tmp_path / "image.tar"
    tarball.write_bytes(b"tar bytes")
    missing = run_cli("greengrass", "local-deploy", str(recipe), "--out", str(tmp_path / "a"))
    assert missing.returncode == 2
    assert missing.stderr == (
        "error: the recipe's artifact 'image.tar' has no local file: "
        "pass it with --artifact PATH/image.tar\n"
    )
    laid = run_cli(
        "greengrass", "local-deploy", str(recipe), "--out", str(tmp_path / "b"),
        "--artifact", str(tarball), "--json",
    )  # fmt: skip
    assert laid.returncode == 0, laid.stderr
    copied = tmp_path / "b" / "artifacts" / "com.example.Tar" / "1.0.0" / "image.tar"
    assert copied.read_bytes() == b"tar bytes"
    assert json.loads(laid.stdout)["artifacts"] == [str(copied)]


def test_validate_reports_each_problem_with_its_rule(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    made = run_cli(
        "greengrass", "recipe", IMAGE, *NAME, "--output-root", "s3://b1b/x", "-o", str(good)
    )
    assert made.returncode == 0, made.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "RecipeFormatVersion: 2020-01-25\nComponentName: com.example.Bad\nComponentVersion: '1.0'\n"
        "Manifests:\n  - Lifecycle:\n      Startup: a\n      Run: b\n"
    )
    checked = run_cli("greengrass", "validate", str(good), str(bad))
    assert checked.returncode == 2
    assert checked.stdout.splitlines() == [
        f"{bad}: $.RecipeFormatVersion: RecipeFormatVersion is text: RecipeFormatVersion "
        "2020-01-25 is read as a date, not the text '2020-01-25': "
        "quote it: RecipeFormatVersion: '2020-01-25'",
        f"{bad}: $.ComponentVersion: strict semantic version: component version '1.0' is not a "
        "strict semantic version: write MAJOR.MINOR.PATCH without leading zeros, e.g. 1.0.0",
        f"{bad}: $.Manifests[0].Lifecycle: Startup and Run are exclusive: the lifecycle defines "
        "both Startup and Run: keep Startup for a background process, or Run for a process the "
        "component is",
        f"{good}: valid",
    ]


def test_validate_warns_of_a_doubtful_bucket_and_passes(tmp_path: Path) -> None:
    recipe = tmp_path / "legacy.json"
    made = run_cli(
        "greengrass", "recipe", IMAGE, *NAME, "--output-root", "s3://b1b/x", "-o", str(recipe)
    )
    assert made.returncode == 0, made.stderr
    document = json.loads(recipe.read_text())
    document["Manifests"][0]["Artifacts"] = [{"URI": "s3://Legacy_Artifacts/app.tar"}]
    recipe.write_text(json.dumps(document))
    checked = run_cli("greengrass", "validate", str(recipe))
    assert checked.returncode == 0, checked.stdout
    warning, valid = checked.stdout.splitlines()
    assert warning.startswith(f"warning: {recipe}: $.Manifests[0].Artifacts[0].URI: S3 bucket ")
    assert "'Legacy_Artifacts', which only a legacy bucket" in warning
    assert valid == f"{recipe}: valid"
    as_json = json.loads(run_cli("greengrass", "validate", str(recipe), "--json").stdout)
    assert as_json["valid"] is True
    assert [p["severity"] for p in as_json["problems"]] == ["warning"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("x:v1", *NAME, "--output-root", "s3://b1b/x"),
            "error: image reference 'x:v1' has no digest",
        ),
        (
            ("Report@sha256:" + "ab" * 32, *NAME, "--output-root", "s3://b1b/x"),
            "error: image reference 'Report@sha256:",
        ),
        (
            (IMAGE, "--component-name", "com example", "--component-version", "1.0.0",
             "--output-root", "s3://b1b/x"),
            "error: component name 'com example' has characters outside letters",
        ),
        (
            (IMAGE, "--component-name", "com.example.R", "--component-version", "1.0",
             "--output-root", "s3://b1b/x"),
            "error: component version '1.0' is not a strict semantic version",
        ),
        ((IMAGE, *NAME), "error: the runs need params: give --params FILE, or --output-root"),
        (
            (IMAGE, *NAME, "--params", "p.json", "--var", "a=1"),
            "error: --params cannot be combined with --output-root, --var or --analysis",
        ),
        (
            (IMAGE, *NAME, "--output-root", "s3://b1b/x", "--image-archive-uri", "s3://b/i.tar"),
            "error: --image-archive-uri, --save-image and --upload-image go with --image-source s3",
        ),
        (
            (IMAGE, *NAME, "--output-root", "s3://b1b/x", "--image-source", "s3"),
            "error: --image-source s3 needs --image-archive-uri s3://BUCKET/KEY.tar",
        ),
        (
            (IMAGE, *NAME, "--output-root", "s3://b1b/x", "--image-source", "s3",
             "--image-archive-uri", "s3://b/i.tar", "--upload-image"),
            "error: --upload-image needs --save-image FILE",
        ),
        (
            (IMAGE, *NAME, "--output-root", "s3://b1b/x", "--format", "json", "-o", "r.yaml"),
            "error: --format json does not match the file name 'r.yaml'",
        ),
        (
            (IMAGE, *NAME, "--output-root", "s3://b1b/x", "--interval", "0"),
            "error: interval 0 is not a whole number of seconds >= 1",
        ),
        (
            (IMAGE, *NAME, "--output-root", "ftp://b/x"),
            "error: Context.OutputUris.ipynb in <template> 'ftp://b/x/output.ipynb' is neither",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(arguments: tuple[str, ...], message: str, tmp_path: Path) -> None:
    made = run_cli("greengrass", "recipe", *arguments, cwd=tmp_path)
    assert made.returncode == 2, made.stdout
    assert made.stderr.startswith(message), made.stderr
    assert made.stderr.count("\n") == 1


def test_params_file_that_fails_validation(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(
        json.dumps({"Context": {"OutputUris": {"ipynb": "s3://b/x"}}, "Variables": {}})
    )
    made = run_cli("greengrass", "recipe", IMAGE, *NAME, "--params", str(params))
    assert made.returncode == 2
    assert made.stderr == (
        f"error: params file '{params}': Context.OutputUris has no 'html': add the URI the "
        "executed HTML report goes to\n"
    )


def test_compose_and_connector_parameters(tmp_path: Path) -> None:
    compose_file = tmp_path / "docker-compose.yml"
    made = run_cli(
        "greengrass", "compose", IMAGE, "--output-root", "s3://bucket/v1", "--var", "n=3",
        "--s3-bucket", "compose-files", "--s3-key", "edge/docker-compose.yml",
        "--destination-path", "/home/ggc/compose", "--force-deploy", "--no-pull-before-up",
        "--region", "eu-west-1", "-o", str(compose_file),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    connector = json.loads(made.stdout)
    assert connector == {
        "Id": "IotaAnalysisDeployment",
        "ConnectorArn": "arn:aws:greengrass:eu-west-1::/connectors/"
        "DockerApplicationDeployment/versions/7",
        "Parameters": {
            "DockerComposeFileS3Bucket": "compose-files",
            "DockerComposeFileS3Key": "edge/docker-compose.yml",
            "DockerComposeFileDestinationPath": "/home/ggc/compose",
            "ForceDeploy": "True",
            "DockerPullBeforeUp": "False",
        },
    }
    service = yaml.safe_load(compose_file.read_text())["services"]["analysis"]
    assert json.loads(service["environment"]["IOTA_PARAMS_JSON"])["Variables"] == {"n": 3}

    refused = run_cli(
        "greengrass", "compose", IMAGE, "--output-root", "s3://bucket/v1", "--s3-bucket", "x",
        "--s3-key", "k", "--destination-path", "relative/path",
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: connector parameter DockerComposeFileS3Bucket='x' does not match its pattern "
        "[a-zA-Z0-9\\-\\.]{3,63}\n"
    )
