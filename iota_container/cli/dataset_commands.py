"""`dataset ...`: definitions (new, validate, export) and the engine that runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from iota_container.cli.common import (
    IotaGroup,
    ca_bundle_option,
    exit_now,
    json_option,
    plain_http_option,
    print_json,
    registry_timeout_option,
)
from iota_container.cli.engine_options import (
    catch_up_option,
    chosen_executor,
    executor_option,
    home_option,
    open_store,
    output_root_option,
    ray_address_option,
    version_option,
)


@click.group(cls=IotaGroup, short_help="Dataset definitions: validate, register, run here.")
def dataset() -> None:
    """Container dataset definitions, and running them here.

    Definitions keep the CreateDataset request's shape (CLI input JSON, or CloudFormation
    properties), in JSON or YAML.
    """


@dataset.command("validate", short_help="Check definitions against the service model and rules.")
@click.argument("files", nargs=-1, required=True, type=click.Path(readable=False))
@json_option
def dataset_validate(files: tuple[str, ...], json_output: bool) -> None:
    """Check definition FILES (or folders of them; a CloudFormation template may hold
    several) against the service model's limits and the trigger rules across the whole
    set. One line per problem: FILE, JSON path, rule. Warnings (such as a dataset no file
    defines, which the account may hold) do not fail. Exit 2 on any error."""
    from iota_container.definitions.validate import definition_files, validate_files

    problems = validate_files(files)
    errors = [p for p in problems if p.is_error]
    if json_output:
        print_json(
            {
                "files": definition_files(files),
                "valid": not errors,
                "problems": [
                    {
                        "file": p.file,
                        "path": p.json_path,
                        "rule": p.rule,
                        "severity": p.severity,
                        "message": str(p),
                    }
                    for p in problems
                ],
            }
        )
    else:
        for problem in problems:
            click.echo(_problem_line(problem), err=True)
        if not errors:
            warned = len(problems)
            note = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
            click.echo(f"{len(definition_files(files))} definition file(s) valid{note}")
    if errors:
        raise SystemExit(2)


def _problem_line(problem: Any) -> str:
    return str(problem) if problem.is_error else f"warning: {problem}"


@dataset.command("new", short_help="Write a definition from an image or a notebook.")
@click.argument("name")
@click.option("--from-image", "image_ref", help="An image built by `iota-container build`.")
@click.option(
    "--from-notebook",
    "notebook",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A notebook: variables detected, x-iota-notebook set (runs without a container).",
)
@click.option(
    "--image", help="With --from-notebook: the image to run [default iota-container/NAME:latest]."
)
@click.option("--schedule", help="'cron(0 12 * * ? *)' or 'rate(1 hour)' (UTC).")
@click.option("--triggered-by", help="Run after each new succeeded content of this dataset.")
@click.option(
    "--role-arn", help="executionRoleArn [env IOTA_EXECUTION_ROLE_ARN; a local placeholder]."
)
@click.option(
    "--compute-type",
    type=click.Choice(["ACU_1", "ACU_2"]),
    default="ACU_1",
    show_default=True,
    help="resourceConfiguration.computeType: ACU_1 (4 vCPUs, 16 GiB) or ACU_2 (8 vCPUs, 32 GiB).",
)
@click.option(
    "--volume-size",
    type=click.IntRange(1, 50),
    default=2,
    show_default=True,
    help="resourceConfiguration.volumeSizeInGB: the run's disk, in GB.",
)
@click.option("--max-versions", type=click.IntRange(1, 1000), help="Keep the newest N versions.")
@click.option("--retention-days", type=click.IntRange(1), help="Delete versions older than this.")
@click.option(
    "--content-dataset",
    default="SOURCE_DATASET",
    show_default=True,
    help="Dataset named by datasetContentVersionValue variables.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (.yaml or .json) [default NAME.yaml].",
)
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
@ca_bundle_option
@plain_http_option
@registry_timeout_option
def dataset_new(
    name: str,
    image_ref: str | None,
    notebook: Path | None,
    image: str | None,
    schedule: str | None,
    triggered_by: str | None,
    role_arn: str | None,
    compute_type: str,
    volume_size: int,
    max_versions: int | None,
    retention_days: int | None,
    content_dataset: str,
    output: Path | None,
    force: bool,
    ca_bundle: Path | None,
    plain_http: bool | None,
    registry_timeout: float | None,
) -> None:
    """Write a definition for dataset NAME from an image's labels or from a notebook.

    \b
    iota-container dataset new hourly --from-image REG/REPO@sha256:... --schedule 'rate(1 hour)'
    iota-container dataset new report --from-notebook nb.ipynb --triggered-by readings
    """
    from iota_container.definitions.new import NewDataset, new_definition, write_definition

    if (image_ref is None) == (notebook is None):
        raise click.UsageError("give exactly one of --from-image and --from-notebook")
    target = output or Path(f"{name}.yaml")
    if image_ref is not None:
        from iota_container.image.build import inspect_image

        bundle = str(ca_bundle) if ca_bundle else None
        described = inspect_image(
            image_ref, ca_bundle=bundle, plain_http=plain_http, timeout=registry_timeout
        )
        variables = described.metadata.variables
        image_name, notebook_ref = described.reference, None
    else:
        from iota_container.notebook.inspect import inspect_notebook_file

        assert notebook is not None
        variables = inspect_notebook_file(notebook)
        image_name = image or f"iota-container/{name.lower()}:latest"
        folder = target.absolute().parent
        notebook_ref = os.path.relpath(notebook.absolute(), folder)
    definition = new_definition(
        NewDataset(
            name=name,
            image=image_name,
            variables=variables,
            notebook=notebook_ref,
            schedule=schedule,
            triggered_by=triggered_by,
            role_arn=role_arn,
            compute_type=compute_type,
            volume_size_gb=volume_size,
            max_versions=max_versions,
            retention_days=retention_days,
            content_dataset=content_dataset,
        ),
        str(target),
    )
    written = write_definition(definition, target, overwrite=force)
    click.echo(f"wrote {written}", err=True)
    click.echo(str(written))


@dataset.command("register", short_help="Register definitions so that they run here.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@home_option
@output_root_option
@json_option
def dataset_register(
    files: tuple[str, ...], home: str | None, output_root: str | None, json_output: bool
) -> None:
    """Register (or update) definition FILES so they can run here, every dataset of a
    CloudFormation template included; checked together with those already registered
    (a dataset they name must be registered too, or be one of them)."""
    from iota_container.definitions.model import registration_paths

    paths = [path for file in files for path in registration_paths(file)]
    for warning in _file_warnings(paths):
        click.echo(_problem_line(warning), err=True)
    with open_store(home, output_root) as store:
        registered = store.register(*paths)
    if json_output:
        print_json([d.to_json() for d in registered])
    else:
        for item in registered:
            click.echo(f"registered {item.name} ({item.source_file})")


def _file_warnings(paths: list[str]) -> list[Any]:
    """What each definition alone is warned of (the store reports errors, and decides
    what the datasets it names must be)."""
    from iota_container.definitions.model import read_definitions
    from iota_container.definitions.validate import check_definition

    warnings: list[Any] = []
    for path in paths:
        for definition in read_definitions(path).definitions:
            found = check_definition(path, definition, warnings=True)
            warnings.extend(problem for problem in found if not problem.is_error)
    return warnings


@dataset.command("list", short_help="List the registered datasets and their triggers.")
@home_option
@json_option
def dataset_list(home: str | None, json_output: bool) -> None:
    """The registered datasets, their triggers and whether they are paused."""
    with open_store(home, None) as store:
        items = [d.to_json() for d in store.datasets()]
    if json_output:
        print_json(items)
        return
    if not items:
        click.echo(
            "no datasets are registered: register a definition with "
            "`iota-container dataset register FILE` (write one with `dataset new`)",
            err=True,
        )
    for item in items:
        state = " (paused)" if item["paused"] else ""
        triggers = "; ".join(item["triggers"]) or "no trigger"
        click.echo(f"{item['name']}  {item['kind']}  {triggers}{state}")


@dataset.command("run", short_help="Create one content version of a dataset now.")
@click.argument("name")
@click.option(
    "--container/--no-container",
    "use_container",
    default=None,
    help="Run the image through the Docker engine, or the notebook in a local process "
    "[default: a container when an engine answers].",
)
@click.option(
    "--notebook",
    type=click.Path(dir_okay=False, exists=True),
    help="With --no-container: the notebook to run [default: the definition's x-iota-notebook].",
)
@executor_option
@ray_address_option
@home_option
@output_root_option
@json_option
@click.pass_context
def dataset_run(
    ctx: click.Context,
    name: str,
    use_container: bool | None,
    notebook: str | None,
    executor_name: str | None,
    ray_address: str | None,
    home: str | None,
    output_root: str | None,
    json_output: bool,
) -> None:
    """Create one content version of dataset NAME now, as the service did: resolve its
    variables, write the params file, run, collect status, exit code, logs and outputs.
    Exit 1 when the analysis failed, 2 when it could not start."""
    from iota_container.engine.run import DatasetEngine, raise_for_status

    ctx.meta["json_output"] = json_output
    ctx.meta["fast_exit"] = True
    executor = chosen_executor(executor_name, ray_address)
    with open_store(home, output_root) as store:
        engine = DatasetEngine(store, executor=executor)
        version = engine.run(name, use_container, notebook=notebook)
    if json_output:
        print_json(version.to_json())
    else:
        click.echo(f"{version.dataset} version {version.id}: {version.status}")
        for key, uri in sorted(version.outputs.items()):
            click.echo(f"  {key}: {uri}")
    raise_for_status(version)
    exit_now(0)


@dataset.command("contents", short_help="List a dataset's versions, newest first.")
@click.argument("name")
@home_option
@json_option
def dataset_contents(name: str, home: str | None, json_output: bool) -> None:
    """The versions of dataset NAME, newest first."""
    with open_store(home, None) as store:
        versions = [_version_shown(store, v) for v in store.versions(name)]
    if json_output:
        print_json(versions)
        return
    for version in versions:
        reason = f"  {version['reason']}" if version.get("reason") else ""
        reason += f"  {version['unfollowed']}" if version.get("unfollowed") else ""
        late = version.get("lateData")
        late_text = f"  late data: {late['messages']} message(s)" if late else ""
        failed = [d for d in version.get("deliveries", []) if d["status"] == "FAILED"]
        failed_text = f"  {len(failed)} delivery(ies) FAILED" if failed else ""
        click.echo(
            f"{version['versionId']}  {version['status']}  {version['createdAt']}"
            f"{reason}{late_text}{failed_text}"
        )


@dataset.command("deliver", short_help="Run a version's failed content deliveries again.")
@click.argument("name")
@version_option("$LATEST_SUCCEEDED", "A version id, or $LATEST_SUCCEEDED.")
@click.option("--all", "all_rules", is_flag=True, help="Every rule, not only those that failed.")
@home_option
@json_option
def dataset_deliver(
    name: str, selector: str, all_rules: bool, home: str | None, json_output: bool
) -> None:
    """Run the contentDeliveryRules of a SUCCEEDED version of NAME again: those that
    failed (or, with --all, every one). Exit 2 when one still fails."""
    from iota_container.datastore.delivery import (
        check_deliverable,
        deliver_version,
        failed_rules,
    )
    from iota_container.engine.records import FAILED

    with open_store(home, None) as store:
        dataset_found = store.dataset(name)
        version = store.version(name, selector)
        check_deliverable(dataset_found, version)
        rules = None if all_rules else failed_rules(version)
        delivered = deliver_version(store, dataset_found, version, rules=rules)
    if json_output:
        print_json([d.to_json() for d in delivered.deliveries])
    for delivery in delivered.deliveries:
        reason = f": {delivery.reason}" if delivery.reason else ""
        click.echo(
            f"rule {delivery.rule} {delivery.destination}: {delivery.status}{reason}", err=True
        )
    if any(d.status == FAILED for d in delivered.deliveries):
        exit_now(2)


@dataset.command("content", short_help="Show one version: status, reason, outputs, log.")
@click.argument("name")
@version_option("$LATEST", "A version id, $LATEST or $LATEST_SUCCEEDED.")
@home_option
@json_option
def dataset_content(name: str, selector: str, home: str | None, json_output: bool) -> None:
    """One version of dataset NAME: status, reason, outputs, log."""
    with open_store(home, None) as store:
        version = _version_shown(store, store.version(name, selector))
    if json_output:
        print_json(version)
        return
    for key, value in version.items():
        if value not in (None, {}, []):
            click.echo(f"{key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")


def _version_shown(store: Any, version: Any) -> dict[str, Any]:
    """A version's document, with `unfollowed` when its run goes on where no process
    follows it (engine/executor_runs.py)."""
    from iota_container.engine.executor_runs import unfollowed_note

    document: dict[str, Any] = version.to_json()
    note = unfollowed_note(store, version)
    if note is not None:
        document["unfollowed"] = note
    return document


@dataset.command("follow", short_help="Wait for runs a process now gone left on an executor.")
@click.argument("name")
@ray_address_option
@home_option
@json_option
def dataset_follow(name: str, ray_address: str | None, home: str | None, json_output: bool) -> None:
    """Follow the runs of dataset NAME that a process now gone handed to a Ray cluster or
    SageMaker to their end, and record them (a running scheduler does this too). Exit 1
    when one failed."""
    from iota_container.engine.run import DatasetEngine, raise_for_status

    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address
    with open_store(home, None) as store:
        store.dataset(name)  # UnknownDataset
        engine = DatasetEngine(store)
        followed = [engine.run_claimed(claimed) for claimed in engine.claim_orphans({name})]
    if json_output:
        print_json([version.to_json() for version in followed])
    elif not followed:
        click.echo(f"no run of {name} waits to be followed (or another process follows it)")
    for version in followed:
        if not json_output:
            click.echo(f"{version.dataset} version {version.id}: {version.status}")
        raise_for_status(version)


@dataset.command("pause", short_help="Stop the scheduler from running a dataset's triggers.")
@click.argument("name")
@home_option
def dataset_pause(name: str, home: str | None) -> None:
    """Stop the scheduler from running NAME's triggers until it is resumed."""
    with open_store(home, None) as store:
        store.set_paused(name, True)
    click.echo(f"{name} paused")


