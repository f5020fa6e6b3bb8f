"""``regie publish opendata DEST``: the open-data files of every territory, with their data packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regie.cli._app import DbOption, app, command_store, console

publish_app = typer.Typer(help="Publish the public aggregates as open data.", no_args_is_help=True)
app.add_typer(publish_app, name="publish")


@publish_app.command("opendata")
def publish_opendata(
    dest: Annotated[Path, typer.Argument(help="folder to write <territory>/*.csv, *.parquet, datapackage.json into")],
    base_url: Annotated[
        str | None, typer.Option(help="the public address the files refer to (else public_url)")
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Write the public balance (monthly, daily, per metering step) as CSV and Parquet, with a Frictionless
    data package per territory (docs/linked-data.md)."""
    from regie.config import get_settings
    from regie.semantic import opendata

    settings = get_settings()
    base = base_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    with command_store(database_url) as store:
        written = opendata.write(store, dest, base.rstrip("/"), settings.opendata_licence)
    for path in written:
        console.print(str(path))
    console.print(f"{len(written)} files written under {dest}")
