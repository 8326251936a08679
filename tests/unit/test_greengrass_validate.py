"""`greengrass validate` rules on recipes as people write them: the documentation's own
examples with their placeholders, and the mistakes a YAML loader hides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iota_container.greengrass.errors import RecipeInvalid
from iota_container.greengrass.validate import load_valid_recipe, validate_recipe_file

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
PRIVATE_ECR_EXAMPLE = """\
---
RecipeFormatVersion: '2020-01-25'
ComponentName: com.example.MyPrivateDockerComponent
ComponentVersion: '1.0.0'
ComponentDescription: 'A component that runs a Docker container from a private Amazon ECR image.'
ComponentPublisher: Amazon
ComponentDependencies:
  aws.greengrass.DockerApplicationManager:
    VersionRequirement: ~2.0.0
  aws.greengrass.TokenExchangeService:
    VersionRequirement: ~2.0.0
Manifests:
  - Platform:
      os: all
    Lifecycle:
        Run: docker run account-id.dkr.ecr.region.amazonaws.com/repository[:tag|@digest]
    Artifacts:
      - URI: "docker:account-id.dkr.ecr.region.amazonaws.com/repository[:tag|@digest]"
"""

COMPOSE_EXAMPLE = {
    "RecipeFormatVersion": "2020-01-25",
    "ComponentName": "com.example.MyDockerComposeComponent",
    "ComponentVersion": "1.0.0",
    "ComponentPublisher": "Amazon",
    "ComponentDependencies": {
        "aws.greengrass.DockerComponentManager": {"VersionRequirement": "~2.0.0"}
    },
    "Manifests": [
        {
            "Platform": {"os": "all"},
            "Lifecycle": {"Run": "docker-compose -f {artifacts:path}/docker-compose.yaml up"},
            "Artifacts": [
                {"URI": "docker:public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest"},
                {"URI": "docker:mysql:8.0"},
                {"URI": "s3://DOC-EXAMPLE-BUCKET/folder/docker-compose.yaml"},
            ],
        }
    ],
}

SEVERAL_FIELDS_EXAMPLE = {
    "RecipeFormatVersion": "2020-01-25",
    "ComponentName": "com.example.FooService",
    "ComponentPublisher": "Amazon",
    "ComponentVersion": "1.0.0",
    "Manifests": [
        {
            "Platform": {"os": "linux", "architecture": "amd64"},
            "Lifecycle": {
                "Install": {"Skipif": "onpath git", "Script": "sudo apt-get install git"}
            },
            "Artifacts": [
                {"URI": "s3://doc-example-bucket/hello_world.zip", "Unarchive": "ZIP"},
                {"URI": "s3//DOC-EXAMPLE-BUCKET/hello-world2.py"},
            ],
        },
        {
            "Lifecycle": {"Start": {"Skipif": "onpath git", "Script": "sudo apt-get install git"}},
            "Artifacts": [{"URI": "s3://doc-example-bucket/hello_world.py"}],
        },
    ],
}


def rules(path: Path) -> list[tuple[str, str]]:
    return [(problem.json_path, problem.rule) for problem in validate_recipe_file(path)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_placeholder_image_breaks_the_reference_grammar(tmp_path: Path) -> None:
    found = validate_recipe_file(write(tmp_path, "private.yaml", PRIVATE_ECR_EXAMPLE))
    assert [(p.json_path, p.rule) for p in found] == [
        ("$.Manifests[0].Artifacts[0].URI", "Docker reference grammar")
    ]
    assert "account-id.dkr.ecr.region.amazonaws.com/repository[:tag|@digest]" in found[0].message


def test_compose_example_misses_the_docker_application_manager(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.json", json.dumps(COMPOSE_EXAMPLE))
    found = validate_recipe_file(path)
    assert sorted({(p.json_path, p.rule) for p in found}) == [
        ("$.Manifests[0].Artifacts[0].URI", "docker artifacts need the Docker application manager"),
        ("$.Manifests[0].Artifacts[1].URI", "docker artifacts need the Docker application manager"),
        ("$.Manifests[0].Artifacts[2].URI", "S3 bucket name"),
    ]
    assert "'DOC-EXAMPLE-BUCKET'" in next(p.message for p in found if p.rule == "S3 bucket name")


def test_several_fields_example(tmp_path: Path) -> None:
    path = write(tmp_path, "foo.json", json.dumps(SEVERAL_FIELDS_EXAMPLE))
    assert rules(path) == [
        ("$.Manifests[0].Artifacts[1].URI", "artifact URI scheme"),
        ("$.Manifests[1].Lifecycle.Start", "lifecycle step"),
    ]


def test_unquoted_dates_and_versions_read_by_yaml(tmp_path: Path) -> None:
    text = PRIVATE_ECR_EXAMPLE.replace("'2020-01-25'", "2020-01-25").replace("'1.0.0'", "1.0")
    text = text.replace("repository[:tag|@digest]", "repository@sha256:" + "0" * 64)
    found = validate_recipe_file(write(tmp_path, "dates.yaml", text))
    assert [(p.json_path, p.rule) for p in found] == [
        ("$.RecipeFormatVersion", "RecipeFormatVersion is text"),
        ("$.ComponentVersion", "strict semantic version"),
    ]
    assert found[0].fix == "quote it: RecipeFormatVersion: '2020-01-25'"
    assert "ComponentVersion 1.0 is read as a float" in found[1].message


def valid_recipe(**changes: object) -> dict[str, object]:
    recipe: dict[str, object] = {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": "com.example.Hello",
        "ComponentVersion": "1.0.0",
        "ComponentDependencies": {
            "aws.greengrass.TokenExchangeService": {"VersionRequirement": "^2.0.0"}
        },
        "Manifests": [{"Lifecycle": {"Run": "echo {configuration:/Message}"}}],
    }
    recipe.update(changes)
    return recipe


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"ComponentVersion": "1.0.0-rc.1+build.5"}, []),
        ({"ComponentVersion": "1.0"}, [("$.ComponentVersion", "strict semantic version")]),
        ({"ComponentVersion": "1.02.0"}, [("$.ComponentVersion", "strict semantic version")]),
        (
            {"ComponentName": "com/example"},
            [("$.componentname", "recipe schema"), ("$.ComponentName", "component name")],
        ),
        (
            {"ComponentDependencies": {"x.Y": {"VersionRequirement": "two"}}},
            [("$.ComponentDependencies['x.Y'].VersionRequirement", "dependency version range")],
        ),
        ({"ComponentDependencies": {"x.Y": {"VersionRequirement": ">=1.0.0 <2.0.0 || 3.x"}}}, []),
        (
            {"Manifests": [{"Lifecycle": {"Startup": "a", "Run": "b"}}]},
            [("$.Manifests[0].Lifecycle", "Startup and Run are exclusive")],
        ),
        (
            {"Lifecycle": {"Startup": "a", "Run": "b"}},
            [("$.Lifecycle", "Startup and Run are exclusive")],
        ),
        (
            {"Manifests": [{"Lifecycle": {"Run": "echo {configuration:Message}"}}]},
            [("$.Manifests[0].Lifecycle.Run", "recipe variable")],
        ),
        (
            {
                "Manifests": [
                    {"Lifecycle": {"Run": "echo {aws.greengrass.StreamManager:configuration:/P}"}}
                ]
            },
            [("$.Manifests[0].Lifecycle.Run", "recipe variable")],
        ),
        (
            {
                "Manifests": [
                    {
                        "Artifacts": [
                            {"URI": "s3://bucket-a/x/app.py"},
                            {"URI": "s3://bucket-b/y/app.py"},
                        ]
                    }
                ]
            },
            [("$.Manifests[0].Artifacts[1].URI", "artifact file names are unique")],
        ),
        (
            {
                "Manifests": [{"Artifacts": [{"URI": f"docker:{ECR}/r@sha256:{'1' * 64}"}]}],
                "ComponentDependencies": {
                    "aws.greengrass.DockerApplicationManager": {"VersionRequirement": "~2.0.0"}
                },
            },
            [
                (
                    "$.Manifests[0].Artifacts[0].URI",
                    "private ECR images need the token exchange service",
                )
            ],
        ),
        (
            {"Manifests": [{"Artifacts": [{"URI": "https://example.com/app.py"}]}]},
            [("$.Manifests[0].Artifacts[0].URI", "artifact URI scheme")],
        ),
        (
            {"RecipeFormatVersion": "2021-01-01"},
            [("$.RecipeFormatVersion", "recipe format version")],
        ),
        ({"Unknown": 1}, [("$", "recipe schema")]),
    ],
)
def test_rules(tmp_path: Path, changes: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert rules(write(tmp_path, "recipe.json", json.dumps(valid_recipe(**changes)))) == expected


def test_keys_in_any_case_are_read_as_the_device_reads_them(tmp_path: Path) -> None:
    recipe = {k.lower(): v for k, v in valid_recipe().items()}
    assert rules(write(tmp_path, "lower.json", json.dumps(recipe))) == []


def test_large_and_unreadable_recipes(tmp_path: Path) -> None:
    big = valid_recipe(ComponentConfiguration={"DefaultConfiguration": {"Blob": "x" * 16_000}})
    assert rules(write(tmp_path, "big.json", json.dumps(big))) == [("$", "recipe size")]
    assert rules(write(tmp_path, "broken.yaml", "a: [")) == [("$", "recipe file")]
    assert rules(tmp_path / "missing.json") == [("$", "recipe file")]


def test_load_valid_recipe_refuses_with_the_first_problem_and_a_count(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", json.dumps(SEVERAL_FIELDS_EXAMPLE))
    with pytest.raises(RecipeInvalid) as raised:
        load_valid_recipe(path)
    message = str(raised.value)
    assert message.startswith(
        f"{path}: $.Manifests[0].Artifacts[1].URI: artifact URI scheme: artifact URI 's3//"
    )
    assert "(and 1 more)" in message
    assert "\n" not in message


# --- messages that name the fix --------------------------------------------------------------


def test_a_format_version_the_device_does_not_read_names_the_one_it_does(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", json.dumps(valid_recipe(RecipeFormatVersion="2021-01-01")))
    (problem,) = validate_recipe_file(path)
    assert problem.message == (
        "RecipeFormatVersion '2021-01-01' is not a format the device reads (it reads only "
        "'2020-01-25')"
    )
    assert problem.fix == "write RecipeFormatVersion: '2020-01-25'"
    recipe = valid_recipe()
    del recipe["RecipeFormatVersion"]
    (missing,) = validate_recipe_file(write(tmp_path, "m.json", json.dumps(recipe)))
    assert (missing.json_path, missing.fix) == ("$", "add RecipeFormatVersion: '2020-01-25'")


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "a str"), ("", "empty")]
)
def test_a_recipe_that_is_not_an_object_says_what_to_write(
    tmp_path: Path, text: str, kind: str
) -> None:
    (problem,) = validate_recipe_file(write(tmp_path, "r.yaml", text))
    assert problem.message == f"the recipe is {kind}, not an object"
    assert problem.fix.startswith("write one mapping with RecipeFormatVersion, ComponentName")


def test_every_schema_finding_has_a_fix(tmp_path: Path) -> None:
    recipe = valid_recipe(Unknown=1, ComponentName=5)
    found = validate_recipe_file(write(tmp_path, "r.json", json.dumps(recipe)))
    schema = [problem for problem in found if problem.rule == "recipe schema"]
    assert len(schema) == 2 and all(problem.fix for problem in schema), found


# --- bucket names: the device downloads from any bucket ----------------------------------------


def artifact_recipe(uri: str) -> dict[str, object]:
    return valid_recipe(Manifests=[{"Artifacts": [{"URI": uri}], "Lifecycle": {"Run": "x"}}])


@pytest.mark.parametrize(
    ("bucket", "why"),
    [
        ("DOC-EXAMPLE-BUCKET", "which looks like a placeholder"),
        ("<your-bucket>", "which looks like a placeholder"),
        ("${ArtifactBucket}", "which looks like a placeholder"),
        ("BUCKET", "which looks like a placeholder"),
        ("Plant7_Artifacts", "which only a legacy bucket (us-east-1, before March 2018)"),
        ("my bucket", "which S3 does not allow"),
    ],
)
def test_a_doubtful_bucket_is_a_warning_not_a_rejection(
    tmp_path: Path, bucket: str, why: str
) -> None:
    path = write(tmp_path, "r.json", json.dumps(artifact_recipe(f"s3://{bucket}/app/app.py")))
    (problem,) = validate_recipe_file(path)
    assert (problem.rule, problem.severity) == ("S3 bucket name", "warning")
    assert why in problem.message
    recipe, _ = load_valid_recipe(path)  # a warning does not stop publishing or deploying
    assert recipe["ComponentName"] == "com.example.Hello"


def test_an_s3_uri_without_bucket_or_key_is_still_an_error(tmp_path: Path) -> None:
    for uri in ("s3:///app.py", "s3://bucket-only", "s3:/bucket/app.py"):
        path = write(tmp_path, "r.json", json.dumps(artifact_recipe(uri)))
        (problem,) = validate_recipe_file(path)
        assert (problem.rule, problem.severity) == ("S3 artifact URI", "error"), uri


# --- bounded reading -------------------------------------------------------------------------


def test_a_huge_recipe_is_refused_after_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # 106 MB, written without holding it in memory
        handle.truncate(106 * 1_000_000)
    (problem,) = validate_recipe_file(path)
    assert problem.rule == "recipe file"
    assert problem.message == (
        f"recipe {str(path)!r} is larger than 1 MiB: that is not a recipe; check the path"
    )


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = "RecipeFormatVersion: '2020-01-25'\n" + "\n".join(lines) + "\n"
    (problem,) = validate_recipe_file(write(tmp_path, "bomb.yaml", text))
    assert problem.rule == "recipe file"
    assert "expands to more than 100,000 values (YAML aliases)" in problem.message


@pytest.mark.parametrize(
    ("name", "text"),
    [("deep.json", "[" * 100_000 + "]" * 100_000), ("deep.yaml", "[" * 5_000 + "]" * 5_000)],
)
def test_deep_nesting_is_one_finding_not_a_recursion_error(
    tmp_path: Path, name: str, text: str
) -> None:
    (problem,) = validate_recipe_file(write(tmp_path, name, text))
    assert problem.rule == "recipe file"
    assert "is nested deeper than 64 levels: flatten it" in problem.message
