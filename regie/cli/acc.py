"""Collective self-consumption commands: allocate an operation's production, write its invoices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regie.cli._app import _open, app, command_store, console


# ---------------------------------------------------------------- collective self-consumption (ACC)
def _acc_reader(store, reason: str, step):
    """Curves are personal data: the shell reads them through the gate as the CLI admin, with a reason, at the
    operation's metering step (``Operation.step``)."""
    from regie.governance.accounts import CLI_ADMIN
    from regie.services.acc import gate_reader

    return gate_reader(store, CLI_ADMIN, step=step, reason=reason)


def _kwh(wh: float) -> str:
    return f"{wh / 1000:,.1f}"


@app.command()
def allocate(
    operation: Annotated[str, typer.Option("--operation", help="the operation's id")],
    month: Annotated[str, typer.Option(help="local month, YYYY-MM")],
    key: Annotated[
        str | None, typer.Option(help="default, static or priority (default: the operation's own key)")
    ] = None,
    compare: Annotated[bool, typer.Option("--compare", help="also show what each key would give")] = False,
    keys_out: Annotated[
        Path | None, typer.Option("--keys-out", help="write the per-step keys file (in %) for the grid operator")
    ] = None,
    flows_out: Annotated[
        Path | None, typer.Option("--flows-out", help="write each participant's flows per step (CSV, Wh)")
    ] = None,
    reconcile: Annotated[
        Path | None,
        typer.Option("--reconcile", help="the grid operator's AUTOCONS / COMPLEMENT / SURPLUS file to check against"),
    ] = None,
    reason: Annotated[str, typer.Option(help="why participants' curves are read (kept in the access log)")] = (
        "ACC allocation by the PMO (regie allocate)"
    ),
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Allocate an operation's production among its consumers for a month, with a key."""
    from regie.analytics.acc import dynamic_keys, format_keys_csv
    from regie.ingest import IngestError
    from regie.ingest.enedis_acc import format_acc_curves_csv, read_acc_curves, reconcile_operation
    from regie.model import mask_prm
    from regie.services import acc as service
    from regie.store.operations import load_operation

    store = _open(database_url)
    try:
        stored = load_operation(store, operation)
        zone = store.load_inventory(stored.territory_id).territory.zone
        start, end = service.month_bounds(month, zone)
        curves = service.load_curves(
            store, stored.operation, start, end, _acc_reader(store, reason, stored.operation.step), stored.territory_id
        )
        result = service.allocate_in_force(curves, stored, key)
        comparison = (
            service.compare_keys(curves, ("default", "priority", "static"), static_shares=stored.static_shares)
            if compare and stored.static_shares
            else service.compare_keys(curves, ("default", "priority"))
            if compare
            else None
        )
        report = (
            reconcile_operation(result, read_acc_curves(reconcile, step=stored.operation.step, zone=zone))
            if reconcile is not None
            else None
        )
    except IngestError as exc:
        raise typer.BadParameter(exc.describe()) from None
    except (LookupError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    table = Table(title=f"{stored.operation.name} — {month} — key {result.key}")
    for col in ("participant", "PRM", "type", "CONS kWh", "AUTOCONS kWh", "COMPLEMENT kWh", "PROD kWh", "SURPLUS kWh"):
        table.add_column(col, justify="left" if col in ("participant", "PRM", "type") else "right")
    for f in result.participants():
        p = f.participant
        consumer = p.role.value == "consumer"
        table.add_row(
            p.name,
            mask_prm(p.prm),
            p.type.value,
            *(
                (_kwh(f.cons_wh), _kwh(f.autocons_wh), _kwh(f.complement_wh), "", "")
                if consumer
                else ("", "", "", _kwh(f.prod_wh), _kwh(f.surplus_wh))
            ),
        )
    console.print(table)
    rates = result.rates()
    console.print(
        f"self-consumption {rates['self_consumption'] or 0:.1%} · self-production {rates['self_production'] or 0:.1%}"
    )
    if curves.missing:
        gaps = ", ".join(f"{mask_prm(prm)} {n}" for prm, n in curves.missing.items())
        console.print(f"[yellow]steps without a value[/]: {gaps}")
    if comparison is not None:
        cmp = Table(title="what each key would give (AUTOCONS kWh)")
        cmp.add_column("participant")
        for k in comparison.keys:
            cmp.add_column(k, justify="right")
        for j, p in enumerate(comparison.consumers):
            cmp.add_row(p.name or mask_prm(p.prm), *(_kwh(comparison.autocons[k][j]) for k in comparison.keys))
        console.print(cmp)
    if keys_out is not None:
        keys = dynamic_keys(result.allocation)
        keys_out.write_text(
            format_keys_csv(curves.t, [p.prm for p in curves.consumers], keys, zone=zone), encoding="utf-8"
        )
        console.print(f"keys written to [bold]{keys_out}[/]")
    if flows_out is not None:
        flows_out.write_text(format_acc_curves_csv(result, zone), encoding="utf-8")
        console.print(f"flows written to [bold]{flows_out}[/]")
    if report is not None:
        rec = Table(
            title=f"reconciliation with {report.source} (tolerance {report.tolerance_wh:g} Wh + "
            f"{report.relative:.1%} of production)"
        )
        for col in ("participant", "flow", "regie kWh", "grid operator kWh", "steps off", "missing"):
            rec.add_column(col, justify="left" if col in ("participant", "flow") else "right")
        for r in report.rows:
            rec.add_row(
                f"{r.name} {r.prm_masked}",
                "AUTOCONS" if r.role == "consumer" else "SURPLUS",
                _kwh(r.regie_wh),
                _kwh(r.grid_wh),
                str(r.steps_off),
                str(r.missing),
            )
        console.print(rec)
        console.print(("[green]" if report.passed else "[red]") + report.summary() + "[/]")
        if not report.passed:
            raise typer.Exit(1)


@app.command()
def invoice(
    operation: Annotated[str, typer.Option("--operation", help="the operation's id")],
    out: Annotated[Path, typer.Option("--out", help="folder to write the PDF and CSV files to")],
    month: Annotated[str | None, typer.Option(help="local month, YYYY-MM: one invoice per consumer")] = None,
    year: Annotated[int | None, typer.Option(help="a local year: the yearly summary (PDF and CSV)")] = None,
    lang: Annotated[str, typer.Option(help="fr or en")] = "fr",
    key: Annotated[str | None, typer.Option(help="default: the operation's own key")] = None,
    allow_illustrative: Annotated[
        bool, typer.Option("--allow-illustrative", help="accept tariff files marked illustrative (simulations)")
    ] = False,
    reason: Annotated[str, typer.Option(help="why participants' curves are read (kept in the access log)")] = (
        "ACC invoicing by the PMO (regie invoice)"
    ),
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Write an operation's invoices and producer statements for a month, or its yearly summary."""
    from regie.services import acc as service
    from regie.services import invoices as docs
    from regie.store.operations import load_operation

    if (month is None) == (year is None):
        raise typer.BadParameter("give either --month YYYY-MM or --year YYYY")
    if lang not in docs.LOCALES:
        raise typer.BadParameter(f"--lang is one of {', '.join(docs.LOCALES)}")
    with command_store(database_url, LookupError, ValueError) as store:
        stored = load_operation(store, operation)
        inv = store.load_inventory(stored.territory_id)
        pmo = next((o.name for o in inv.organisations if o.id == stored.operation.pmo_id), stored.operation.pmo_id)
        reader = _acc_reader(store, reason, stored.operation.step)
        if month is not None:
            run = service.bill_month(store, operation, month, reader, key=key, allow_illustrative=allow_illustrative)
            written = docs.write_documents(run, out, pmo_name=pmo, lang=lang)  # type: ignore[arg-type]
            console.print(
                f"{len(run.bills)} invoices, {len(run.statements)} producer statement(s): "
                f"{run.total_incl_vat_eur:,.2f} EUR incl. VAT"
            )
        else:
            summary = service.yearly_summary(
                store, operation, year, reader, key=key, allow_illustrative=allow_illustrative
            )
            out.mkdir(parents=True, exist_ok=True)
            pdf, csv_path = out / f"{operation}-{year}-summary.pdf", out / f"{operation}-{year}-summary.csv"
            pdf.write_bytes(docs.summary_pdf(summary, pmo_name=pmo, lang=lang))  # type: ignore[arg-type]
            csv_path.write_text(docs.summary_csv(summary), encoding="utf-8")
            written = [pdf, csv_path]
    console.print(f"wrote {len(written)} files to [bold]{out}[/]")
