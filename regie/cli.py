"""The ``regie`` command."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regie.config import get_settings

app = typer.Typer(help="regie — an energy-data trust for local energy communities.", no_args_is_help=True)
console = Console()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


@app.command()
def init(database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None) -> None:
    """Create the store (or migrate it to the newest schema)."""
    from regie.store import open_store

    url = database_url or get_settings().resolved_database_url
    open_store(url).close()
    console.print(f"store ready: [bold]{_redact(url)}[/]")


def _redact(url: str) -> str:
    """Never print a database password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_demo(url: str, seed: int) -> None:
    from regie.demo import build_prats
    from regie.demo.install import install
    from regie.store import open_store

    t0 = time.perf_counter()
    with console.status("generating the Prats-de-Mollo-la-Preste year (demandlib, pvlib)..."):
        demo = build_prats(seed=seed)
    t1 = time.perf_counter()
    store = open_store(url)
    if store.count_points():
        store.close()
        raise typer.BadParameter(f"{_redact(url)} already holds data; choose an empty path or remove it first")
    columns = (TextColumn("writing series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("write", total=len(demo.inventory.series))
        report = install(store, demo, progress=lambda n: progress.advance(task, n))
    t2 = time.perf_counter()
    from regie.governance.demo_accounts import create_demo_accounts

    logins = create_demo_accounts(store)  # random passwords, shown below once, only their hashes stored
    from regie.demo.acc_accounts import create_acc_demo_accounts

    logins += create_acc_demo_accounts(store)  # the ACC operation's PMO, one participant, the participants' grants
    store.close()
    table = Table(title=f"demo territory: {demo.inventory.territory.name}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("delivery points", f"{len(demo.inventory.delivery_points):,}")
    table.add_row("series", f"{report.series:,}")
    table.add_row("points written", f"{report.points:,}")
    table.add_row("generate", f"{t1 - t0:.1f} s")
    table.add_row("write", f"{t2 - t1:.1f} s")
    table.add_row("store", _redact(url))
    console.print(table)
    people = Table(title="demo accounts (passwords drawn at random for this build, shown once)")
    for col in ("username", "role", "holder / operator of", "password"):
        people.add_column(col)
    for a in logins:
        people.add_row(a.username, a.role, a.holder_id or a.operator_of or "", a.password)
    console.print(people)
    console.print("membre1 has granted the commune daily access; the commune has asked membre2 for the same.")
    console.print(
        "pmo runs the collective self-consumption operation (/acc), whose participants granted it their "
        "30-minute curves; participant is one of its households."
    )


@app.command()
def demo(
    build_only: Annotated[
        Path | None, typer.Option("--build-only", help="build the demo store at this path and exit")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same year")] = 42,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
    scenario: Annotated[
        str, typer.Option(help="prats (a village's year at 30 min) or schools (a town's schools, live feed)")
    ] = "prats",
) -> None:
    """Build the demo territory (Prats-de-Mollo-la-Preste, one year at 30 min) and serve the web UI."""
    settings = get_settings()
    if scenario == "schools":
        _demo_schools(settings, build_only, seed, host, port)
        return
    if scenario != "prats":
        raise typer.BadParameter(f"unknown scenario {scenario!r}: prats or schools")
    if build_only is not None:
        build_demo(_sqlite_url(build_only), seed)
        return
    path = settings.data_dir / "demo.sqlite"
    url = _sqlite_url(path)
    if path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    build_demo(url, seed)
    _serve(url, host or settings.host, port or settings.port)


@app.command()
def serve(
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
    mqtt: Annotated[
        bool, typer.Option("--mqtt", help="also ingest emoncms MQTT topics (see `regie ingest mqtt`)")
    ] = False,
    mqtt_host: Annotated[str, typer.Option(envvar="REGIE_MQTT_HOST", help="MQTT broker")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(envvar="REGIE_MQTT_PORT", help="MQTT broker port")] = 1883,
    mqtt_base: Annotated[str, typer.Option(envvar="REGIE_MQTT_BASE", help="base topic")] = "emon",
) -> None:
    """Serve the web UI and the API on a store."""
    settings = get_settings()
    broker = (mqtt_host, mqtt_port, mqtt_base) if mqtt else None
    _serve(database_url or settings.resolved_database_url, host or settings.host, port or settings.port, broker)


def _serve(url: str, host: str, port: int, mqtt: tuple[str, int, str] | None = None, setup=None) -> None:
    """Serve a store; ``setup(web)`` may prepare the app and return a function to call on the way out."""
    import uvicorn

    from regie.ingest.inputs import InputService
    from regie.store import open_store
    from regie.web.app import create_app
    from regie.web.emoncms import mask_keys_in_access_log

    store = open_store(url)
    web = create_app(store)
    mask_keys_in_access_log()  # emoncms clients send ?apikey=... in the URL
    _secure_web(web)
    from regie.services.alerts import thresholds_from_settings

    web.state.transformer_thresholds = thresholds_from_settings(get_settings())  # the supervision pages' alerts
    # One writer per process: the emoncms HTTP routes and the MQTT ingester share it.
    web.state.inputs = InputService(store).start()
    ingester = None
    if mqtt is not None:
        from regie.ingest.mqtt import MqttIngester

        ingester = MqttIngester(web.state.inputs, host=mqtt[0], port=mqtt[1], base=mqtt[2]).start()
        console.print(f"ingesting MQTT [bold]{mqtt[2]}/#[/] from {mqtt[0]}:{mqtt[1]}")
    cleanup = setup(web) if setup is not None else None
    console.print(f"serving [bold]{_redact(url)}[/] on [link]http://{host}:{port}/[/link]  (Ctrl-C to stop)")
    try:
        # open live streams (server-sent events) must not hold a Ctrl-C for minutes
        uvicorn.run(web, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
    finally:
        if cleanup is not None:
            cleanup()
        if ingester is not None:
            ingester.stop()
        web.state.inputs.close()


def build_schools_demo(url: str, seed: int) -> tuple[object, str, str]:
    """Build the schools territory into an empty store: (data, admin password, API key of the live feed)."""
    import secrets

    from regie.demo.schools import build_schools
    from regie.demo.schools_live import install_schools
    from regie.governance import accounts
    from regie.ingest import apikeys
    from regie.store import open_store

    with console.status("generating the schools' two years (hourly) and last weeks (10 s)..."):
        data = build_schools(seed=seed)
    store = open_store(url)
    try:
        if store.count_points():
            raise typer.BadParameter(f"{_redact(url)} already holds data; choose an empty path or remove it first")
        with console.status("writing the schools' series..."):
            points = install_schools(store, data)
        password = secrets.token_urlsafe(12)
        accounts.create_account(store, "admin", password, "admin")
        _, key = apikeys.create_key(store, "schools demo live feed", ["ingest"])
    finally:
        store.close()
    console.print(f"demo territory: [bold]{data.inventory.territory.name}[/], {points:,} points in {_redact(url)}")
    return data, password, key


def _demo_schools(settings, build_only: Path | None, seed: int, host: str | None, port: int | None) -> None:
    """``regie demo --scenario schools``: its own store, served with a live feed posting to /input/bulk."""
    from regie.demo.schools_live import LiveFeed, savings_presets

    path = build_only or settings.data_dir / "demo-schools.sqlite"
    if build_only is None and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = _sqlite_url(path)
    data, password, key = build_schools_demo(url, seed)
    console.print(f"log in as [bold]admin[/] with password [bold]{password}[/] (drawn for this build, shown once)")
    if build_only is not None:
        return
    host, port = host or settings.host, port or settings.port

    def setup(web):
        web.state.savings_presets = savings_presets(data)  # type: ignore[arg-type]
        feed = LiveFeed(f"http://{host}:{port}", key, data).start()  # type: ignore[arg-type]
        console.print("live feed: the three schools post every 10 s to /input/bulk — see /live")
        return feed.stop

    _serve(url, host, port, setup=setup)


def _secure_web(web) -> None:
    """Give the app the régie's CSRF secret and audit public key from the data directory (never from argv)."""
    from regie.governance import keys

    data_dir = get_settings().data_dir
    web.state.secret = keys.load_or_create_secret(data_dir)
    if (keys.keys_dir(data_dir) / keys.AUDIT_KEY_FILE).exists():
        web.state.audit_public_key = keys.load_or_create_signing_key(data_dir).public_key()


# ---------------------------------------------------------------- API keys
key_app = typer.Typer(
    help="API keys for machines: an emonPi posting inputs, a script reading feeds.", no_args_is_help=True
)
app.add_typer(key_app, name="key")


def _open(database_url: str | None):
    from regie.store import open_store

    return open_store(database_url or get_settings().resolved_database_url)


@key_app.command("add")
def key_add(
    name: Annotated[str, typer.Argument(help="what the key is for, e.g. 'emonpi garage'")],
    scope: Annotated[list[str] | None, typer.Option(help="read, write or ingest; repeat for several")] = None,
    node: Annotated[str | None, typer.Option(help="a device key: may only post this emoncms node")] = None,
    owner: Annotated[
        str | None, typer.Option(help="the account (username) this key acts for on /api/me; none: a machine")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Create a key. It is printed once: regie keeps only its SHA-256."""
    from regie.governance.accounts import get_account
    from regie.ingest.apikeys import create_key

    scopes = scope or (["ingest"] if node else ["write"])
    store = _open(database_url)
    try:
        if owner is not None and get_account(store, owner) is None:
            raise ValueError(f"no account {owner!r}: create it first (regie user add)")
        key, secret = create_key(store, name, scopes, node=node, owner_id=owner)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(
        f"key #{key.id} [bold]{name}[/] ({', '.join(sorted(key.scopes))}" + (f", node {node})" if node else ")")
    )
    console.print("copy it now, it will not be shown again:")
    typer.echo(secret)


@key_app.command("list")
def key_list(database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None) -> None:
    """The keys (never their secrets)."""
    from datetime import UTC, datetime

    from regie.ingest.apikeys import list_keys

    store = _open(database_url)
    keys = list_keys(store)
    store.close()
    table = Table(title="API keys")
    for col in ("id", "name", "scopes", "node", "created (UTC)", "revoked (UTC)"):
        table.add_column(col)

    def when(t: int | None) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") if t else ""

    for k in keys:
        table.add_row(
            str(k.id), k.name, ",".join(sorted(k.scopes)), k.node or "", when(k.created_at), when(k.revoked_at)
        )
    console.print(table)


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
    host: Annotated[str, typer.Option(envvar="REGIE_MQTT_HOST", help="MQTT broker")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="REGIE_MQTT_PORT", help="MQTT broker port")] = 1883,
    base: Annotated[str, typer.Option(envvar="REGIE_MQTT_BASE", help="base topic (emoncms: emon)")] = "emon",
    client_id: Annotated[str, typer.Option(help="fixed, so the broker keeps the session")] = "regie-ingest",
    username: Annotated[str | None, typer.Option(envvar="REGIE_MQTT_USERNAME")] = None,
    password: Annotated[str | None, typer.Option(envvar="REGIE_MQTT_PASSWORD", help="from the environment")] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Ingest emoncms MQTT topics (<base>/<node>/<input>, <base>/<node>) with a persistent QoS 1 session."""
    import logging

    from regie.ingest.inputs import InputService
    from regie.ingest.mqtt import MqttIngester

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = _open(database_url)
    console.print(f"ingesting MQTT [bold]{base}/#[/] from {host}:{port} as {client_id}  (Ctrl-C to stop)")
    with InputService(store) as service:
        ingester = MqttIngester(
            service, host=host, port=port, base=base, client_id=client_id, username=username, password=password
        )
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
        typer.Argument(metavar="FORMAT", help="enedis-portal, enedis-r63, enedis-dataconnect, emoncms-archive or csv"),
    ],
    paths: Annotated[list[Path], typer.Argument(help="files, or emoncms backup folders / .tar.gz / .zip")],
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="adapter option key=value, repeatable: csv: time_column, time_format (iso, unix, unix_ms or "
            "%d/%m/%Y %H:%M), columns (col=series[:unit],...), unit, convention (start/end/instant), step, "
            "kind, timezone; enedis-*: kind; emoncms-archive: prefix",
        ),
    ] = None,
    territory: Annotated[str | None, typer.Option(help="territory id (default: the store's first)")] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Import files, each all or nothing: a malformed file writes nothing and says file, line, field and why.
    Readings of unknown delivery points go to the quarantine; importing a file twice stores it once."""
    from rich.progress import TaskProgressColumn

    from regie.ingest import IngestError
    from regie.ingest.importer import Importer

    options = _parse_options(option)
    store = _open(database_url)
    failed = 0
    reports = []
    try:
        importer = Importer(store, territory)
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

                try:
                    reports.append(importer.import_path(fmt, path, progress=advance, **options))
                    progress.update(task, completed=1.0)
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
) -> None:
    """The quarantine by source and key (PRMs masked), with a reference to release or discard them."""
    from regie.ingest.admin import quarantine_lines

    store = _open(database_url)
    try:
        lines = quarantine_lines(store)
    finally:
        store.close()
    table = Table(title="quarantine")
    for col in ("ref", "source", "key", "reason", "readings", "first (UTC)", "last (UTC)"):
        table.add_column(col, justify="right" if col == "readings" else "left", no_wrap=col in ("ref", "key"))
    for q in lines:
        table.add_row(
            q["ref"], q["source"], q["shown"], q["reason"], f"{q['readings']:,}", _utc(q["first"]), _utc(q["last"])
        )
    console.print(table if lines else "the quarantine is empty")


@quarantine_app.command("release")
def quarantine_release(
    ref: Annotated[str, typer.Argument(help="the ref from `regie quarantine list` (or the key, with --source)")],
    source: Annotated[str | None, typer.Option(help="the source, when REF is the key itself")] = None,
    series: Annotated[str | None, typer.Option(help="the series to write to (default: the PRM's or input's)")] = None,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Write a key's readings to their series, now declared, and take them out of quarantine (one transaction)."""
    from regie.ingest.admin import AdminError, release

    store = _open(database_url)
    try:
        src, key = _quarantine_key(store, ref, source)
        done = release(store, src, key, series_id=series)
    except AdminError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"released {done.taken:,} readings to series [bold]{done.series}[/] ({done.written:,} written)")


@quarantine_app.command("discard")
def quarantine_discard(
    ref: Annotated[str, typer.Argument(help="the ref from `regie quarantine list` (or the key, with --source)")],
    source: Annotated[str | None, typer.Option(help="the source, when REF is the key itself")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Delete a key's quarantined readings for good (logged)."""
    from regie.ingest.admin import AdminError, discard, masked_key

    store = _open(database_url)
    try:
        src, key = _quarantine_key(store, ref, source)
        if not yes:
            typer.confirm(f"discard the quarantined readings of {src} {masked_key(key)}?", abort=True)
        n = discard(store, src, key)
    except AdminError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"discarded {n:,} readings")


@input_app.command("list")
def input_list(database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None) -> None:
    """Every emoncms input with its series and last value."""
    from regie.ingest.inputs import InputService

    store = _open(database_url)
    try:
        rows = InputService(store).inputs()
    finally:
        store.close()
    table = Table(title="emoncms inputs")
    for col in ("node", "input", "series", "unit", "last (UTC)", "last value"):
        table.add_column(col, justify="right" if col == "last value" else "left")
    for r in rows:
        value = "" if r["last_value"] is None else f"{r['last_value']:g}"
        table.add_row(r["node"], r["name"], r["series"], r["unit"], _utc(r["last_time"]), value)
    console.print(table if rows else "no input has posted yet")


@input_app.command("remap")
def input_remap(
    node: Annotated[str, typer.Argument(help="the emoncms node")],
    name: Annotated[str, typer.Argument(help="the input's name")],
    series: Annotated[str, typer.Argument(help="the series its readings go to from now on")],
    create: Annotated[bool, typer.Option("--create", help="create the series (like the current one) if new")] = False,
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
) -> None:
    """Bind an input to another series (a running `regie serve` picks it up at its next restart)."""
    from regie.ingest.admin import AdminError, remap_input
    from regie.ingest.inputs import InputService

    store = _open(database_url)
    try:
        target = remap_input(InputService(store), node, name, series, create=create)
    except AdminError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"input {node}/{name} → series [bold]{target.id}[/]")


# ---------------------------------------------------------------- governance: accounts, consent, audit, rights
user_app = typer.Typer(help="Accounts: admin, operator, member (the public has none).", no_args_is_help=True)
consent_app = typer.Typer(help="Consent grants: who reads whose data, how finely, why, how long.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident access log.", no_args_is_help=True)
member_app = typer.Typer(help="Data-subject rights: export, erase, correct.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(consent_app, name="consent")
app.add_typer(audit_app, name="audit")
app.add_typer(member_app, name="member")

DbOption = Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")]


def _new_password(from_stdin: bool) -> str:
    """Read a password from a hidden prompt or one line of stdin: never from the command line (ps shows it)."""
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _utc(t: int | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") if t else ""


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name: lower-case letters, digits, '.', '_', '-'")],
    role: Annotated[str, typer.Option(help="admin, operator or member")] = "member",
    holder: Annotated[str | None, typer.Option(help="member: the person or organisation id of the inventory")] = None,
    operator_of: Annotated[str | None, typer.Option(help="operator: the organisation or operation run")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
    database_url: DbOption = None,
) -> None:
    """Create an account (the password is asked for, hashed with argon2id, never stored in clear)."""
    from regie.governance import accounts

    password = _new_password(password_stdin)
    store = _open(database_url)
    try:
        a = accounts.create_account(
            store, username, password, role, holder_id=holder, operator_of=operator_of, display_name=name
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"account [bold]{a.username}[/] ({a.role.value}) created")


@user_app.command("list")
def user_list(database_url: DbOption = None) -> None:
    """The accounts, their roles and links (never a password hash)."""
    from regie.governance import accounts

    store = _open(database_url)
    found = accounts.list_accounts(store)
    store.close()
    table = Table(title="accounts")
    for col in ("username", "role", "holder", "operator of", "created (UTC)", "disabled (UTC)"):
        table.add_column(col)
    for a in found:
        table.add_row(
            a.username, a.role.value, a.holder_id or "", a.operator_of or "", _utc(a.created_at), _utc(a.disabled_at)
        )
    console.print(table)


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
    database_url: DbOption = None,
) -> None:
    """Set a new password; the account's open sessions end."""
    from regie.governance import accounts

    password = _new_password(password_stdin)
    store = _open(database_url)
    try:
        accounts.set_password(store, username, password)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"password of [bold]{username}[/] changed")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()], database_url: DbOption = None) -> None:
    """Disable an account at once: no login, no session, the gate refuses it."""
    from regie.governance import accounts

    store = _open(database_url)
    try:
        accounts.disable_account(store, username)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"account [bold]{username}[/] disabled")


