"""Supervision commands: the monthly report and alert passes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from regie.cli._app import DbOption, _open, app, command_store, console
from regie.config import get_settings


@app.command()
def report(
    month: Annotated[str, typer.Option(help="the month, YYYY-MM (days and months in the territory's zone)")],
    out: Annotated[Path | None, typer.Option(help="PDF to write (default: report-<month>.pdf)")] = None,
    lang: Annotated[str, typer.Option(help="fr or en")] = "fr",
    territory: Annotated[str | None, typer.Option(help="territory id (default: the store's only one)")] = None,
    database_url: DbOption = None,
) -> None:
    """The monthly territory report (balance, production by source, autonomy, transformer peaks, data health)
    as a PDF with charts."""
    from regie.services import reports
    from regie.web import i18n

    if lang not in i18n.LOCALES:
        raise typer.BadParameter(f"--lang is one of {', '.join(i18n.LOCALES)}")
    with command_store(database_url, LookupError, ValueError) as store:
        data = reports.monthly_report(store, month, territory_id=territory or store.sole_territory_id())
    target = out or Path(f"report-{month}.pdf")
    target.write_bytes(reports.monthly_report_pdf(data, i18n.translations(lang).gettext, lang))
    if data["balance"]:
        t = data["balance"]["totals"]
        console.print(f"{data['territory']} {month}: consumption {reports.fmt_energy(t['consumption_wh'], 'en')}, "
                      f"production {reports.fmt_energy(t['production_wh'], 'en')}")  # fmt: skip
    h = data["health"]
    console.print(f"{len(data['transformers'])} transformers; {h['with_alerts']} of {h['series']} series with alerts")
    console.print(f"wrote [bold]{target}[/]")


@app.command()
def supervise(
    days: Annotated[int, typer.Option(help="how many days back to judge, up to now")] = 30,
    deliver: Annotated[bool, typer.Option(help="send new alerts by e-mail / MQTT as configured")] = True,
    every: Annotated[int, typer.Option(help="repeat every N seconds until stopped (0: one pass)", min=0)] = 0,
    territory: Annotated[str | None, typer.Option(help="only this territory (default: every territory)")] = None,
    database_url: DbOption = None,
) -> None:
    """A supervision pass over every territory (or one): record new alerts (one per episode) and send them
    (REGIE_SMTP_*, REGIE_ALERT_*)."""
    from datetime import datetime, timedelta

    from regie.governance.territories import list_territories
    from regie.services import alerts

    settings = get_settings()
    store = _open(database_url)
    channels = alerts.channels_from_settings(settings) if deliver else []
    try:
        thresholds = alerts.thresholds_from_settings(settings)
        while True:
            everything = list_territories(store)
            if not everything:
                raise LookupError("this store holds no territory yet: run `regie demo --build-only` or `regie init`")
            chosen = [t for t in everything if territory in (None, t.id)]
            if not chosen:
                raise LookupError(f"no territory {territory!r} in this store ({', '.join(t.id for t in everything)})")
            for t in chosen:
                now = datetime.now(t.zone)
                new, outcome = alerts.supervise(store, now - timedelta(days=days), now, channels, now=now,
                                                thresholds=thresholds, territory_id=t.id)  # fmt: skip
                for a in new:
                    console.print(alerts.describe(a), markup=False, highlight=False)
                console.print(f"{t.id}: {len(new)} new alert(s)" + "".join(f"; {k}: {v}" for k, v in outcome.items()))
            if not every:
                break
            time.sleep(every)
    except (LookupError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
