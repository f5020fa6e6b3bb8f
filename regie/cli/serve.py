"""`regie init` and `regie serve`: create or migrate a store, serve the web UI and the API on it."""

from __future__ import annotations

from typing import Annotated

import typer

from regie.cli._app import _redact, app, console, load_settings
from regie.config import Settings


@app.command()
def init(database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None) -> None:
    """Create the store (or migrate it to the newest schema)."""
    from regie.store import open_store

    url = database_url or load_settings().resolved_database_url
    open_store(url).close()
    console.print(f"store ready: [bold]{_redact(url)}[/]")


@app.command()
def serve(
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
    mqtt: Annotated[
        bool, typer.Option("--mqtt", help="also ingest emoncms MQTT topics (see `regie ingest mqtt`)")
    ] = False,
    mqtt_host: Annotated[str | None, typer.Option(help="MQTT broker (overrides REGIE_MQTT_HOST)")] = None,
    mqtt_port: Annotated[int | None, typer.Option(help="MQTT broker port (overrides REGIE_MQTT_PORT)")] = None,
    mqtt_base: Annotated[str | None, typer.Option(help="base topic (overrides REGIE_MQTT_BASE)")] = None,
    courier_every: Annotated[
        float, typer.Option(help="seconds between two pushes of the federation outbox to peers (0: never)")
    ] = 5.0,
) -> None:
    """Serve the web UI and the API on a store."""
    settings = load_settings()
    broker = (mqtt_host or settings.mqtt_host, mqtt_port or settings.mqtt_port, mqtt_base or settings.mqtt_base)
    _serve(
        database_url or settings.resolved_database_url, host or settings.host, port or settings.port,
        broker if mqtt else None, courier_every=courier_every,
    )  # fmt: skip


def _serve(url: str, host: str, port: int, mqtt: tuple[str, int, str] | None = None, setup=None, *,
           courier_every: float = 5.0) -> None:  # fmt: skip
    """Serve a store; ``setup(web)`` may prepare the app and return a function to call on the way out."""
    import uvicorn

    from regie.ingest.inputs import InputService
    from regie.operations.footprint import bound_heap
    from regie.store import open_store
    from regie.web.app import create_app
    from regie.web.emoncms import mask_keys_in_access_log

    bound_heap()  # freed memory goes back to the system (docs/footprint.md)
    settings = load_settings()
    store = open_store(url)
    web = create_app(store, settings)
    mask_keys_in_access_log()  # emoncms clients send ?apikey=... in the URL
    _secure_web(web, settings)
    from regie.services.alerts import thresholds_from_settings

    web.state.transformer_thresholds = thresholds_from_settings(settings)  # the supervision pages' alerts
    # One writer per process: the emoncms HTTP routes and the MQTT ingester share it.
    web.state.inputs = InputService(store).start()
    ingester = None
    if mqtt is not None:
        from regie.governance import writes
        from regie.ingest.mqtt import MqttIngester

        guards = lambda: writes.guard(store, writes.MQTT, "mqtt", f"{mqtt[2]}/#", live=True)  # noqa: E731
        ingester = MqttIngester(
            web.state.inputs, host=mqtt[0], port=mqtt[1], base=mqtt[2],
            username=settings.mqtt_username, password=settings.mqtt_password, guards=guards,
        ).start()  # fmt: skip
        web.state.mqtt = ingester  # /readyz reports whether it is connected
        console.print(f"ingesting MQTT [bold]{mqtt[2]}/#[/] from {mqtt[0]}:{mqtt[1]}")
    cleanup = setup(web) if setup is not None else None
    from regie.federation.courier import start as start_courier  # pushes the outbox to peers (docs/federation.md)

    web.state.federation_dir = settings.data_dir  # its federation keys: /.well-known/regie, signed routes
    base = settings.public_url or f"http://{host}:{port}"
    stop_courier = start_courier(store, settings.data_dir, base, every=courier_every) if courier_every > 0 else None
    shown = settings.public_url or f"http://{host}:{port}"
    first_run = _first_run(web, store, settings)
    console.print(f"serving [bold]{_redact(url)}[/] on [link]{shown}/[/link]  (Ctrl-C to stop)")
    if first_run is not None:
        console.print(f"no admin yet: set up this régie at [link]{shown}/setup?token={first_run}[/link]\n"
                      f"  setup token: {first_run}  (valid until an admin exists; a restart prints a new one)",
                      soft_wrap=True, highlight=False)  # fmt: skip
    try:
        # open live streams (server-sent events) must not hold a Ctrl-C for minutes; X-Forwarded-For and
        # X-Forwarded-Proto are believed only from the configured proxies (they decide Secure cookies)
        uvicorn.run(
            web, host=host, port=port, log_level="info", timeout_graceful_shutdown=5,
            proxy_headers=True, forwarded_allow_ips=",".join(settings.trusted_proxies),
        )  # fmt: skip
    finally:
        if stop_courier is not None:
            stop_courier()
        if cleanup is not None:
            cleanup()
        if ingester is not None:
            ingester.stop()
        web.state.inputs.close()


def _first_run(web, store, settings: Settings) -> str | None:
    """A store without an admin: the one-time setup token to print (:mod:`regie.web.setup_pages`), else None."""
    from regie.web.auth import throttle_policy
    from regie.web.setup_pages import offer

    return offer(web, store, throttle_policy(settings))


def _secure_web(web, settings: Settings) -> None:
    """Give the app the régie's CSRF secret and audit public key from the data directory (never from argv)."""
    from regie.governance import keys

    data_dir = settings.data_dir
    web.state.secret = keys.load_or_create_secret(data_dir)
    if (keys.keys_dir(data_dir) / keys.AUDIT_KEY_FILE).exists():
        web.state.audit_public_key = keys.load_or_create_signing_key(data_dir).public_key()
    from regie.governance import log_head

    store = web.state.store  # its access log is signed every N entries or T seconds, and at shutdown
    web.state.audit_notary = log_head.Notary.for_store(data_dir, str(store.engine.url))
    web.state.audit_head_path = web.state.audit_notary.head_path
    log_head.attach(store, web.state.audit_notary)
