"""Alert records and channels: one row per episode, delivered once after commit, by SMTP and MQTT on loopback."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.model import Inventory, Readings, Series, SeriesKind, Site, Step, Territory
from regie.services import alerts
from regie.store import open_store

PARIS = ZoneInfo("Europe/Paris")
PT10M = Step.parse("PT10M")
START, END = datetime(2025, 1, 1, tzinfo=PARIS), datetime(2025, 1, 3, tzinfo=PARIS)
STOPS = datetime(2025, 1, 2, 12, tzinfo=PARIS)


@pytest.fixture
def store(tmp_path):
    """A thermometer every 10 minutes that stops at noon on the 2nd of January."""
    s = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    inv = Inventory(Territory("t", "T"), sites=[Site("s", "S", "t")],
                    series=[Series("temp", SeriesKind.TEMPERATURE, "degC", PT10M, site_id="s")])
    s.save_inventory(inv)
    t = np.arange(int(START.timestamp()), int(STOPS.timestamp()), 600, dtype=np.int64)
    s.write([Readings("temp", t, 5.0 + (np.arange(len(t)) % 7) * 0.1)])
    yield s
    s.close()


class Recorder:
    """A channel that remembers what it was given (or fails, to test retries)."""

    name = "recorder"

    def __init__(self, fail: bool = False, name: str = "recorder") -> None:
        self.fail, self.name = fail, name
        self.sent: list[list[alerts.AlertRecord]] = []

    def send(self, records) -> None:
        if self.fail:
            raise ConnectionError("down")
        self.sent.append(list(records))


def test_a_stopped_feed_is_recorded_once_and_delivered_once(store) -> None:
    ch = Recorder()
    # judged one expected interval (10 min) after the last reading plus one step: already stale
    now = datetime(2025, 1, 2, 12, 10, 1, tzinfo=PARIS)
    new, outcome = alerts.supervise(store, START, now, [ch], now=now)
    assert [(a.kind, a.subject) for a in new] == [("stale", "temp")]
    assert STOPS.timestamp() - 600 <= new[0].since <= STOPS.timestamp()  # since the last reading (or its step)
    assert outcome == {"recorder": "sent 1"}
    later = datetime(2025, 1, 2, 18, tzinfo=PARIS)
    again, outcome = alerts.supervise(store, START, later, [ch], now=later)
    assert again == [] and outcome == {}  # the same episode: updated, not repeated
    assert len(ch.sent) == 1
    stored = alerts.list_alerts(store)
    assert len(stored) == 1 and stored[0].ongoing and stored[0].notified_at is not None
    assert stored[0].last_seen == int(later.timestamp())


def test_before_one_interval_has_passed_there_is_no_alert(store) -> None:
    now = datetime(2025, 1, 2, 12, 0, 0, tzinfo=PARIS)
    new, _ = alerts.supervise(store, START, now, [], now=now)
    assert new == []


def test_a_failing_channel_keeps_alerts_pending(store) -> None:
    now = datetime(2025, 1, 2, 14, tzinfo=PARIS)
    down, up = Recorder(fail=True, name="down"), Recorder()
    _, outcome = alerts.supervise(store, START, now, [down, up], now=now)
    assert outcome["down"].startswith("failed: ConnectionError") and outcome["recorder"] == "sent 1"
    assert len(alerts.pending(store)) == 1
    assert alerts.deliver(store, [up]) == {"recorder": "sent 1"}
    assert alerts.pending(store) == []


def test_record_updates_the_episode(store) -> None:
    a = {"source": "grid", "kind": "overload", "subject": "tr1", "since_ts": 1000, "since": "x", "until": None,
         "value": 1.2, "threshold": 1.0, "unit": "", "message": "m"}
    assert len(alerts.record(store, [a], now=2000)) == 1
    assert alerts.record(store, [{**a, "value": 1.4, "until": 5000}], now=3000) == []
    assert alerts.record(store, [{**a, "value": 1.1, "until": 5000}], now=4000) == []
    (r,) = alerts.list_alerts(store)
    assert (r.value, r.until, r.first_seen, r.last_seen) == (1.4, 5000, 2000, 4000)
    assert not r.ongoing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_email_through_a_local_smtp_server(store) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message) -> None:
            received.append(message)

    port = _free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ch = alerts.EmailChannel("127.0.0.1", port, "regie@example.org", ["ops@example.org"], security="none")
        now = datetime(2025, 1, 2, 14, tzinfo=PARIS)
        _, outcome = alerts.supervise(store, START, now, [ch], now=now)
    finally:
        controller.stop()
    assert outcome == {"email": "sent 1"}
    (msg,) = received
    assert msg["To"] == "ops@example.org" and "stale" in msg["Subject"]
    assert "temp" in msg.get_payload()


@pytest.mark.mqtt
def test_alerts_published_to_mqtt(store, mqtt_broker) -> None:
    import paho.mqtt.client as mqtt

    host, port = mqtt_broker
    topic = f"regie-test/{uuid.uuid4().hex[:12]}/alerts"  # not the second: runs on the same broker overlap
    got, subscribed = [], threading.Event()
    arrived = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_subscribe = lambda *a, **k: subscribed.set()

    def on_message(client, userdata, msg) -> None:
        got.append((msg.topic, json.loads(msg.payload)))
        arrived.set()

    sub.on_message = on_message
    sub.connect(host, port)
    sub.loop_start()
    try:
        sub.subscribe(f"{topic}/#", qos=1)
        assert subscribed.wait(60)  # an upper bound for a loaded broker, not a performance figure
        now = datetime(2025, 1, 2, 14, tzinfo=PARIS)
        _, outcome = alerts.supervise(store, START, now, [alerts.MqttChannel(host, port, topic)], now=now)
        assert outcome == {"mqtt": "sent 1"}
        assert arrived.wait(60)
    finally:
        sub.loop_stop()
        sub.disconnect()
    ((t, payload),) = got
    assert t == f"{topic}/stale/temp"
    assert payload["kind"] == "stale" and payload["subject"] == "temp" and payload["until"] is None


def test_channels_from_settings() -> None:
    from regie.config import Settings

    assert alerts.channels_from_settings(Settings()) == []
    s = Settings(smtp_host="127.0.0.1", alert_email_to=["a@b.c"], alert_mqtt_host="127.0.0.1")
    assert [c.name for c in alerts.channels_from_settings(s)] == ["email", "mqtt"]


def test_cli_supervise_records_alerts_once(store) -> None:
    from typer.testing import CliRunner

    from regie.cli import app

    url = str(store.engine.url)
    # the thermometer stopped in January 2025: judged now, it is one stale episode
    first = CliRunner().invoke(app, ["supervise", "--days", "3650", "--no-deliver", "--database-url", url])
    assert first.exit_code == 0, first.output
    assert "1 new alert(s)" in first.output and "[stale] temp" in first.output
    again = CliRunner().invoke(app, ["supervise", "--days", "3650", "--no-deliver", "--database-url", url])
    assert "0 new alert(s)" in again.output
    assert len(alerts.list_alerts(store)) == 1


def test_thresholds_per_transformer_from_the_settings(tmp_path) -> None:
    from regie.analytics.grid import Thresholds
    from regie.config import get_settings

    toml = tmp_path / "regie.toml"
    toml.write_text('[regie.transformer_thresholds.tr-03]\nloading = 1.2\nmin_steps = 2\n', encoding="utf-8")
    th = alerts.thresholds_from_settings(get_settings(toml))
    assert th == {"tr-03": Thresholds(loading=1.2, min_steps=2)}
    with pytest.raises(ValueError, match="unknown threshold"):
        alerts.thresholds_from_settings(type("S", (), {"transformer_thresholds": {"x": {"peak": 1.0}}})())
