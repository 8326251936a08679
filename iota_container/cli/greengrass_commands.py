"""`greengrass`: run an analysis image on AWS IoT Greengrass core devices."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from iota_container.cli.common import IotaGroup, json_option, print_json
from iota_container.cli.run_commands import _parse_var
from iota_container.greengrass.errors import GreengrassError

F = TypeVar("F", bound=Callable[..., Any])


@click.group(cls=IotaGroup, short_help="Run an analysis image on AWS IoT Greengrass core devices.")
def greengrass() -> None:
    """Run an analysis image on AWS IoT Greengrass core devices (v2 components, v1 connector)."""


def _parse_env(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> list[Any]:
    pairs: list[tuple[str, str | None]] = []
    for item in values:
        name, sep, text = item.partition("=")
        if not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise click.BadParameter(f"{item!r} is not NAME or NAME=VALUE")
        pairs.append((name, text if sep else None))
    return pairs


def params_options(command: F) -> F:
    """Where a run's params come from: a params file, or an output root and variables."""
    for option in reversed(
        [
            click.option(
                "--params",
                "params_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="A params file (see `params init`) for the runs.",
            ),
            click.option(
                "--output-root", help="s3://BUCKET/PREFIX (or file:///DIR) for the outputs."
            ),
            click.option(
                "--var",
                "variables",
                multiple=True,
                callback=_parse_var,
                metavar="NAME=VALUE",
                help="A variable; VALUE is read as JSON when it parses, else as a string.",
            ),
            click.option("--analysis", help="Notebook path inside the image (Context.Analysis)."),
            click.option(
                "--env",
                "env",
                multiple=True,
                callback=_parse_env,
                metavar="NAME[=VALUE]",
                help="Extra container environment: NAME=VALUE, or NAME to pass the device's.",
            ),
        ]
    ):
        command = option(command)
    return command


def resolve_params(
    params_file: Path | None,
    output_root: str | None,
    variables: dict[str, Any],
    analysis: str | None,
) -> dict[str, Any]:
    from iota_container.params_file import load_params, template_params

    if params_file is not None:
        if output_root or variables or analysis:
            raise GreengrassError(
                "--params cannot be combined with --output-root, --var or --analysis: "
                "give a params file, or build one from those options"
            )
        return dict(load_params(params_file).raw)
    if not output_root:
        raise GreengrassError(
            "the runs need params: give --params FILE, or --output-root s3://BUCKET/PREFIX "
            "(with --var NAME=VALUE for the variables)"
        )
    return template_params(output_root, variables, analysis)


def _parse_image(reference: str) -> Any:
    from iota_container.greengrass.recipe import parse_pinned_image

    return parse_pinned_image(reference)


def _file_or_none(output: str | None) -> str | None:
    return None if output in (None, "-") else output


def _emit(
    text: str,
    output: str | None,
    result: dict[str, Any],
    beside: tuple[str, str, Any],
    beside_out: Path | None,
    json_output: bool,
) -> None:
    """Write `text` to `output` (default stdout), and the document that goes beside it
    (policy, connector) to `beside_out`, else to stdout, else (stdout taken) to stderr."""
    key, label, document = beside
    if beside_out is not None and document is not None:
        beside_out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    target = _file_or_none(output)
    if target is not None:
        Path(target).write_text(text, encoding="utf-8")
    if json_output:
        print_json(result | {key: document})
        return
    if target is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {target}", err=True)
    if beside_out is None and document is not None:
        if target is None:
            click.echo(f"{label}:", err=True)
        click.echo(json.dumps(document, indent=2), err=target is None)


def _recipe_format(fmt: str | None, output: str | None) -> str:
    suffix = Path(output).suffix.lower() if output and output != "-" else ""
    implied = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)
    if fmt and implied and fmt != implied:
        raise GreengrassError(
            f"--format {fmt} does not match the file name {output!r}: name it *.{fmt}, "
            "or leave --format out"
        )
    return fmt or implied or "yaml"


