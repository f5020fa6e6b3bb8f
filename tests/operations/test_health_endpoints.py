"""/healthz, /readyz and /metrics: what a supervisor and Prometheus read, and who may read the metrics."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from backup_world import PASSPHRASE, fill_store
from fastapi.testclient import TestClient
from servers import AppServer

from regie.config import Settings
from regie.governance import audit
from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.operations import backup
from regie.store import Store, open_store
from regie.store.engine import make_engine
from regie.store.migrate import upgrade
from regie.web.app import create_app

TOKEN = "a-metrics-token-of-some-length"


@pytest.fixture
def world(tmp_path):
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'regie.sqlite'}"
    fill_store(url, data_dir, points=100)
    store = open_store(url)
    settings = Settings.defaults(data_dir=data_dir, metrics_token=TOKEN)
    app = create_app(store, settings)
    app.state.inputs = InputService(store).start()
    yield app, url, data_dir
    app.state.inputs.close()
    store.close()


def test_liveness_and_readiness(world) -> None:
    app, _, _ = world
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        r = client.get("/readyz")
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "checks": {"store": "ok", "schema": "ok", "writer": "ok"}}
        app.state.inputs.close()  # the writer stops
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["writer"] == "the ingest writer thread is not running"


def test_a_store_behind_the_code_is_not_ready(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(engine, "0004")
    with TestClient(create_app(Store(engine))) as client:
        r = client.get("/readyz")
    engine.dispose()
    assert r.status_code == 503
    assert r.json()["checks"]["schema"].startswith("schema 0004, this regie needs ")


@pytest.mark.mqtt
def test_readiness_follows_the_mqtt_connection(world, mqtt_broker) -> None:
    from regie.ingest.mqtt import MqttIngester

    app, _, _ = world
    client_id = f"regie-readyz-{uuid.uuid4().hex[:8]}"  # two runs on one broker must not evict each other
    ingester = MqttIngester(app.state.inputs, host=mqtt_broker[0], port=mqtt_broker[1], client_id=client_id)
    ingester.start()
    app.state.mqtt = ingester
    with TestClient(app) as client:
        assert ingester.subscribed.wait(60)  # connected: an upper bound for a loaded broker
        assert client.get("/readyz").json()["checks"]["mqtt"] == "ok"
        ingester.stop()
        r = client.get("/readyz")
    ingester.forget_session()
    assert r.status_code == 503 and r.json()["checks"]["mqtt"].startswith("not connected to the MQTT broker")


def test_metrics_on_loopback(world, tmp_path) -> None:
    app, url, data_dir = world
    store = app.state.store
    key = apikeys.create_key(store, "emonpi", ["write"])[1]
    event = dict(caller="bob", role="member", subject_id="p1", series="s", prm="…1234", start=0, end=1,
                 granularity="P1D", purpose="dpv:ServiceProvision", reason="test")  # fmt: skip
    audit.append(store, audit.AccessEvent(decision="allowed", **event))
    for _ in range(2):
        audit.append(store, audit.AccessEvent(decision="refused", **event))
    backup.take_backup(url, data_dir / "backups", data_dir, PASSPHRASE)
    now = int(time.time())
    with AppServer(app) as server, httpx.Client(base_url=server.url) as http:
        rows = [
            [now - 20, "emontx", 1, 2],
            [now - 10, "emontx", 3, 4],
            [now + 5 * 86400, "emontx", 5, 6],
        ]  # future: quarantined
        assert http.post("/input/bulk.json", data={"data": json.dumps(rows), "time": 0, "apikey": key}).text == "ok"
        r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=")
    text = r.text
    assert 'regie_points_ingested_total{source="emoncms-http"} 4.0' in text
    assert 'regie_points_quarantined_total{source="emoncms-http"} 2.0' in text
    assert "regie_quarantine_readings 3.0" in text  # the one of the fixture and these two
    assert 'regie_gate_decisions_total{decision="allowed"} 1.0' in text
    assert 'regie_gate_decisions_total{decision="refused"} 2.0' in text
    assert 'regie_http_request_duration_seconds_count{method="POST",route="/input/bulk.json"} 1.0' in text
    assert "regie_backups 1.0" in text and "regie_backup_age_seconds " in text
    assert "regie_store_up 1.0" in text
    assert "process_resident_memory_bytes " in text and "process_cpu_seconds_total " in text


def test_metrics_refuse_a_caller_off_this_machine_without_the_token(world) -> None:
    app, _, _ = world
    with TestClient(app) as client:  # its requests come from "testclient", not from loopback
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    app.state.settings = Settings.defaults(data_dir=app.state.settings.data_dir)  # no token set: loopback only
    with TestClient(app) as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_a_store_ahead_of_the_code_asks_for_a_newer_regie(world) -> None:
    app, _, _ = world
    with app.state.store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")  # written by a newer release
    with TestClient(app) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["schema"].startswith("schema 9999 is newer than this regie knows")
