"""Collective self-consumption commands: allocate an operation's production, write its invoices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regie.cli._app import _open, app, command_store, console, parse_day


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


# ---------------------------------------------------------------- setting an operation up (regie acc ...)
acc_app = typer.Typer(help="Collective self-consumption operations: create, participants, keys.", no_args_is_help=True)
acc_operation_app = typer.Typer(help="Create an operation, or show one.", no_args_is_help=True)
acc_participant_app = typer.Typer(help="Add a participant from a day on, or record its exit.", no_args_is_help=True)
acc_key_app = typer.Typer(help="The allocation key from a day on.", no_args_is_help=True)
app.add_typer(acc_app, name="acc")
acc_app.add_typer(acc_operation_app, name="operation")
acc_app.add_typer(acc_participant_app, name="participant")
acc_app.add_typer(acc_key_app, name="key")

DatabaseUrl = Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")]


def _setup_errors():
    from regie.governance.acc_setup import NotManager, SetupError

    return SetupError, NotManager, LookupError


def _print_check(check) -> None:
    """The perimeter figures with the rule each limit comes from (one line each)."""
    from regie.governance.acc_setup import RULE_SOURCES

    console.print(f"largest distance {check.distance_m / 1000:.2f} km (limit {check.distance_limit_m / 1000:g} km, "
                  f"{RULE_SOURCES[check.distance_rule]})")
    console.print(f"producers' peak power {check.power_w / 1e6:.3f} MW (below {check.power_limit_w / 1e6:g} MW, "
                  f"{RULE_SOURCES[check.power_rule]})")
    for w in check.warnings:
        console.print(f"[yellow]note[/]: {w}")


@acc_operation_app.command("create")
def acc_operation_create(
    operation_id: Annotated[str, typer.Argument(help="the operation's id (letters, digits, - and _)")],
    name: Annotated[str, typer.Option(help="its name")],
    pmo: Annotated[str, typer.Option(help="the PMO: an organisation of the inventory")],
    step: Annotated[str, typer.Option(help="metering step: PT15M or PT30M")] = "PT30M",
    zone: Annotated[str, typer.Option(help="mainland, or zni (non-interconnected zone)")] = "mainland",
    derogation: Annotated[
        bool, typer.Option("--derogation", help="the ministerial distance derogation (10 / 20 km) was granted")
    ] = False,
    key: Annotated[str, typer.Option(help="default, static or priority")] = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an operation (no participants yet) as the shell's admin."""
    from regie.governance.acc_setup import create_operation
    from regie.governance.accounts import CLI_ADMIN

    with command_store(database_url, *_setup_errors()) as store:
        made = create_operation(store, CLI_ADMIN, operation_id=operation_id, name=name, pmo_id=pmo, step=step,
                                zone=zone, derogation=derogation, key=key)  # fmt: skip
    console.print(f"operation [bold]{made.operation.id}[/] created for {pmo} in territory {made.territory_id} "
                  f"({step}, key {key})")


@acc_operation_app.command("show")
def acc_operation_show(
    operation_id: Annotated[str, typer.Argument(help="the operation's id")],
    database_url: DatabaseUrl = None,
) -> None:
    """An operation: participants (PRMs masked) with their consent to the PMO, key periods, the perimeter."""
    from datetime import date, datetime

    from regie.governance.acc_setup import masked_params, participant_consents, perimeter_check
    from regie.model import mask_prm
    from regie.store.operations import load_operation

    with command_store(database_url, *_setup_errors()) as store:
        stored = load_operation(store, operation_id)
        zone = store.load_inventory(stored.territory_id).territory.zone
        today = date.today()
        start = int(datetime(today.year, today.month, today.day, tzinfo=zone).timestamp())
        consents = {(c.participant.prm, c.participant.role): c.state
                    for c in participant_consents(store, stored, start, start + 86400)}  # fmt: skip
    op = stored.operation
    console.print(f"[bold]{op.name}[/] ({op.id}) · PMO {op.pmo_id} · {op.step.iso} · {op.zone.value}"
                  f"{' · derogation' if op.derogation else ''} · key {stored.key}")
    table = Table(title="participants")
    for col in ("participant", "PRM", "role", "type", "entry", "exit", "consent to the PMO today"):
        table.add_column(col)
    for p in op.participants:
        table.add_row(p.name, mask_prm(p.prm), p.role.value, p.type.value, str(p.entry), str(p.exit or "—"),
                      consents.get((p.prm, p.role), "not in today"))  # fmt: skip
    console.print(table)
    for kp in stored.key_periods:
        console.print(f"key from {kp.since}: {kp.key} {masked_params(kp.params) or ''}")
    _print_check(perimeter_check(op))