@greengrass.command("recipe", short_help="Write a Greengrass v2 component recipe for an image.")
@click.argument("image_ref")
@click.option("--component-name", required=True, help="e.g. com.example.SensorReport")
@click.option("--component-version", required=True, help="Strict semantic version, e.g. 1.0.0.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    help="The recipe's format [default: by --output's suffix, else yaml].",
)
@click.option("-o", "--output", help="Recipe file to write [default: stdout].")
@params_options
@click.option(
    "--interval", type=int, help="Run every INTERVAL seconds (held in the configuration)."
)
@click.option("--ipc", is_flag=True, help="Give the container Greengrass IPC (socket, SVCUID).")
@click.option("--stream-manager", is_flag=True, help="Let the container use stream manager.")
@click.option(
    "--image-source",
    type=click.Choice(["registry", "s3"]),
    default="registry",
    show_default=True,
    help="Pull from the registry, or load a `docker save` tarball shipped through S3.",
)
@click.option("--image-archive-uri", help="With --image-source s3: s3://BUCKET/KEY.tar.")
@click.option(
    "--save-image",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --image-source s3: write the tarball here (through the Docker engine).",
)
@click.option("--upload-image", is_flag=True, help="Upload the saved tarball to its URI.")
@click.option(
    "--publisher", default="iota-container", show_default=True, help="ComponentPublisher."
)
@click.option("--description", help="ComponentDescription [default: says what runs how often].")
@click.option(
    "--policy-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the device role's IAM policy here [default: print it].",
)
@json_option
def recipe_command(
    image_ref: str,
    component_name: str,
    component_version: str,
    fmt: str | None,
    output: str | None,
    params_file: Path | None,
    output_root: str | None,
    variables: dict[str, Any],
    analysis: str | None,
    env: list[tuple[str, str | None]],
    interval: int | None,
    ipc: bool,
    stream_manager: bool,
    image_source: str,
    image_archive_uri: str | None,
    save_image: Path | None,
    upload_image: bool,
    publisher: str,
    description: str | None,
    policy_out: Path | None,
    json_output: bool,
) -> None:
    """Write a Greengrass v2 component recipe that runs IMAGE_REF (REPO@sha256:...).

    \b
    The run's params sit in the component configuration (/Params): a deployment's
    configuration update changes the variables and outputs without a new version. Each
    run writes them to {work:path}/params.json, mounted read-only at
    /opt/ml/input/data/iotanalytics/params; @RUN_ID@ in a value becomes the run's UTC
    time. Uploads to S3 get credentials from the token exchange service.
    """
    from iota_container.greengrass.policy import device_role_policy
    from iota_container.greengrass.recipe import RecipeSpec, build_recipe, dump_recipe

    recipe_format = _recipe_format(fmt, output)
    image = _parse_image(image_ref)
    params = resolve_params(params_file, output_root, variables, analysis)
    from iota_container.greengrass.image_archive import archive_image_id

    image_id = archive_image_id(image, image_source, image_archive_uri, save_image, upload_image)
    spec = RecipeSpec(
        image=image,
        component_name=component_name,
        component_version=component_version,
        params=params,
        interval_seconds=interval,
        ipc=ipc,
        stream_manager=stream_manager,
        image_archive_uri=image_archive_uri if image_source == "s3" else None,
        image_id=image_id,
        env=env,
        publisher=publisher,
        description=description,
    )
    recipe = build_recipe(spec)
    policy = device_role_policy(spec)
    _emit(
        dump_recipe(recipe, recipe_format),
        output,
        {"recipeFile": _file_or_none(output), "format": recipe_format, "recipe": recipe},
        ("policy", "device role policy", policy),
        policy_out,
        json_output,
    )
    if policy is None and not json_output:
        click.echo("device role: no extra permissions needed", err=True)


