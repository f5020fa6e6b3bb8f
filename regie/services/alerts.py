"""Alert delivery: supervision alerts kept once per episode, shown in the web UI, sent by e-mail and MQTT.

Why one record per episode: a supervision pass runs again and again over overlapping windows and finds
the same overload or the same silent feed each time; a person must be told once, when it starts, and be
able to see since when it lasts and whether it ended. The episode's key is ``source:kind:subject:since``
(:func:`alert_key`): a pass that meets it again updates ``until``, the worst ``value`` and ``last_seen``.

Delivery follows the commit (Datasette's ``events.py``): records are written first, and only the ones that
are new *and committed* go to the channels; a channel that fails leaves ``notified_at`` empty, so the next
pass tries again (:func:`pending`). Channels: :class:`EmailChannel` (:mod:`regie.mail`, STARTTLS / TLS / plain
for a local relay) and :class:`MqttChannel` (paho-mqtt, one retained-free JSON message per alert on
``<topic>/<kind>/<subject>``, QoS 1).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from regie.analytics.grid import Thresholds
from regie.mail import SmtpServer, text_message
from regie.store import Store
from regie.store.alerts import AlertRecord, alert_key, list_alerts, mark_notified, pending, record

log = logging.getLogger(__name__)

__all__ = ["AlertRecord", "alert_key", "list_alerts", "mark_notified", "pending", "record"]


# ---------------------------------------------------------------------------- channels


class Channel(Protocol):
    name: str

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        """Deliver the alerts or raise."""


def describe(a: AlertRecord) -> str:
    """One line a person reads: what, on what, since when, the worst value against its threshold."""
    def iso(t: int) -> str:
        return datetime.fromtimestamp(t).astimezone().isoformat(timespec="minutes")

    def amount(x: float) -> str:
        if a.unit != "s":
            return f"{x:g} {a.unit}".strip()
        for size, name in ((86_400, "d"), (3_600, "h"), (60, "min")):
            if abs(x) >= 2 * size:
                return f"{x / size:.1f} {name}"
        return f"{x:g} s"

    since = iso(a.since)
    state = "ongoing" if a.until is None else f"until {iso(a.until)}"
    value = "" if a.value is None else f" — {amount(a.value)}"
    if a.value is not None and a.threshold is not None:
        value += f" (threshold {amount(a.threshold)})"
    return f"[{a.kind}] {a.subject} since {since}, {state}{value}. {a.message}".strip()


@dataclass(slots=True)
class EmailChannel:
    """Alerts by e-mail through an SMTP server (``security``: ``starttls``, ``tls`` or ``none``)."""

    host: str
    port: int
    sender: str
    recipients: Sequence[str]
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0
    name: str = "email"

    def __post_init__(self) -> None:
        # the same rule as the settings: a typo must never fall through to a plain-text login
        SmtpServer(self.host, self.port, self.sender, self.security, self.username, self.password)

    def message(self, alerts: Sequence[AlertRecord]) -> EmailMessage:
        kinds = sorted({a.kind for a in alerts})
        subject = f"[regie] {len(alerts)} new alert{'s' if len(alerts) > 1 else ''}: {', '.join(kinds)}"
        return text_message(self.recipients, subject, "\n".join(describe(a) for a in alerts), sender=self.sender)

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        if not alerts or not self.recipients:
            return
        SmtpServer(self.host, self.port, self.sender, self.security, self.username, self.password,
                   self.timeout).send(self.message(alerts))  # fmt: skip


@dataclass(slots=True)
class MqttChannel:
    """Alerts as JSON messages on ``<topic>/<kind>/<subject>`` (QoS 1, waits for the broker's PUBACK)."""

    host: str
    port: int = 1883
    topic: str = "regie/alerts"
    timeout: float = 10.0
    name: str = "mqtt"

    def send(self, alerts: Sequence[AlertRecord]) -> None:
        if not alerts:
            return
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"regie-alerts-{time.time_ns()}")
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        try:
            infos = []
            for a in alerts:
                subject = a.subject.replace("/", "_").replace("+", "_").replace("#", "_")
                payload = json.dumps(a.as_dict(), separators=(",", ":"))
                infos.append(client.publish(f"{self.topic}/{a.kind}/{subject}", payload, qos=1))
            for info in infos:
                info.wait_for_publish(self.timeout)
                if not info.is_published():
                    raise TimeoutError(f"MQTT broker {self.host}:{self.port} did not acknowledge an alert")
        finally:
            client.disconnect()
            client.loop_stop()


def channels_from_settings(settings: Any) -> list[Channel]:
    """The channels the settings configure (none by default: alerts then show in the web UI only)."""
    out: list[Channel] = []
    if getattr(settings, "smtp_host", None) and getattr(settings, "alert_email_to", None):
        out.append(EmailChannel(settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                                list(settings.alert_email_to), settings.smtp_security, settings.smtp_user,
                                settings.smtp_password))  # fmt: skip
    if getattr(settings, "alert_mqtt_host", None):
        out.append(MqttChannel(settings.alert_mqtt_host, settings.alert_mqtt_port, settings.alert_mqtt_topic))
    return out


def deliver(store: Store, channels: Sequence[Channel], *, now: int | None = None) -> dict[str, str]:
    """Give every pending alert to every channel; mark them notified only when all channels succeeded.

    Returns each channel's outcome (``"sent N"`` or the error), so a CLI or a page can say what happened.
    """
    todo = pending(store)
    if not todo or not channels:
        return {}
    outcome: dict[str, str] = {}
    ok = True
    for ch in channels:
        try:
            ch.send(todo)
            outcome[ch.name] = f"sent {len(todo)}"
        except Exception as exc:  # a channel down must not lose the alerts: they stay pending
            log.warning("alert channel %s failed: %s", ch.name, exc)
            outcome[ch.name] = f"failed: {type(exc).__name__}: {exc}"
            ok = False
    if ok:
        mark_notified(store, [a.id for a in todo], now=now)
    return outcome


def thresholds_from_settings(settings: Any) -> dict[str, Thresholds]:
    """Per-transformer thresholds from the settings (``transformer_thresholds``: id → loading, min_steps,
    loss_ratio); a transformer not listed gets :class:`regie.analytics.grid.Thresholds`' defaults."""
    out = {}
    for tr, values in (getattr(settings, "transformer_thresholds", None) or {}).items():
        unknown = set(values) - {"loading", "min_steps", "loss_ratio"}
        if unknown:
            raise ValueError(f"transformer {tr}: unknown threshold(s) {', '.join(sorted(unknown))}")
        v = dict(values)
        if "min_steps" in v:
            v["min_steps"] = int(v["min_steps"])
        out[tr] = Thresholds(**v)
    return out


def supervise(store: Store, start: datetime, end: datetime, channels: Sequence[Channel] = (), *,
              now: datetime | None = None,
              thresholds: Mapping[str, Thresholds] | None = None,
              territory_id: str | None = None) -> tuple[list[AlertRecord], dict[str, str]]:
    """Run a supervision pass over a territory (default: the store's only or first one), record its alerts
    (deduplicated) and deliver the new ones."""
    from regie.services.supervision import supervision_report

    report = supervision_report(store, start, end, thresholds, now=now, territory_id=territory_id)
    at = int((now or datetime.now().astimezone()).timestamp())
    new = record(store, report["alerts"], now=at)
    return new, deliver(store, channels, now=at)
