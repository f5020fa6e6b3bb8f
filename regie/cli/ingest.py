"""Ingest commands: file imports, API keys, MQTT, the quarantine and emoncms input mapping."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regie.cli._app import _open, app, command_store, console, load_settings
from regie.cli._output import Column, Format, FormatOption, emit

# ---------------------------------------------------------------- API keys
key_app = typer.Typer(
    help="API keys for machines: an emonPi posting inputs, a script reading feeds.", no_args_is_help=True
)


app.add_typer(key_app, name="key")


@key_app.command("add")
def key_add(
    name: Annotated[str, typer.Argument(help="what the key is for, e.g. 'emonpi garage'")],
    scope: Annotated[list[str] | None, typer.Option(help="read, write or ingest; repeat for several")] = None,
    node: Annotated[str | None, typer.Option(help="a device key: may only post this emoncms node")] = None,
    owner: Annotated[
        str | None, typer.Option(help="the account (username) this key acts for on /api/me; none: a machine")
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(help="a sensor key (an emonPi's): its inputs become this site's series, it writes nothing else"),
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Create a key. It is printed once: regie keeps only its SHA-256."""
    from regie.governance.accounts import get_account
    from regie.governance.key_owner import owner_ref
    from regie.ingest.apikeys import create_key

    scopes = scope or (["ingest"] if node or site else ["write"])
    with command_store(database_url, ValueError) as store:
        acct = get_account(store, owner) if owner is not None else None
        if owner is not None and acct is None:
            raise ValueError(f"no account {owner!r}: create it first (regie user add)")
        key, secret = create_key(
            store, name, scopes, node=node, owner_id=owner_ref(acct) if acct else None, site_id=site
        )
    bound = "".join(f", {what} {value}" for what, value in (("node", node), ("site", site)) if value)
    console.print(f"key #{key.id} [bold]{name}[/] ({', '.join(sorted(key.scopes))}{bound})")
    console.print("copy it now, it will not be shown again:")
    typer.echo(secret)