@greengrass.command(
    "validate", short_help="Check recipes against the schema and the device's rules."
)
@click.argument("recipes", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@click.pass_context
def validate_command(ctx: click.Context, recipes: tuple[Path, ...], json_output: bool) -> None:
    """Check RECIPES against the recipe schema and the device's rules.

    One line per problem: FILE: $.path: rule: message: fix ("warning: " first for what
    may be wrong but does not stop the device). Exit 2 on any error.
    """
    from iota_container.greengrass.validate import format_problem, validate_recipe_file

    problems = [problem for path in recipes for problem in validate_recipe_file(path)]
    errors = [problem for problem in problems if problem.is_error]
    if json_output:
        print_json({"valid": not errors, "problems": [problem.to_json() for problem in problems]})
    else:
        for problem in problems:
            click.echo(format_problem(problem))
        bad = {problem.file for problem in errors}
        for path in recipes:
            if str(path) not in bad:
                click.echo(f"{path}: valid")
    if errors:
        ctx.exit(2)


def greengrass_client(region: str | None) -> Any:
    """The Greengrass v2 client the publish command uses (the usual AWS settings apply)."""
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client("greengrassv2", region_name=region)
    except NoRegionError as e:
        raise GreengrassError(
            "no AWS Region for Greengrass: pass --region, or set AWS_REGION"
        ) from e


@greengrass.command("publish", short_help="Create a component version from a recipe; deploy it.")
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--deploy-to",
    metavar="THING_OR_THING_GROUP_ARN",
    help="Then deploy it there, keeping the target's other components.",
)
@click.option("--deployment-name", help="[default: the current deployment's name]")
@click.option(
    "--keep-configuration",
    is_flag=True,
    help="Keep the device's configuration of the component instead of resetting it to "
    "the recipe's defaults.",
)
@click.option("--region", envvar="AWS_REGION", help="AWS Region [env AWS_REGION].")
@json_option
def publish_command(
    recipe: Path,
    deploy_to: str | None,
    deployment_name: str | None,
    keep_configuration: bool,
    region: str | None,
    json_output: bool,
) -> None:
    """Create a component version from RECIPE (validated first); with --deploy-to, revise
    the target's current deployment to include it."""
    from iota_container.greengrass import publish
    from iota_container.greengrass.validate import load_valid_recipe

    if deploy_to:
        publish.check_target_arn(deploy_to)
    document, data = load_valid_recipe(recipe)
    client = greengrass_client(region)
    published = publish.create_component_version(client, data)
    click.echo(f"created {published.arn} ({published.state})", err=True)
    if deploy_to:
        resets = [] if keep_configuration else publish.reset_paths_for(document)
        deployment_id, kept = publish.deploy_component(
            client, deploy_to, published.name, published.version, resets, deployment_name
        )
        published = publish.Published(
            published.arn, published.name, published.version, published.state, deployment_id, kept
        )
        others = f", keeping {', '.join(kept)}" if kept else ""
        click.echo(f"deployment {deployment_id} to {deploy_to}{others}", err=True)
    if json_output:
        print_json(published.to_json())
    else:
        click.echo(published.arn)


@greengrass.command(
    "local-deploy", short_help="Lay out a recipe and its artifacts for greengrass-cli."
)
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder."
)
@click.option(
    "--artifact",
    "artifacts",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A local file for one of the recipe's s3:// artifacts (e.g. the image tarball).",
)
@click.option(
    "--greengrass-root",
    default="/greengrass/v2",
    show_default=True,
    help="The core device's Greengrass root folder, for the printed command.",
)
@json_option
def local_deploy_command(
    recipe: Path,
    out: Path,
    artifacts: tuple[Path, ...],
    greengrass_root: str,
    json_output: bool,
) -> None:
    """Lay out RECIPE and its artifacts as the Greengrass CLI reads them, under OUT, and
    print the `greengrass-cli deployment create` command that deploys them."""
    from iota_container.greengrass.documents import recipe_format
    from iota_container.greengrass.local_deploy import lay_out
    from iota_container.greengrass.validate import load_valid_recipe

    document, data = load_valid_recipe(recipe)
    layout = lay_out(
        document, data, recipe_format(str(recipe), data), out, artifacts, greengrass_root
    )
    if json_output:
        print_json(layout.to_json())
    else:
        click.echo(f"recipe in {layout.recipe_dir}, artifacts in {layout.artifact_dir}", err=True)
        click.echo(layout.command)


