"""``regie territory``: add a territory to the store and list them (the setup page does the same on the web)."""

from __future__ import annotations

from typing import Annotated

import typer

from regie.cli._app import DbOption, app, command_store, console
from regie.cli._output import Column, Format, FormatOption, emit

territory_app = typer.Typer(help="Territories of the store: create one, list them.", no_args_is_help=True)
app.add_typer(territory_app, name="territory")


@territory_app.command("create")
def territory_create(
    id: Annotated[str, typer.Option("--id", help="short id: letters, digits, '-', '_' or '.' (e.g. prats)")],
    name: Annotated[str, typer.Option(help="the territory's name, as pages show it")],
    insee: Annotated[str | None, typer.Option(help="the commune's INSEE code (5 characters: 66150, 2A004)")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone its days and months are computed in")] = "Europe/Paris",
    lat: Annotated[float | None, typer.Option(help="latitude (WGS 84, degrees)")] = None,
    lon: Annotated[float | None, typer.Option(help="longitude (WGS 84, degrees)")] = None,
    step: Annotated[str | None, typer.Option(help="load curves step: PT10M, PT15M, PT30M, PT1H")] = None,
    database_url: DbOption = None,
) -> None:
    """Create a territory (logged in the access log as done by the shell)."""
    from regie.governance import territories
    from regie.governance.accounts import CLI_ADMIN

    with command_store(database_url, territories.TerritoryError) as store:
        t = territories.territory_from(id, name, insee=insee, timezone=timezone, latitude=lat, longitude=lon,
                                       step=step)  # fmt: skip
        territories.create_territory(store, CLI_ADMIN, t)
    console.print(f"territory [bold]{t.id}[/] ({t.name}) created")


@territory_app.command("list")
def territory_list(database_url: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """The store's territories and their settings."""
    from regie.governance import territories

    with command_store(database_url) as store:
        found = territories.list_territories(store)
    columns = (Column("id", "id", "id"), Column("name", "name", ratio=3), Column("insee", "INSEE"),
               Column("timezone", "time zone", ratio=2), Column("latitude", "latitude", "number"),
               Column("longitude", "longitude", "number"), Column("step", "step"))  # fmt: skip
    rows = [{"id": t.id, "name": t.name, "insee": t.insee, "timezone": t.timezone, "latitude": t.latitude,
             "longitude": t.longitude, "step": t.step} for t in found]  # fmt: skip
    emit(rows, columns, fmt, title="territories")