def _local_instant(store, day: str) -> int:
    from datetime import date, datetime

    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=store.load_inventory().territory.zone).timestamp())


@consent_app.command("grant")
def consent_grant(
    subject: Annotated[str, typer.Option(help="the data subject: person or organisation id")],
    to: Annotated[str, typer.Option(help="recipient as KIND:ID, KIND = account, organisation or operation")],
    purpose: Annotated[str, typer.Option(help="a DPV purpose, e.g. dpv:FulfilmentOfContractualObligation")],
    data_from: Annotated[str, typer.Option("--from", help="first day of data covered (YYYY-MM-DD, local)")],
    expires: Annotated[str, typer.Option(help="last day the grant is valid (YYYY-MM-DD), at most 3 years ahead")],
    category: Annotated[list[str] | None, typer.Option(help="series kind; repeat (default consumption)")] = None,
    prm: Annotated[list[str] | None, typer.Option(help="delivery point; repeat (default: all held)")] = None,
    granularity: Annotated[str, typer.Option(help="PT30M, P1D or P1M: the finest step the recipient sees")] = "P1D",
    data_until: Annotated[str | None, typer.Option("--until", help="day after the last day of data covered")] = None,
    database_url: DbOption = None,
) -> None:
    """Record a grant given by a data subject (on paper, or by e-mail, to an admin)."""
    from sqlalchemy import select

    from regie.governance import consent
    from regie.governance.accounts import CLI_ADMIN
    from regie.store.schema import membership

    kind, _, recipient = to.partition(":")
    store = _open(database_url)
    try:
        if not prm:
            with store.engine.connect() as conn:
                q = select(membership.c.prm).where(membership.c.holder_id == subject)
                prm = sorted({r.prm for r in conn.execute(q)})
        g = consent.grant(
            store, CLI_ADMIN, subject_id=subject, recipient_kind=kind, recipient_id=recipient,
            categories=category or ["consumption"], prms=prm, granularity=granularity,
            data_start=_local_instant(store, data_from),
            data_end=_local_instant(store, data_until) if data_until else None,
            purpose=purpose, expires_at=_local_instant(store, expires) + 86400,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"grant [bold]{g.id}[/] given by {subject} to {g.recipient} ({granularity}, {purpose})")


