"""`regie data read`: a delivery point's values through the gate, as one account would see them.

The shell can read the database anyway; what it cannot do is see *what an account may see*. This command
answers that question the way the pages do (``regie.governance.gate.read_personal``: the account's own
holding, a consent grant, or an admin with a reason), and the read is logged in the access log under that
account, exactly as if it had asked from the web. It is how a régie checks a grant from the server's
shell, and how the getting-started guide's journey runs without a browser.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime
from typing import Annotated

import typer

from regie.cli._app import DbOption, app, command_store, parse_day

data_app = typer.Typer(help="read personal data through the gate, as an account would")
app.add_typer(data_app, name="data")


@data_app.command("read")
def data_read(
    target: Annotated[str, typer.Argument(help="a PRM (14 digits) or a series id")],
    as_user: Annotated[str, typer.Option("--as", help="the account (username) reading")],
    first: Annotated[str, typer.Option("--from", help="first local day (YYYY-MM-DD)")],
    until: Annotated[str, typer.Option("--until", help="day after the last local day (YYYY-MM-DD)")],
    step: Annotated[str, typer.Option(help="raw, PT10M, PT15M, PT30M, P1D or P1M")] = "P1D",
    category: Annotated[str, typer.Option(help="series kind for a PRM (consumption, production...)")] = "consumption",
    purpose: Annotated[str, typer.Option(help="a DPV purpose (see `regie consent grant --help`)")] = (
        "dpv:ServiceProvision"
    ),
    reason: Annotated[str | None, typer.Option(help="an admin's reason for reading (required of admins)")] = None,
    database_url: DbOption = None,
) -> None:
    """Print the values as CSV (start in local time, value, unit, points behind it) or say why not."""
    from regie.governance.accounts import get_account
    from regie.governance.gate import AccessDenied, UnavailableGranularity, read_personal

    start_day, end_day = parse_day(first, "--from"), parse_day(until, "--until")
    with command_store(database_url, ValueError, LookupError) as store:
        account = get_account(store, as_user)
        if account is None or not account.active:
            raise typer.BadParameter(f"no active account {as_user!r}", param_hint="--as")
        zone = store.load_inventory(account.territory_id).territory.zone

        def instant(d: date) -> int:
            return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())

        try:
            d = read_personal(
                store, account, target, instant(start_day), instant(end_day), step, purpose,
                category=category if target.isdigit() else None, reason=reason,
            )  # fmt: skip
        except (AccessDenied, UnavailableGranularity) as exc:
            typer.echo(f"refused for {as_user}: {exc} (logged)", err=True)
            raise typer.Exit(77) from None  # EX_NOPERM (sysexits.h)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["start", "value", "unit", "points"])
    for t, v, n in zip(d.t, d.values, d.count, strict=True):
        out.writerow([datetime.fromtimestamp(int(t), zone).isoformat(), f"{float(v):.3f}", d.unit, int(n)])
