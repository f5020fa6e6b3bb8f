"""`regie doctor`: a green/red list of what an installation needs, with what to do for each red line."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from regie.cli._app import app, console
from regie.config import get_settings

MARKS = {"ok": "[green]✔[/]", "warn": "[yellow]![/]", "fail": "[bold red]✘[/]"}


@app.command()
def doctor() -> None:
    """Check the settings, the store (reachable, schema, disk, WAL), keys, SMTP, MQTT and front-end assets."""
    from regie.cli.diagnosis import diagnose, exit_code

    checks = diagnose(get_settings)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("", "check", "what was found", "what to do"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(MARKS[c.status.value], c.name, escape(c.detail), escape(c.todo))
    console.print(table)
    code = exit_code(checks)
    if code:
        raise typer.Exit(int(code))