@consent_app.command("list")
def consent_list(
    subject: Annotated[str | None, typer.Option(help="only this data subject's grants")] = None,
    receipt: Annotated[str | None, typer.Option(help="print this grant's JSON-LD receipt instead")] = None,
    database_url: DbOption = None,
) -> None:
    """The grants and their status now; or one grant's JSON-LD receipt."""
    import json
    import time

    from regie.governance import consent
    from regie.model import mask_prm

    store = _open(database_url)
    try:
        if receipt:
            typer.echo(json.dumps(consent.receipt(store, receipt), ensure_ascii=False, indent=2))
            return
        grants = consent.list_grants(store, subject_id=subject)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    now = int(time.time())
    table = Table(title="consent grants")
    for col in ("id", "subject", "recipient", "categories", "PRMs", "step", "purpose", "status", "expires (UTC)"):
        table.add_column(col)
    for g in grants:
        table.add_row(
            g.id[:12], g.subject_id, g.recipient, ",".join(sorted(g.categories)), ",".join(map(mask_prm, g.prms)),
            g.granularity.value, g.purpose, g.status_at(now).value, _utc(g.expires_at),
        )  # fmt: skip
    console.print(table)


@consent_app.command("withdraw")
def consent_withdraw(
    consent_id: Annotated[str, typer.Argument(help="the grant id (or its first characters)")],
    database_url: DbOption = None,
) -> None:
    """Withdraw a grant on the data subject's instruction: reads under it are refused from now on."""
    from regie.governance import consent
    from regie.governance.accounts import CLI_ADMIN

    store = _open(database_url)
    try:
        found = [g.id for g in consent.list_grants(store) if g.id.startswith(consent_id)]
        if len(found) != 1:
            raise typer.BadParameter(f"{len(found)} grants match {consent_id!r}")
        consent.withdraw(store, found[0], CLI_ADMIN)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"grant [bold]{found[0]}[/] withdrawn")


