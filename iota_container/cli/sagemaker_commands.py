"""`sagemaker`: what running container datasets as SageMaker training jobs needs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from iota_container.cli.common import IotaGroup, json_option, print_json


@click.group(cls=IotaGroup, short_help="Run container datasets as SageMaker training jobs.")
def sagemaker() -> None:
    """Run container datasets as SageMaker training jobs (`dataset run --executor sagemaker`)."""


@sagemaker.command("policy", short_help="Print the IAM policies of a dataset's execution role.")
@click.argument("definition_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--output-root",
    envvar="IOTA_OUTPUT_ROOT",
    required=True,
    help="s3://BUCKET/PREFIX the runs write under [env IOTA_OUTPUT_ROOT].",
)
@json_option
def policy(definition_file: Path, output_root: str, json_output: bool) -> None:
    """Print the trust and permissions policies of the executionRoleArn that the training
    jobs of DEFINITION_FILE's dataset run as: S3 read of the params, S3 write of the
    outputs, ECR pull of the image, CloudWatch logs and metrics."""
    from iota_container.definitions.model import load_definition
    from iota_container.executors.sagemaker_policy import execution_role_policies

    policies = execution_role_policies(load_definition(definition_file), output_root)
    if json_output:
        print_json(policies.to_json())
        return
    click.echo(f"# trust policy of the execution role of dataset {policies.dataset}")
    click.echo(json.dumps(policies.trust_policy, indent=2))
    click.echo("# permissions policy")
    click.echo(json.dumps(policies.permissions_policy, indent=2))
    for note in policies.notes:
        click.echo(f"note: {note}", err=True)
