"""`iota-container datastore`: register, list and fill the data stores SQL datasets query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from iota_container.cli.common import json_option, print_json
from iota_container.cli.engine_options import home_option
from iota_container.errors import IotaError

FORMATS = ("json", "parquet")


def _registry(home: str | None) -> Any:
    from iota_container.datastore.registry import DatastoreRegistry
    from iota_container.engine.home import Home

    return DatastoreRegistry(Home.locate(home))


@click.group(short_help="Data stores that SQL datasets query: register, list, put.")
def datastore() -> None:
    """Data stores: the messages a SQL dataset's sqlQuery reads.

    \b
    A SQL dataset (queryAction.sqlQuery, Presto SQL) without x-iota-source runs its
    query on DuckDB over the data stores it names, each a folder or s3:// prefix of
    JSON-lines or Parquet objects in the service's layout (__dt=YYYY-MM-DD 00:00:00
    day folders, then the declared partitions).

    \b
      iota-container datastore register datastore.json          # CreateDatastore JSON
      iota-container datastore register template.yaml           # CloudFormation
      iota-container datastore register readings --location s3://bucket/export/ --format parquet
      iota-container datastore put readings messages.jsonl
      iota-container datastore list
    """


@datastore.command("register", short_help="Register data stores from a file, or by name.")
@click.argument("file_or_name")
@click.option(
    "--location",
    help="With NAME: the folder or s3://BUCKET/PREFIX/ holding the store's objects.",
)
@click.option(
    "--format",
    "store_format",
    type=click.Choice(FORMATS),
    help="With NAME: the objects' format (json: JSON lines, .json or .json.gz).",
)
@home_option
@json_option
def datastore_register(
    file_or_name: str,
    location: str | None,
    store_format: str | None,
    home: str | None,
    json_output: bool,
) -> None:
    """Register data stores: FILE, a CreateDatastore request (`aws iotanalytics
    create-datastore --cli-input-json` JSON or YAML) or a CloudFormation template's
    AWS::IoTAnalytics::Datastore resources; or NAME with --location and --format.

    \b
    From a file, a serviceManagedS3 store (the default) lives under IOTA_HOME
    (datastores/NAME/datastore/NAME), a customerManagedS3 one at
    s3://BUCKET/KEYPREFIXdatastore/NAME, as the service laid them out. Registering a
    name again replaces it. Channels and pipelines are not run here.
    """
    with _registry(home) as registry:
        if location is None and store_format is None:
            registered, notes = _register_file(registry, file_or_name)
        else:
            flagged = _register_flags(registry, file_or_name, location, store_format)
            registered, notes = [flagged], ()
    for note in notes:
        click.echo(note, err=True)
    if json_output:
        print_json([d.to_json() for d in registered])
        return
    for store in registered:
        click.echo(f"registered data store {store.name} ({store.format}): {store.root}")


def _register_file(registry: Any, path: str) -> tuple[list[Any], tuple[str, ...]]:
    from iota_container.datastore.definition import read_datastore_file

    if not Path(path).is_file():
        raise IotaError(
            f"{path!r} is not a file: give a CreateDatastore request or a template, or "
            f"register a data store by name with --location and --format"
        )
    found = read_datastore_file(path)
    source = str(Path(path).absolute())
    return [registry.register(d, source=source) for d in found.definitions], found.notes


def _register_flags(
    registry: Any, name: str, location: str | None, store_format: str | None
) -> Any:
    from iota_container.datastore.registry import flag_definition
    from iota_container.datastore.service_shapes import check_datastore

    if not location or not store_format:
        missing = "--format" if location else "--location"
        raise IotaError(
            f"data store {name!r}: {missing} is missing: give both --location and --format"
        )
    definition = flag_definition(name, store_format)
    problems = check_datastore(definition, "<command line>", "$", cloudformation=False)
    if problems:
        raise IotaError(
            f"data store name {name!r}: {problems[0].message}: use letters, digits and _"
        )
    if location.startswith("s3://"):
        if location.rstrip("/") == "s3:":
            raise IotaError(f"--location {location!r} names no bucket: write s3://BUCKET/PREFIX/")
        root = location.rstrip("/")
    elif "://" in location:
        raise IotaError(
            f"--location {location!r} is neither a folder nor s3://: give a folder, or s3://BUCKET/PREFIX/"
        )
    else:
        root = str(Path(location).expanduser().absolute())
    return registry.register(definition, root=root)


@datastore.command("list", short_help="List the registered data stores.")
@home_option
@json_option
def datastore_list(home: str | None, json_output: bool) -> None:
    """The registered data stores: name, format, location."""
    with _registry(home) as registry:
        stores = registry.all()
    if json_output:
        print_json([s.to_json() for s in stores])
        return
    if not stores:
        click.echo("no data store is registered: `iota-container datastore register --help`")
    for store in stores:
        click.echo(f"{store.name}  {store.format}  {store.root}")


@datastore.command("put", short_help="Append the messages of a JSON-lines file to a data store.")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@home_option
@json_option
def datastore_put(name: str, file: Path, home: str | None, json_output: bool) -> None:
    """Append the messages of FILE (JSON lines: one JSON object a line) to data store
    NAME, as BatchPutMessage did: into today's __dt partition (UTC) and the store's
    partitions, as new objects, each written whole or not at all."""
    from iota_container.datastore.put import put_messages, read_messages

    with _registry(home) as registry:
        store = registry.get(name)
    messages = read_messages(file)
    if store.format == "parquet":
        from iota_container.datastore.filesystems import require_sql_extra

        require_sql_extra(f"putting messages into Parquet data store {name!r}")
    written = put_messages(store, messages)
    if json_output:
        print_json({"datastore": name, "messages": len(messages), "objects": written})
        return
    click.echo(f"{len(messages)} message(s) put into {name}: {', '.join(written)}")