@audit_app.command("verify")
def audit_verify(database_url: DbOption = None) -> None:
    """Re-hash the access log and check it against the signed checkpoints; exit 1 and name the entry if not."""
    from regie.governance import audit, keys

    key_file = keys.keys_dir(get_settings().data_dir) / keys.AUDIT_KEY_FILE
    public = keys.load_or_create_signing_key(get_settings().data_dir).public_key() if key_file.exists() else None
    store = _open(database_url)
    result = audit.verify(store, public)
    store.close()
    if public is None and result.checkpoints:
        console.print("[yellow]no signing key in the data directory: checkpoint signatures not checked[/]")
    for p in result.problems:
        console.print(f"[red]entry {p.seq}: {p.what}[/] — {p.message}")
    if not result.ok:
        raise typer.Exit(1)
    console.print(f"access log intact: {result.size:,} entries, {result.checkpoints} signed checkpoint(s)")


@audit_app.command("checkpoint")
def audit_checkpoint(database_url: DbOption = None) -> None:
    """Sign the log's current size and head with the régie's Ed25519 key (created in the data dir if needed)."""
    from regie.governance import audit, keys

    key = keys.load_or_create_signing_key(get_settings().data_dir)
    store = _open(database_url)
    cp = audit.checkpoint(store, key)
    store.close()
    console.print(f"checkpoint at entry {cp.size}: head {cp.head_hash[:16]}…, key {cp.key_id}")