@acc_participant_app.command("add")
def acc_participant_add(
    operation_id: Annotated[str, typer.Argument(help="the operation's id")],
    prm: Annotated[str, typer.Argument(help="the delivery point (14 digits), declared in the inventory")],
    entry: Annotated[str, typer.Option("--entry", help="first day it counts, YYYY-MM-DD")],
    role: Annotated[str, typer.Option(help="consumer or producer")] = "consumer",
    kind: Annotated[str, typer.Option("--type", help="household, commune, business, public_body, ...")] = "household",
    priority: Annotated[int, typer.Option(help="priority level for the priority key (1 is served first)")] = 1,
    weight: Annotated[float, typer.Option(help="share inside its priority level")] = 1.0,
    peak_kw: Annotated[
        float | None, typer.Option("--peak-kw", help="a producer's peak power [kW] (default: the inventory's)")
    ] = None,
    latitude: Annotated[float | None, typer.Option(help="default: its site's")] = None,
    longitude: Annotated[float | None, typer.Option(help="default: its site's")] = None,
    density: Annotated[
        str | None, typer.Option(help="urban, periurban or rural (INSEE density grid, for the derogation)")
    ] = None,
    name: Annotated[str, typer.Option(help="how the PMO's pages name it")] = "",
    share: Annotated[float | None, typer.Option(help="a consumer's static share (0 to 1)")] = None,
    email: Annotated[
        str | None, typer.Option(help="invite the holder as a member at this address (if they have no account)")
    ] = None,
    lang: Annotated[str, typer.Option(help="language of the invitation e-mail: fr or en")] = "fr",
    base_url: Annotated[
        str | None, typer.Option(help="address the invitation link starts with (default: REGIE_PUBLIC_URL)")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a participant from a day on (refused if the perimeter would break), ask its holder's consent, and
    invite the holder with --email."""
    from regie.governance.acc_setup import add_participant
    from regie.governance.accounts import CLI_ADMIN
    from regie.model import mask_prm

    values = {"prm": prm, "role": role, "entry": parse_day(entry, "--entry"), "type": kind, "priority": priority,
              "weight": weight, "peak_power_w": peak_kw * 1000 if peak_kw is not None else None,
              "latitude": latitude, "longitude": longitude, "density": density, "name": name}  # fmt: skip
    with command_store(database_url, *_setup_errors()) as store:
        added = add_participant(store, CLI_ADMIN, operation_id, values, share=share, email=email)

    console.print(f"{mask_prm(added.participant.prm)} ({added.participant.role.value}) counts from "
                  f"{added.participant.entry} in {operation_id}")
    if added.request is not None:
        console.print(f"consent requested of {added.holder_id} for the PMO (request {added.request.id})")
    else:
        console.print(f"[yellow]no consent request[/]: {added.consent_note}")
    if added.invitation is not None:
        from regie.cli._app import load_settings
        from regie.cli.people import _base_url, _handed
        from regie.governance import invitations

        console.print(f"{added.holder_id} invited as [bold]{added.invitation.account.username}[/]")
        delivery = invitations.deliver(load_settings(), added.invitation, _base_url(base_url), lang)
        _handed(delivery, "invitation", added.invitation.expires_at)
    elif added.invitation_note:
        console.print(f"[yellow]no invitation[/]: {added.invitation_note}")
    _print_check(added.check)


@acc_participant_app.command("exit")
def acc_participant_exit(
    operation_id: Annotated[str, typer.Argument(help="the operation's id")],
    prm: Annotated[str, typer.Argument(help="the participant's delivery point")],
    on: Annotated[str, typer.Option("--on", help="first day it no longer counts, YYYY-MM-DD")],
    role: Annotated[str | None, typer.Option(help="consumer or producer, if it is both")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record a participant's exit: it no longer counts from that day on."""
    from regie.governance.acc_setup import record_exit
    from regie.governance.accounts import CLI_ADMIN
    from regie.model import mask_prm

    with command_store(database_url, *_setup_errors()) as store:
        left = record_exit(store, CLI_ADMIN, operation_id, prm, parse_day(on, "--on"), role=role)
    console.print(f"{mask_prm(left.prm)} leaves {operation_id}: it counts until {left.exit} (excluded)")


@acc_key_app.command("set")
def acc_key_set(
    operation_id: Annotated[str, typer.Argument(help="the operation's id")],
    key: Annotated[str, typer.Argument(help="default, static or priority")],
    since: Annotated[str, typer.Option("--from", help="first day the key applies, YYYY-MM-DD")],
    params: Annotated[
        str | None,
        typer.Option(help='JSON: {"shares": {"PRM": 0.5}} (static) or {"share": "consumption"} (priority)'),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Use a key from a day on (until the next key period, if any)."""
    from regie.governance.acc_setup import parse_params, set_key
    from regie.governance.accounts import CLI_ADMIN

    with command_store(database_url, *_setup_errors()) as store:
        since_day, parsed = parse_day(since, "--from"), parse_params(params, "--params")
        period = set_key(store, CLI_ADMIN, operation_id, key, since_day, parsed)
    console.print(f"{operation_id}: key {period.key} from {period.since}")