@dataset.command("export", short_help="Print a registered definition as a CreateDataset request.")
@click.argument("name")
@click.option(
    "--format",
    "export_format",
    type=click.Choice(["iotanalytics", "cloudformation"]),
    default="iotanalytics",
    show_default=True,
    help="A CreateDataset request (CLI input JSON), or an AWS::IoTAnalytics::Dataset "
    "resource's Properties.",
)
@home_option
def dataset_export(name: str, export_format: str, home: str | None) -> None:
    """Print registered dataset NAME as a CreateDataset request (or CloudFormation
    properties), without this project's x- extensions."""
    from iota_container.definitions.model import (
        to_cloudformation_properties,
        to_create_dataset_request,
    )

    with open_store(home, None) as store:
        definition = store.dataset(name).definition
    export = (
        to_create_dataset_request
        if export_format == "iotanalytics"
        else to_cloudformation_properties
    )
    print_json(export(definition))


@dataset.command("resume", short_help="Let the scheduler run a dataset's triggers again.")
@click.argument("name")
@catch_up_option("while paused")
@home_option
def dataset_resume(name: str, catch_up: bool, home: str | None) -> None:
    """Let the scheduler run NAME's triggers again, missed ones included."""
    with open_store(home, None) as store:
        if not catch_up:
            from iota_container.scheduler.clock import scheduler_clock
            from iota_container.scheduler.due import skip_missed

            now = scheduler_clock()()  # the scheduler's idea of now: the same windows
            why = "dataset resume --latest-only"
            click.echo(skip_missed(store, store.dataset(name), now, why).describe())
        store.set_paused(name, False)
    click.echo(f"{name} resumed")