@member_app.command("export")
def member_export(
    holder: Annotated[str, typer.Argument(help="person or organisation id")],
    output: Annotated[Path, typer.Option(help="zip file to write")],
    database_url: DbOption = None,
) -> None:
    """Everything regie holds about a member in one zip: series as CSV, the rest as JSON-LD (logged)."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    store = _open(database_url)
    try:
        blob = rights.export_member(store, CLI_ADMIN, holder)
    except (ValueError, LookupError, PermissionError) as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    output.write_bytes(blob)
    console.print(f"export of [bold]{holder}[/] written to {output} ({len(blob):,} bytes)")


@member_app.command("erase")
def member_erase(
    holder: Annotated[str, typer.Argument(help="person or organisation id")],
    yes: Annotated[bool, typer.Option("--yes", help="confirm: this cannot be undone")] = False,
    database_url: DbOption = None,
) -> None:
    """Erase a member's personal series, memberships and accounts; withdraw their grants (logged)."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    if not yes:
        raise typer.BadParameter("erasure cannot be undone: add --yes")
    store = _open(database_url)
    try:
        r = rights.erase_member(store, CLI_ADMIN, holder)
    finally:
        store.close()
    console.print(
        f"erased {holder}: {len(r.series_erased)} series, {r.memberships} membership(s), {r.accounts} account(s), "
        f"{r.grants_withdrawn} grant(s) withdrawn"
    )
    for note in r.notes:
        console.print(f"[yellow]{note}[/]")


