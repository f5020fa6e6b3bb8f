"""/api/signal (JSON-LD) and /api/signal.txt over the synthetic territory (tests/web/conftest.py), and the
`regie signal` commands."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from regie.analytics import signal as sig
from regie.store import Store
from regie.web.app import create_app

#: Inside the synthetic data (March–April 2025): 20 April 2025, 14:40 in Paris.
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 4, 20, 14, 40, tzinfo=PARIS).timestamp()


@pytest.fixture
def clocked(web_store: Store) -> TestClient:
    app = create_app(web_store)
    app.state.clock = lambda: NOW
    return TestClient(app)


def test_the_signal_as_json_ld(clocked: TestClient) -> None:
    r = clocked.get("/api/signal")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    assert doc["@type"] == "ConsumptionSignal" and doc["territory"] == "vallee" and doc["stale"] is False
    assert doc["@context"]["@vocab"] == "urn:regie:signal#" and doc["unitCode"] == "WTT"
    assert len(doc["steps"]) == 72 and doc["steps"][0]["start"] == "2025-04-20T14:30:00+02:00"
    assert doc["steps"][0]["end"] == "2025-04-20T15:00:00+02:00"
    assert doc["now"] == doc["steps"][0]["level"] in {sig.GREEN, sig.ORANGE, sig.RED}
    for step in doc["steps"]:
        assert step["balanceLow"] <= step["balanceHigh"]  # the 80 % interval of the past errors around it


def test_the_signal_as_one_line_of_text(clocked: TestClient) -> None:
    r = clocked.get("/api/signal.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text.endswith("\n") and r.text.count("\n") == 1
    line = sig.parse_text_line(r.text)
    start = int(datetime(2025, 4, 20, 14, 30, tzinfo=PARIS).timestamp())
    assert line["territory"] == "vallee" and line["start"] == start and line["step"] == 1800
    assert line["levels"] == [s["level"] for s in clocked.get("/api/signal").json()["steps"]]


def test_the_signal_at_an_instant_and_bad_input(clocked: TestClient) -> None:
    r = clocked.get("/api/signal.txt", params={"at": "2025-04-10T08:00"})
    assert sig.parse_text_line(r.text)["start"] == int(datetime(2025, 4, 10, 8, tzinfo=PARIS).timestamp())
    r = clocked.get("/api/signal", params={"at": "yesterday"})
    assert r.status_code == 422 and "at: 'yesterday' is not an ISO 8601" in r.json()["detail"]
    # long after the data: no signal, said plainly
    doc = clocked.get("/api/signal", params={"at": "2025-09-01T12:00"}).json()
    assert doc["stale"] is True and doc["now"] == sig.UNKNOWN and doc["dataUntil"] == "2025-05-01T00:00:00+02:00"


def test_the_signal_commands(web_store: Store, monkeypatch, mqtt_broker) -> None:
    from typer.testing import CliRunner

    from regie.cli import app

    url = str(web_store.engine.url)
    host, port = mqtt_broker
    monkeypatch.setenv("REGIE_MQTT_HOST", host)
    monkeypatch.setenv("REGIE_MQTT_PORT", str(port))
    monkeypatch.setenv("REGIE_SIGNAL_MQTT_TOPIC", "test-cli/{territory}/signal")
    runner = CliRunner()
    shown = runner.invoke(app, ["signal", "show", "--at", "2025-04-20T14:40", "--database-url", url])
    assert shown.exit_code == 0, shown.output
    first = shown.output.splitlines()[0]
    assert sig.parse_text_line(first)["territory"] == "vallee"
    assert len(shown.output.splitlines()) == 1 + 72
    published = runner.invoke(app, ["signal", "publish", "--at", "2025-04-20T14:40", "--database-url", url])
    assert published.exit_code == 0, published.output
    assert "published on test-cli/vallee/signal, test-cli/vallee/signal/json" in " ".join(published.output.split())
    import paho.mqtt.publish as publish

    publish.multiple([("test-cli/vallee/signal", b"", 1, True), ("test-cli/vallee/signal/json", b"", 1, True)],
                     hostname=host, port=port)  # fmt: skip
    bad = runner.invoke(app, ["signal", "show", "--at", "soon", "--database-url", url])
    assert bad.exit_code == 2 and "--at 'soon'" in " ".join(bad.output.split())


def test_the_widget_on_the_territory_page(client: TestClient, clocked: TestClient) -> None:
    """Today (the real clock) is long after the synthetic data: the widget says the data stop, and when; at a
    moment inside the data it shows 72 half-hours and the skill measured on the territory's own data."""
    page = client.get("/", params={"lang": "en"}).text
    assert 'data-testid="signal-widget" data-level="unknown"' in page
    assert 'data-testid="signal-stale"' in page and "The public data stop on May 1, 2025" in page
    page = clocked.get("/", params={"lang": "fr"}).text
    assert page.count('<li class="signal-') == 72 and "Quand consommer" in page
    assert 'data-testid="signal-skill"' in page and "gain de" in page


def test_a_territory_without_coordinates_is_told_why(web_store: Store) -> None:
    from dataclasses import replace

    inv = web_store.load_inventory()
    web_store.save_inventory(replace(inv, territory=replace(inv.territory, latitude=None, longitude=None)))
    app = create_app(web_store)
    app.state.clock = lambda: NOW
    r = TestClient(app).get("/api/signal")
    assert r.status_code == 400 and "has no coordinates" in r.json()["detail"]


def test_the_json_ld_is_linked_data(clocked: TestClient) -> None:
    """Read as RDF (rdflib), the document gives each step's start as schema:startTime and its level."""
    import rdflib

    g = rdflib.Graph().parse(data=clocked.get("/api/signal").text, format="json-ld")
    starts = list(g.objects(None, rdflib.URIRef("https://schema.org/startTime")))
    levels = {str(o) for o in g.objects(None, rdflib.URIRef("urn:regie:signal#level"))}
    assert len(starts) == 72 and all(s.datatype == rdflib.XSD.dateTime for s in starts)
    assert levels <= {sig.GREEN, sig.ORANGE, sig.RED, sig.UNKNOWN} and levels


def test_the_demo_replays_the_signal_of_its_last_day(web_store: Store) -> None:
    """``regie demo`` serves data that ended long ago: it shows the signal as it was at noon on its last day."""
    from regie.cli.demo import _replay_signal

    app = create_app(web_store)
    app.state.clock = lambda: datetime(2026, 12, 4, 12, tzinfo=PARIS).timestamp()  # long after the data
    assert sig.parse_text_line(TestClient(app).get("/api/signal.txt").text)["levels"][0] == sig.UNKNOWN
    _replay_signal(app)
    line = sig.parse_text_line(TestClient(app).get("/api/signal.txt").text)
    assert line["start"] == int(datetime(2025, 4, 30, 12, tzinfo=PARIS).timestamp())  # the last readings: 30 April
    assert sig.UNKNOWN not in line["levels"][:24]