@key_app.command("list")
def key_list(
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The keys (never their secrets)."""
    from regie.ingest.apikeys import list_keys

    store = _open(database_url)
    keys = list_keys(store)
    store.close()
    columns = (Column("id", "id", "id"), Column("name", "name", ratio=2), Column("scopes", "scopes", "list"),
               Column("node", "node"), Column("site", "site"), Column("created", "created (UTC)", "time"),
               Column("revoked", "revoked (UTC)", "time"))  # fmt: skip
    rows = [{"id": k.id, "name": k.name, "scopes": sorted(k.scopes), "node": k.node, "site": k.site_id,
             "created": k.created_at, "revoked": k.revoked_at} for k in keys]  # fmt: skip
    emit(rows, columns, fmt, title="API keys")


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[int, typer.Argument(help="the id shown by `regie key list`")],
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Revoke a key at once (kept in the list, never valid again)."""
    from regie.ingest.apikeys import revoke

    store = _open(database_url)
    done = revoke(store, key_id)
    store.close()
    if not done:
        raise typer.BadParameter(f"no active key #{key_id}")
    console.print(f"key #{key_id} revoked")


# ---------------------------------------------------------------- live ingest
ingest_app = typer.Typer(help="Live ingest from sources that push (MQTT).", no_args_is_help=True)


app.add_typer(ingest_app, name="ingest")


@ingest_app.command("mqtt")
def ingest_mqtt(
    host: Annotated[str | None, typer.Option(help="MQTT broker (overrides REGIE_MQTT_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="MQTT broker port (overrides REGIE_MQTT_PORT)")] = None,
    base: Annotated[str | None, typer.Option(help="base topic, emoncms: emon (overrides REGIE_MQTT_BASE)")] = None,
    client_id: Annotated[str, typer.Option(help="fixed, so the broker keeps the session")] = "regie-ingest",
    username: Annotated[str | None, typer.Option(help="overrides REGIE_MQTT_USERNAME")] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Ingest emoncms MQTT topics (<base>/<node>/<input>, <base>/<node>) with a persistent QoS 1 session.
    The broker and its login come from the settings (REGIE_MQTT_* or the TOML file); the password never
    from the command line."""
    import logging

    from regie.governance import writes
    from regie.ingest.inputs import InputService
    from regie.ingest.mqtt import MqttIngester

    settings = load_settings()
    host, port, base = host or settings.mqtt_host, port or settings.mqtt_port, base or settings.mqtt_base
    username, password = username or settings.mqtt_username, settings.mqtt_password

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = _open(database_url)
    console.print(f"ingesting MQTT [bold]{base}/#[/] from {host}:{port} as {client_id}  (Ctrl-C to stop)")
    with InputService(store) as service:
        ingester = MqttIngester(
            service, host=host, port=port, base=base, client_id=client_id, username=username, password=password,
            guards=lambda: writes.guard(store, writes.MQTT, "mqtt", f"{base}/#", live=True),
        )  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop() has stored and acknowledged what arrived
            ingester.run_forever()
    console.print(f"stored {ingester.stored:,} messages, {ingester.rejected:,} refused (see the quarantine)")
    store.close()


# ---------------------------------------------------------------- file import
def _parse_options(option: list[str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: options are key=value, e.g. -o unit=kW")
        out[key.strip().replace("-", "_")] = (
            int(value) if value.isdigit() and key in ("chunk_rows", "block_points") else value
        )
    return out


@app.command("import")
def import_command(
    fmt: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT",
            help="enedis-portal, enedis-r63, enedis-dataconnect, enedis-r15-acc, emoncms-archive or csv",
        ),
    ],
    paths: Annotated[list[Path], typer.Argument(help="files, or emoncms backup folders / .tar.gz / .zip")],
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="adapter option key=value, repeatable: csv: time_column, time_format (iso, unix, unix_ms or "
            "%d/%m/%Y %H:%M), columns (col=series[:unit],...), unit, convention (start/end/instant), step, "
            "kind, timezone; enedis-*: kind; emoncms-archive: prefix; enedis-r15-acc: key_file (a file with the AES "
            "key and IV in hex, never printed)",
        ),
    ] = None,
    territory: Annotated[str | None, typer.Option(help="territory id (default: the store's only one)")] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="import for this account (username): only the series it may write"),
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Import files, each all or nothing: a malformed file writes nothing and says file, line, field and why.
    Readings of unknown delivery points go to the quarantine; importing a file twice stores it once. Every
    import is decided and logged in the access log (regie.governance.writes): as the server's shell, or as
    the account given with --as."""
    from rich.progress import TaskProgressColumn

    from regie.governance import writes
    from regie.governance.accounts import get_account
    from regie.ingest import IngestError
    from regie.ingest.importer import Importer

    options = _parse_options(option)
    store = _open(database_url)
    failed = 0
    reports = []
    try:
        writer = writes.CLI
        if as_user is not None:
            account = get_account(store, as_user)
            if account is None:
                raise IngestError(f"no account {as_user!r}", field="--as")
            writer = writes.Writer(account, "cli")
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[points]:>12,} points"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            for path in paths:
                task = progress.add_task(path.name, total=1.0, points=0)

                def advance(fraction: float | None, points: int, task=task) -> None:
                    progress.update(task, completed=fraction if fraction is not None else 0, points=points)

                guard = writes.guard(store, writer, f"import/{fmt}", path.name)
                importer = Importer(store, territory, guard=guard)
                try:
                    report = importer.import_path(fmt, path, progress=advance, **options)
                    guard.finish(points=report.points_written)
                    reports.append(report)
                    progress.update(task, completed=1.0)
                except writes.WriteDenied as exc:
                    guard.finish(exc)
                    failed += 1
                    progress.update(task, description=f"[red]{path.name}[/]")
                    console.print(f"[red]not imported[/] (nothing written): {path.name}: refused: {exc.reason}")
                except IngestError as exc:
                    failed += 1
                    progress.update(task, description=f"[red]{path.name}[/]")
                    console.print(f"[red]not imported[/] (nothing written): {exc.describe()}")
    except IngestError as exc:
        raise typer.BadParameter(exc.describe()) from None
    finally:
        store.close()
    if reports:
        table = Table(title=f"import {fmt}")
        for col in ("file", "read", "written", "quarantined", "series", "created", "s", "points/s"):
            table.add_column(col, justify="left" if col == "file" else "right")
        for r in reports:
            table.add_row(
                r.source,
                f"{r.points_read:,}",
                f"{r.points_written:,}",
                f"{r.quarantined:,}",
                str(len(r.series)),
                str(len(r.created)),
                f"{r.seconds:.2f}",
                f"{r.points_read / r.seconds:,.0f}" if r.seconds else "",
            )
        console.print(table)
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- quarantine and emoncms inputs (regie.ingest.admin)
quarantine_app = typer.Typer(help="Readings that could not be placed: list, release, discard.", no_args_is_help=True)


input_app = typer.Typer(help="emoncms inputs and the series they feed.", no_args_is_help=True)


app.add_typer(quarantine_app, name="quarantine")


app.add_typer(input_app, name="input")


def _quarantine_key(store, ref: str, source: str | None) -> tuple[str, str]:
    """A key given as the reference `regie quarantine list` prints, or as SOURCE + the key itself."""
    from regie.ingest.admin import resolve_ref

    return (source, ref) if source else resolve_ref(store, ref)


@quarantine_app.command("list")
def quarantine_list(
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The quarantine by source and key (PRMs masked), with a reference to release or discard them."""
    from regie.ingest.admin import quarantine_lines

    store = _open(database_url)
    try:
        lines = quarantine_lines(store)
    finally:
        store.close()
    columns = (Column("ref", "ref", "id"), Column("source", "source"), Column("key", "key (masked)", "id"),
               Column("reason", "reason", ratio=3), Column("readings", "readings", "int"),
               Column("first", "first (UTC)", "time"), Column("last", "last (UTC)", "time"),
               Column("territory_id", "territory", "id"))  # fmt: skip
    rows = [{**q, "key": q["shown"]} for q in lines]  # the PRM masked, in every format
    emit(rows, columns, fmt, title="quarantine", empty="the quarantine is empty")


@quarantine_app.command("release")
def quarantine_release(
    ref: Annotated[str, typer.Argument(help="the ref from `regie quarantine list` (or the key, with --source)")],
    source: Annotated[str | None, typer.Option(help="the source, when REF is the key itself")] = None,
    series: Annotated[str | None, typer.Option(help="the series to write to (default: the PRM's or input's)")] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Write a key's readings to their series, now declared, and take them out of quarantine (one transaction)."""
    from regie.governance import writes
    from regie.ingest.admin import AdminError, release

    with command_store(database_url, AdminError) as store:
        src, key = _quarantine_key(store, ref, source)
        guard = writes.guard(store, writes.CLI, "quarantine/release", key)
        done = writes.run(guard, lambda: release(store, src, key, series_id=series, guard=guard))
    console.print(f"released {done.taken:,} readings to series [bold]{done.series}[/] ({done.written:,} written)")


@quarantine_app.command("declare")
def quarantine_declare(
    prm: Annotated[str, typer.Argument(help="the quarantined PRM (14 digits) or its ref (regie quarantine list)")],
    site: Annotated[str, typer.Option(help="the site it is on: an existing site id, or a new one with --site-name")],
    site_name: Annotated[str | None, typer.Option(help="create the site --site with this name")] = None,
    segment: Annotated[
        str | None, typer.Option(help="Enedis segment, C5 (≤ 36 kVA), C4... (default: guessed from the step)")
    ] = None,
    usage: Annotated[str, typer.Option(help="residential, professional, public, production...")] = "residential",
    kva: Annotated[str | None, typer.Option(help="subscribed power in kVA")] = None,
    holder: Annotated[str | None, typer.Option(help="its holder: a person or organisation id")] = None,
    holder_name: Annotated[str | None, typer.Option(help="add the person --holder with this name")] = None,
    since: Annotated[
        str | None, typer.Option(help="first day held, YYYY-MM-DD (default: the day of its first reading)")
    ] = None,
    source: Annotated[str | None, typer.Option(help="the source, when the PRM waits under several")] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Declare a quarantined PRM (its site and holder) in the inventory, then release its readings."""
    from datetime import date

    from regie.governance import writes
    from regie.governance.accounts import CLI_ADMIN
    from regie.ingest.admin import AdminError, Declaration, declaration_defaults, declare_prm, find_quarantined

    try:
        first = date.fromisoformat(since) if since else None
    except ValueError:
        raise typer.BadParameter(f"--since {since!r} is not a date YYYY-MM-DD") from None
    with command_store(database_url, AdminError) as store:
        src, key = find_quarantined(store, prm, source)
        guessed = declaration_defaults(store, src, key)["segment"]
        declaration = Declaration(site, site_name, segment or guessed, usage, kva, holder, holder_name, first)
        guard = writes.guard(store, writes.CLI, "quarantine/release", key)
        done = writes.run(guard, lambda: declare_prm(store, CLI_ADMIN, src, key, declaration, guard=guard))
    r = done.released
    console.print(
        f"declared ({done.added} added to the inventory), released {r.taken:,} readings to series "
        f"[bold]{r.series}[/] ({r.written:,} written)"
    )


@quarantine_app.command("discard")
def quarantine_discard(
    ref: Annotated[str, typer.Argument(help="the ref from `regie quarantine list` (or the key, with --source)")],
    source: Annotated[str | None, typer.Option(help="the source, when REF is the key itself")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Delete a key's quarantined readings for good (logged)."""
    from regie.ingest.admin import AdminError, discard, masked_key

    with command_store(database_url, AdminError) as store:
        src, key = _quarantine_key(store, ref, source)
        if not yes:
            typer.confirm(f"discard the quarantined readings of {src} {masked_key(key)}?", abort=True)
        n = discard(store, src, key)
    console.print(f"discarded {n:,} readings")


@input_app.command("list")
def input_list(
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Every emoncms input with its series and last value."""
    from regie.ingest.inputs import InputService

    store = _open(database_url)
    try:
        rows = InputService(store).inputs()
    finally:
        store.close()
    columns = (Column("node", "node", ratio=2), Column("name", "input", ratio=2), Column("series", "series", "id"),
               Column("unit", "unit"), Column("last_time", "last (UTC)", "time"),
               Column("last_value", "last value", "number"))  # fmt: skip
    emit(rows, columns, fmt, title="emoncms inputs", empty="no input has posted yet")


@input_app.command("remap")
def input_remap(
    node: Annotated[str, typer.Argument(help="the emoncms node")],
    name: Annotated[str, typer.Argument(help="the input's name")],
    series: Annotated[str, typer.Argument(help="the series its readings go to from now on")],
    create: Annotated[bool, typer.Option("--create", help="create the series (like the current one) if new")] = False,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Bind an input to another series (a running `regie serve` picks it up at its next restart)."""
    from regie.governance import writes
    from regie.ingest.admin import AdminError, remap_input
    from regie.ingest.inputs import InputService

    with command_store(database_url, AdminError) as store:
        guard = writes.guard(store, writes.CLI, "input/remap", f"{node}/{name}")
        target = writes.run(guard, lambda: remap_input(InputService(store), node, name, series, create=create,
                                                       guard=guard))  # fmt: skip
    console.print(f"input {node}/{name} → series [bold]{target.id}[/]")
