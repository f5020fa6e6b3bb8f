"""MQTT ingest with the emoncms topic convention, from a broker such as Mosquitto.

Topics and payloads follow emoncms's ``emoncms_mqtt.php`` (see :func:`regie.ingest.emoncms_input.parse_mqtt`):
``emon/<node>/<input>`` with a number, ``emon/<node>`` with CSV or a JSON object (``time`` included).

Nothing is lost across a restart of regie:

- the client has a fixed id and a persistent session — MQTT 5 ``Clean Start = 0`` with a long
  ``Session Expiry Interval`` — and subscribes with QoS 1, so the broker keeps what is published while
  regie is stopped and delivers it when regie reconnects (Mosquitto keeps up to ``max_queued_messages``,
  1000 by default, per offline session: raise it in ``mosquitto.conf`` for long outages);
- messages are acknowledged by hand (paho ``manual_ack``), *after* the writer has committed them: a
  message received but not yet stored when regie stops is delivered again, and the store's idempotence
  (one reading per series and instant) makes the second delivery harmless. ``Receive Maximum`` is raised
  to 65535 so the broker keeps streaming while earlier messages await their commit.

Received messages are buffered for at most ``flush_s`` (or ``max_pending`` messages) and handed to the
one writer as one batch, so thousands of messages per second cost a few transactions.

Who may write: the broker authenticates publishers and its ACL says who may publish under the base topic;
regie writes what the broker delivered as the régie's machine. Each batch still goes through the write
guard ``guards()`` makes (``regie ingest mqtt`` passes :mod:`regie.governance.writes`'s), which decides and
logs it like every other write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from regie.ingest.emoncms_input import EmoncmsFormatError, Frame, group, parse_mqtt
from regie.ingest.importer import SeriesGuard
from regie.ingest.inputs import InputService
from regie.store.quarantine import QuarantinedReading

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 86400
RECEIVE_MAXIMUM = 65535


class MqttIngester:
    """Subscribe to ``<base>/#`` and feed the input service; :meth:`start` and :meth:`stop` it."""

    def __init__(
        self,
        service: InputService,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        base: str = "emon",
        client_id: str = "regie-ingest",
        username: str | None = None,
        password: str | None = None,
        session_expiry_s: int = SESSION_EXPIRY_S,
        flush_s: float = 0.25,
        max_pending: int = 20_000,
        clock: Callable[[], float] = time.time,
        guards: Callable[[], SeriesGuard] | None = None,
    ) -> None:
        self.service = service
        self.guards = guards
        self.host, self.port, self.base = host, port, base.rstrip("/")
        self.session_expiry_s = session_expiry_s
        self.flush_s = flush_s
        self.max_pending = max_pending
        self.clock = clock
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        self.client_id = client_id
        self._credentials = (username, password) if username else None
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self._pending: list[tuple[Frame, int, int]] = []  # (frame, mid, qos)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None
        self._inflight: list[Future] = []
        self._settled = threading.Condition()
        self.subscribed = threading.Event()
        self.received = 0
        self.stored = 0  # messages whose readings are committed (and acknowledged)
        self.rejected = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> MqttIngester:
        """Connect (persistent session), subscribe, and start the network and flush threads."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.service.start()
        self._stopping.clear()
        self.client.connect(self.host, self.port, keepalive=30, clean_start=False, properties=props)
        self.client.loop_start()
        self._flusher = threading.Thread(target=self._flush_loop, name="regie-mqtt-flush", daemon=True)
        self._flusher.start()
        return self

    def stop(self) -> None:
        """Store and acknowledge what has arrived, then disconnect (the session stays on the broker)."""
        self._stopping.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join()
        self._flush()
        with self._settled:  # every batch committed (or failed) and its messages acknowledged
            self._settled.wait_for(lambda: not self._inflight)
        self.client.disconnect()
        self.client.loop_stop()

    def forget_session(self) -> None:
        """Ask the broker to drop this client id's session (and what it queued): connect with a clean
        start and no expiry. For tests, benchmarks, or retiring an ingester for good."""
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        if self._credentials:
            c.username_pw_set(*self._credentials)
        c.connect(self.host, self.port, clean_start=True)
        c.loop_start()
        c.disconnect()
        c.loop_stop()

    def __enter__(self) -> MqttIngester:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Block until interrupted (``regie ingest mqtt``)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        finally:
            self.stop()

    # ------------------------------------------------------------ callbacks (network thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason_code)
            return
        log.info("connected to MQTT %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe(f"{self.base}/#", qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.error("MQTT broker refused the subscription to %s/#: %s", self.base, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self._stopping.is_set():
            log.warning("MQTT connection lost (%s); paho reconnects", reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        now = int(self.clock())
        self.received += 1
        try:
            frame = parse_mqtt(msg.topic, msg.payload, base=self.base, now=now)
        except EmoncmsFormatError as exc:
            # Redelivery cannot make it valid: keep a trace for the admin, then acknowledge.
            self.rejected += 1
            self.service.store.quarantine(
                [QuarantinedReading("mqtt", msg.topic[:200], now, None, exc.why, origin=msg.payload[:200].hex())]
            )
            if msg.qos:
                client.ack(msg.mid, msg.qos)
            return
        with self._lock:
            self._pending.append((frame, msg.mid, msg.qos))
            full = len(self._pending) >= self.max_pending
        if full:
            self._wake.set()

    # ------------------------------------------------------------ flushing
    def _flush_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            self._submit(pending, split_on_failure=True)

    def _submit(self, entries: list[tuple[Frame, int, int]], *, split_on_failure: bool) -> None:
        """Hand messages to the writer; acknowledge them once committed. A batch that fails is retried
        message by message, and a message that fails alone goes to quarantine with the reason (it would
        fail again on every redelivery): nothing is acknowledged before it is stored or quarantined."""
        guard = self.guards() if self.guards is not None else None
        future = self.service.submit(group(f for f, _, _ in entries), source="mqtt", origin=f"{self.base}/#",
                                     guard=guard)  # fmt: skip

        def done(f: Future) -> None:
            try:
                exc = f.exception()
                finish = getattr(guard, "finish", None)  # log the decision, once the writer is done
                if finish is not None:
                    finish(exc, points=None if exc is not None else f.result().points)
                if exc is not None and split_on_failure and len(entries) > 1:
                    log.warning("MQTT batch of %d messages failed (%s); retrying one by one", len(entries), exc)
                    for entry in entries:
                        self._submit([entry], split_on_failure=False)
                    return
                if exc is not None:
                    self._quarantine(entries[0], f"not stored: {exc}")
                    self.rejected += 1
                else:
                    self.stored += len(entries)
                for _, mid, qos in entries:  # only now, after the commit
                    if qos:
                        self.client.ack(mid, qos)
            finally:
                with self._settled:
                    self._inflight.remove(f)
                    self._settled.notify_all()

        with self._settled:
            self._inflight.append(future)
        future.add_done_callback(done)

    def _quarantine(self, entry: tuple[Frame, int, int], reason: str) -> None:
        frame = entry[0]
        self.service.store.quarantine(
            [
                QuarantinedReading("mqtt", f"{frame.node}/{name}", frame.t, v if v == v else None, reason)
                for name, v in frame.inputs.items()
            ]
        )