@member_app.command("correct")
def member_correct(
    holder: Annotated[str, typer.Argument(help="person or organisation id")],
    name: Annotated[str | None, typer.Option(help="corrected name")] = None,
    email: Annotated[str | None, typer.Option(help="corrected e-mail address")] = None,
    database_url: DbOption = None,
) -> None:
    """Correct a member's name or e-mail address (logged, without the values)."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    store = _open(database_url)
    try:
        changed = rights.correct_details(store, CLI_ADMIN, holder, name=name, email=email)
    except (ValueError, LookupError) as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"corrected {', '.join(changed) or 'nothing'} for {holder}")


# ---------------------------------------------------------------- collective self-consumption (ACC)
def _acc_reader(store, reason: str):
    """Curves are personal data: the shell reads them through the gate as the CLI admin, with a reason."""
    from regie.governance.accounts import CLI_ADMIN
    from regie.services.acc import gate_reader

    return gate_reader(store, CLI_ADMIN, reason=reason)


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
            store, stored.operation, start, end, _acc_reader(store, reason), stored.territory_id
        )
        result = service.allocate(curves, key or stored.key, static_shares=stored.static_shares)
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
    store = _open(database_url)
    try:
        stored = load_operation(store, operation)
        inv = store.load_inventory(stored.territory_id)
        pmo = next((o.name for o in inv.organisations if o.id == stored.operation.pmo_id), stored.operation.pmo_id)
        reader = _acc_reader(store, reason)
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
    except (LookupError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    console.print(f"wrote {len(written)} files to [bold]{out}[/]")


@app.command()
def report(
    month: Annotated[str, typer.Option(help="the month, YYYY-MM (days and months in the territory's zone)")],
    out: Annotated[Path | None, typer.Option(help="PDF to write (default: report-<month>.pdf)")] = None,
    lang: Annotated[str, typer.Option(help="fr or en")] = "fr",
    database_url: DbOption = None,
) -> None:
    """The monthly territory report (balance, production by source, autonomy, transformer peaks, data health)
    as a PDF with charts."""
    from regie.services import reports
    from regie.web import i18n

    if lang not in i18n.LOCALES:
        raise typer.BadParameter(f"--lang is one of {', '.join(i18n.LOCALES)}")
    store = _open(database_url)
    try:
        data = reports.monthly_report(store, month)
    except (LookupError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    target = out or Path(f"report-{month}.pdf")
    target.write_bytes(reports.monthly_report_pdf(data, i18n.translations(lang).gettext, lang))
    if data["balance"]:
        t = data["balance"]["totals"]
        console.print(f"{data['territory']} {month}: consumption {t['consumption_wh'] / 1e6:,.1f} MWh, "
                      f"production {t['production_wh'] / 1e6:,.1f} MWh")  # fmt: skip
    h = data["health"]
    console.print(f"{len(data['transformers'])} transformers; {h['with_alerts']} of {h['series']} series with alerts")
    console.print(f"wrote [bold]{target}[/]")


@app.command()
def supervise(
    days: Annotated[int, typer.Option(help="how many days back to judge, up to now")] = 30,
    deliver: Annotated[bool, typer.Option(help="send new alerts by e-mail / MQTT as configured")] = True,
    every: Annotated[int, typer.Option(help="repeat every N seconds until stopped (0: one pass)", min=0)] = 0,
    database_url: DbOption = None,
) -> None:
    """A supervision pass: record new alerts (one per episode) and send them (REGIE_SMTP_*, REGIE_ALERT_*)."""
    from datetime import datetime, timedelta

    from regie.services import alerts

    settings = get_settings()
    store = _open(database_url)
    channels = alerts.channels_from_settings(settings) if deliver else []
    try:
        thresholds = alerts.thresholds_from_settings(settings)
        while True:
            zone = store.load_inventory().territory.zone
            now = datetime.now(zone)
            new, outcome = alerts.supervise(store, now - timedelta(days=days), now, channels, now=now,
                                            thresholds=thresholds)  # fmt: skip
            for a in new:
                console.print(alerts.describe(a), markup=False, highlight=False)
            console.print(f"{len(new)} new alert(s)" + "".join(f"; {k}: {v}" for k, v in outcome.items()))
            if not every:
                break
            time.sleep(every)
    except (LookupError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


if __name__ == "__main__":
    app()
