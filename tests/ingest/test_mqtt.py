"""MQTT ingest against the real Mosquitto on 127.0.0.1:1883: a persistent session keeps what is published
while regie is stopped, and every message is stored exactly once when it comes back.

Each test uses its own base topic and client ids, so tests (and other runs on the same broker) never see
each other's messages. Waiting loops wait for a count, never assert on a duration.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from regie.ingest.inputs import InputService
from regie.ingest.mqtt import MqttIngester
from regie.model import Inventory, Territory
from regie.store import Store, open_store

pytestmark = pytest.mark.mqtt
HOST, PORT = "127.0.0.1", 1883  # set from the mqtt_broker fixture
T0 = 1_790_000_000
WAIT_S = 60  # an upper bound for a stuck broker, not a performance figure


@pytest.fixture
def broker(mqtt_broker: tuple[str, int]) -> tuple[str, int]:
    """The broker of tests/conftest.py (skips on a developer machine without it, fails in CI)."""
    global HOST, PORT
    HOST, PORT = mqtt_broker
    return mqtt_broker


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}")
    s.save_inventory(Inventory(Territory("village", "Village")))
    yield s
    s.close()


@pytest.fixture
def names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"regie-test-{tag}", f"regie-test-ingest-{tag}"


def publish(base: str, messages: list[tuple[str, str]]) -> None:
    """Publish with QoS 1 and wait until the broker has acknowledged every message."""
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{base}-pub", protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(200)
    pub.connect(HOST, PORT)
    pub.loop_start()
    infos = [pub.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(WAIT_S)
        assert info.is_published()
    pub.disconnect()
    pub.loop_stop()


def wait_for(predicate) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("the broker did not deliver in time")
        time.sleep(0.02)


def test_messages_published_while_stopped_are_stored_once(broker, store: Store, names) -> None:
    base, client_id = names
    with InputService(store) as service:
        first = MqttIngester(service, base=base, client_id=client_id).start()
        assert first.subscribed.wait(WAIT_S)  # the broker now holds a persistent session for client_id
        first.stop()

        n = 500  # below Mosquitto's default max_queued_messages (1000) for an offline session
        publish(
            base, [(f"{base}/house", json.dumps({"power": i, "temp": i / 10, "time": T0 + 10 * i})) for i in range(n)]
        )

        again = MqttIngester(service, base=base, client_id=client_id).start()
        wait_for(lambda: again.stored >= n)
        again.stop()
        assert (again.received, again.stored, again.rejected) == (n, n, 0)
        again.forget_session()

    t, v = store.read("emon-house-power", T0, T0 + 10 * n)
    np.testing.assert_array_equal(t, T0 + 10 * np.arange(n))
    np.testing.assert_array_equal(v, np.arange(n, dtype=float))
    _, temp = store.read("emon-house-temp", T0, T0 + 10 * n)
    np.testing.assert_array_equal(temp, np.arange(n) / 10)
    assert store.series("emon-house-temp").unit == "degC"
    assert store.count_points() == 2 * n


def test_single_values_csv_and_bad_payloads(broker, store: Store, names) -> None:
    base, client_id = names
    clock = {"now": T0}
    with InputService(store, clock=lambda: clock["now"]) as service:
        ing = MqttIngester(service, base=base, client_id=client_id, clock=lambda: clock["now"]).start()
        assert ing.subscribed.wait(WAIT_S)
        publish(
            base,
            [
                (f"{base}/emontx/vrms", "231.5"),
                (f"{base}/emontx", "10,20"),
                (f"{base}/emontx/x", "hot"),  # not a number: refused at once
                (f"{base}/big", json.dumps({"power": 1e300, "time": T0 - 10})),  # the store refuses it
            ],
        )
        wait_for(lambda: ing.stored + ing.rejected >= 4)
        ing.stop()
        assert (ing.stored, ing.rejected) == (2, 2)
        ing.forget_session()
    assert store.read("emon-emontx-vrms", T0, T0 + 1)[1].tolist() == [231.5]
    assert store.read("emon-emontx-0", T0, T0 + 1)[1].tolist() == [10.0]  # MQTT CSV counts from 0
    assert store.read("emon-emontx-1", T0, T0 + 1)[1].tolist() == [20.0]
    held = store.quarantine_summary()
    assert [(h["source"], h["key"], h["readings"]) for h in held] == [
        ("mqtt", "big/power", 1),
        ("mqtt", f"{base}/emontx/x", 1),
    ]


def test_mqtt_writes_go_through_the_write_guard_and_are_logged(broker, store: Store, names) -> None:
    """MQTT is one more door of regie.governance.writes: each batch asks the guard and is logged once."""
    from regie.governance import audit, writes

    base, client_id = names
    made: list[writes.WriteGuard] = []

    def guards() -> writes.WriteGuard:
        made.append(writes.guard(store, writes.MQTT, "mqtt", f"{base}/#", live=True))
        return made[-1]

    with InputService(store) as service:
        ingester = MqttIngester(service, base=base, client_id=client_id, guards=guards).start()
        try:
            assert ingester.subscribed.wait(WAIT_S)
            publish(base, [(f"{base}/house/power", "120")])
            wait_for(lambda: ingester.stored == 1)
        finally:
            ingester.stop()
            ingester.forget_session()
    assert made and made[0].series == ["emon-house-power"]
    wait_for(lambda: len(audit.entries(store, kind="write")) == 1)
    entry = audit.entries(store, kind="write")[0].entry
    assert (entry["via"], entry["action"], entry["decision"], entry["series"]) == (
        "mqtt", "mqtt", "allowed", ["emon-house-power"],
    )  # fmt: skip
