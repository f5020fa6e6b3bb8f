"""The "when to consume" signal from the shell: show it, or publish it retained on MQTT for lamps (a timer runs
``regie signal publish`` every half-hour: deploy/systemd/regie-signal.timer). docs/signal.md."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer

from regie.cli._app import DbOption, app, command_store, console, load_settings

signal_app = typer.Typer(help='The "when to consume" signal: show it, publish it on MQTT.', no_args_is_help=True)
app.add_typer(signal_app, name="signal")

TerritoryOpt = Annotated[str | None, typer.Option(help="the territory's id (default: the store's main one)")]
AtOpt = Annotated[str | None, typer.Option(help="compute it as at this instant, ISO 8601 (default: now)")]


def _instant(at: str | None, zone) -> float:
    if at is None:
        return time.time()
    try:
        d = datetime.fromisoformat(at)
    except ValueError:
        raise typer.BadParameter(f"--at {at!r}: write an ISO 8601 date-time, e.g. 2025-06-15T12:00") from None
    return (d if d.tzinfo else d.replace(tzinfo=zone)).timestamp()


@signal_app.command("show")
def show(territory: TerritoryOpt = None, at: AtOpt = None, database_url: DbOption = None) -> None:
    """Print the signal's text line and the level of each coming half-hour."""
    from regie.services import signal as signals

    settings = load_settings()
    with command_store(database_url, LookupError, ValueError) as store:
        inv = store.load_inventory(territory)
        zone = inv.territory.zone
        s = signals.compute_signal(store, inv.territory.id, _instant(at, zone), settings.signal_weather_forecast)
    console.print(s.text(), markup=False, highlight=False, soft_wrap=True)
    if s.stale:
        console.print(f"stale: the public data stop at {datetime.fromtimestamp(s.data_end or 0, zone):%Y-%m-%d %H:%M}")
        return
    if s.weather_problem:
        console.print(f"weather forecast not used: {s.weather_problem}", markup=False)
    for i, level in enumerate(s.levels):
        t = datetime.fromtimestamp(s.start + i * s.step, zone)
        bounds = f"[{s.low_w[i] / 1000:.1f}, {s.high_w[i] / 1000:.1f}]"
        line = f"{t:%a %H:%M}  {level:7}  {s.expected_w[i] / 1000:8.1f} kW  {bounds}"
        console.print(line, markup=False, highlight=False)


@signal_app.command("publish")
def publish(
    territory: TerritoryOpt = None,
    at: AtOpt = None,
    every: Annotated[int, typer.Option(help="repeat every N seconds until stopped (0: once)", min=0)] = 0,
    database_url: DbOption = None,
) -> None:
    """Publish the signal retained on the MQTT broker (REGIE_MQTT_HOST/PORT/USERNAME/PASSWORD), topic
    REGIE_SIGNAL_MQTT_TOPIC (text line) and its /json sub-topic (JSON-LD)."""
    from regie.services import signal as signals

    settings = load_settings()
    with command_store(database_url, LookupError, ValueError) as store:
        while True:
            inv = store.load_inventory(territory)
            zone = inv.territory.zone
            s = signals.compute_signal(store, inv.territory.id, _instant(at, zone), settings.signal_weather_forecast)
            topic = signals.mqtt_topic(settings.signal_mqtt_topic, inv.territory.id)
            written = signals.publish_mqtt(s, zone, settings.mqtt_host, settings.mqtt_port, topic,
                                           settings.mqtt_username, settings.mqtt_password)  # fmt: skip
            console.print(f"{s.now} now; published on {', '.join(written)} ({settings.mqtt_host}:{settings.mqtt_port})",
                          markup=False, highlight=False)  # fmt: skip
            if not every:
                break
            time.sleep(every)