@greengrass.command("compose", short_help="Write a compose file for the Greengrass v1 connector.")
@click.argument("image_ref")
@params_options
@click.option("-o", "--output", help="docker-compose file to write [default: stdout].")
@click.option(
    "--service-name",
    default="analysis",
    show_default=True,
    help="The compose file's service that runs the image.",
)
@click.option("--s3-bucket", required=True, help="DockerComposeFileS3Bucket.")
@click.option("--s3-key", required=True, help="DockerComposeFileS3Key.")
@click.option("--s3-version", help="DockerComposeFileS3Version.")
@click.option("--destination-path", required=True, help="DockerComposeFileDestinationPath.")
@click.option("--docker-user-id", help="DockerUserId.")
@click.option("--secret-arn", "secret_arns", multiple=True, help="AWSSecretsArnList entry.")
@click.option("--status-log-frequency", help="DockerContainerStatusLogFrequency (seconds).")
@click.option("--force-deploy/--no-force-deploy", default=None, help="ForceDeploy.")
@click.option("--pull-before-up/--no-pull-before-up", default=None, help="DockerPullBeforeUp.")
@click.option(
    "--stop-containers-on-new-deployment/--keep-containers-on-new-deployment",
    default=None,
    help="StopContainersOnNewDeployment.",
)
@click.option("--region", envvar="AWS_REGION", help="For the connector ARN [env AWS_REGION].")
@click.option(
    "--parameters-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the connector definition here [default: print it].",
)
@json_option
def compose_command(
    image_ref: str,
    params_file: Path | None,
    output_root: str | None,
    variables: dict[str, Any],
    analysis: str | None,
    env: list[tuple[str, str | None]],
    output: str | None,
    service_name: str,
    s3_bucket: str,
    s3_key: str,
    s3_version: str | None,
    destination_path: str,
    docker_user_id: str | None,
    secret_arns: tuple[str, ...],
    status_log_frequency: str | None,
    force_deploy: bool | None,
    pull_before_up: bool | None,
    stop_containers_on_new_deployment: bool | None,
    region: str | None,
    parameters_out: Path | None,
    json_output: bool,
) -> None:
    """Greengrass v1: a docker-compose file that runs IMAGE_REF once with its params, for
    the Docker application deployment connector, and the connector's parameters.

    Upload the compose file to s3://S3_BUCKET/S3_KEY; the connector runs it on the core.
    """
    import yaml

    from iota_container.greengrass import compose

    params = resolve_params(params_file, output_root, variables, analysis)
    document = compose.compose_document(_parse_image(image_ref), params, service_name, env)
    parameters = compose.connector_parameters(
        s3_bucket,
        s3_key,
        destination_path,
        s3_version,
        docker_user_id,
        secret_arns,
        status_log_frequency,
        {
            "ForceDeploy": force_deploy,
            "DockerPullBeforeUp": pull_before_up,
            "StopContainersOnNewDeployment": stop_containers_on_new_deployment,
        },
    )
    connector: dict[str, Any] = {"Id": "IotaAnalysisDeployment"}
    if region:
        connector["ConnectorArn"] = compose.CONNECTOR_ARN.format(region=region)
    connector["Parameters"] = parameters
    _emit(
        yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=4096),
        output,
        {"composeFile": _file_or_none(output), "compose": document},
        ("connector", "connector", connector),
        parameters_out,
        json_output,
    )
