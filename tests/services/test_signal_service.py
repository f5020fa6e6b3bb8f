"""The signal of a territory from its public figures (regie.services.signal): computed through the publication,
refused by secrecy like the page, with a weather forecast from a file or a loopback URL, published retained on the
real Mosquitto."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.analytics import signal as sig
from regie.model import DeliveryPoint, Inventory, Producer, Readings, Series, SeriesKind, Site, Source, Step, Territory
from regie.services import signal as signals
from regie.store import Store, open_store

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step.parse("PT30M")
START, END = datetime(2025, 4, 1, tzinfo=PARIS), datetime(2025, 6, 1, tzinfo=PARIS)
#: A moment inside the data: 15 May 2025, 11:10 in Paris.
NOW = datetime(2025, 5, 15, 11, 10, tzinfo=PARIS).timestamp()


def village(households: int = 12) -> Inventory:
    prms = [f"400000000000{i:02d}" for i in range(households)]
    return Inventory(
        Territory("vallon", "Vallon", latitude=42.40, longitude=2.48),
        sites=[Site("s", "Site", "vallon", altitude_m=700.0), Site("meteo", "Station", "vallon")],
        delivery_points=[DeliveryPoint(p, "s") for p in prms],
        producers=[Producer("h", "Hydro", Source.HYDRO, 500_000)],
        series=[
            *(Series(f"c{i}", SeriesKind.CONSUMPTION, "W", PT30M, prm=p) for i, p in enumerate(prms)),
            Series("h", SeriesKind.PRODUCTION, "W", PT30M, producer_id="h"),
            Series("temp", SeriesKind.TEMPERATURE, "degC", PT30M, site_id="meteo"),
        ],
    )


def fill(store: Store, households: int = 12) -> None:
    """Each household 100 W at night, 200 W from 07:00 to 22:00 UTC; hydro a steady 1.8 kW: a surplus at night,
    an import by day, the same every day."""
    store.save_inventory(village(households))
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    hour = (t % 86_400) / 3600
    load = np.where((hour >= 7) & (hour < 22), 200.0, 100.0)
    store.write([*(Readings(f"c{i}", t, load) for i in range(households)),
                 Readings("h", t, np.full(len(t), 1800.0)),
                 Readings("temp", t, 12 + 5 * np.sin(2 * np.pi * hour / 24))])  # fmt: skip


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'signal.sqlite'}")
    fill(s)
    yield s
    s.close()


def test_the_signal_of_a_regular_village(store: Store) -> None:
    s = signals.compute_signal(store, None, NOW)
    assert not s.stale and len(s.levels) == 72 and s.step == 1800
    assert s.start == int(datetime(2025, 5, 15, 11, 0, tzinfo=PARIS).timestamp())
    # 12 households: 2.4 kW by day against 1.8 kW of hydro, 1.2 kW at night: red by day, green by night
    hours = [(s.start + i * s.step) % 86_400 / 3600 for i in range(72)]
    for h, level, e in zip(hours, s.levels, s.expected_w, strict=True):
        if 7 <= h < 22:
            assert level == sig.RED and e == pytest.approx(-600.0)
        else:
            assert level == sig.GREEN and e == pytest.approx(600.0)
    assert s.text().startswith(f"REGIE-SIGNAL/1 vallon {s.start} 1800 {int(NOW)} ")
    assert sig.parse_text_line(s.text())["levels"] == s.levels
    doc = signals.as_jsonld(s, PARIS)
    assert doc["@context"]["start"] == {"@id": "schema:startTime", "@type": "xsd:dateTime"}
    assert doc["steps"][0]["start"] == "2025-05-15T11:00:00+02:00" and doc["steps"][0]["level"] == s.levels[0]
    assert doc["dataUntil"] == "2025-05-15T11:00:00+02:00"  # what was known at that moment, not later


def test_no_signal_from_stale_data(store: Store) -> None:
    later = datetime(2025, 6, 20, tzinfo=PARIS).timestamp()
    s = signals.compute_signal(store, None, later)
    assert s.stale and set(s.levels) == {sig.UNKNOWN}
    assert s.text().endswith(" " + "U" * 72)


def test_secrecy_hides_the_signal_as_it_hides_the_figures(tmp_path) -> None:
    """Nine households: the published consumption is hidden (fewer than 10 points), so the signal knows nothing of
    it and says so (unknown), instead of reading the households' own curves."""
    small = open_store(f"sqlite:///{tmp_path / 'small.sqlite'}")
    fill(small, households=9)
    try:
        s = signals.compute_signal(small, None, NOW)
        assert set(s.levels) == {sig.UNKNOWN}
    finally:
        small.close()


def test_measured_skill_on_the_territorys_own_data(store: Store) -> None:
    skill = signals.measured_skill(store, None)
    assert skill is not None and skill["forecasts"] > 20
    # the same load every day: the forecast is exact, and persistence too
    assert skill["mae_w"] == pytest.approx(0, abs=1e-6) and skill["green_right"] == 1.0 and skill["red_right"] == 1.0


CSV = "time,ghi,temperature\n2025-05-15T09:00:00+00:00,300,20\n2025-05-15T12:00:00+00:00,,22\n"
OPEN_METEO = {"utc_offset_seconds": 7200, "hourly": {"time": ["2025-05-15T11:00", "2025-05-15T14:00"],
              "shortwave_radiation": [300, 600], "temperature_2m": [20.0, None]}}  # fmt: skip


def test_weather_forecasts_in_both_formats() -> None:
    t, v = signals.parse_weather(CSV, "f.csv")
    base = int(datetime(2025, 5, 15, 9, tzinfo=ZoneInfo("UTC")).timestamp())
    assert list(t) == [base, base + 3 * 3600]
    assert v["ghi"][0] == 300 and np.isnan(v["ghi"][1]) and list(v["temperature"]) == [20, 22]
    t2, v2 = signals.parse_weather(json.dumps(OPEN_METEO), "api")
    assert list(t2) == [base, base + 3 * 3600] and list(v2["ghi"]) == [300, 600]
    grid = base + 1800 * np.arange(8, dtype=np.int64)
    w = signals.weather_on_grid(t2, v2, grid, 1800)
    assert w.ghi[0] == pytest.approx(300 + 300 * 900 / 10800)  # the middle of the first step
    assert np.isnan(w.ghi[-1])  # past the forecast's end


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,ghi\n2025-05-15T09:00:00+00:00,1\n", "f.csv: CSV without a 'time' column"),
        ("time,ghi\n2025-05-15T09:00:00+00:00,sunny\n", "f.csv, line 2, column ghi: 'sunny' is not a number"),
        ("time,ghi\n2025-05-15T09:00,1\n", "f.csv, line 2: '2025-05-15T09:00' has no UTC offset"),
        ('{"hourly": {}}', "f.csv: not Open-Meteo JSON with hourly.time"),
    ],
)
def test_a_bad_weather_forecast_says_where_and_why(text: str, message: str) -> None:
    with pytest.raises(signals.SignalError) as err:
        signals.parse_weather(text, "f.csv")
    assert str(err.value).startswith(message)


@pytest.fixture
def weather_server() -> Iterator[str]:
    """A weather service on loopback answering Open-Meteo JSON."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(OPEN_METEO).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/forecast"
    server.shutdown()


def test_the_signal_uses_a_forecast_from_an_url_and_survives_a_broken_one(store: Store, weather_server: str,
                                                                         tmp_path) -> None:  # fmt: skip
    s = signals.compute_signal(store, None, NOW, weather_server)
    assert s.weather == "forecast" and s.weather_problem is None
    broken = tmp_path / "missing.csv"
    s = signals.compute_signal(store, None, NOW, str(broken))
    assert s.weather == "clear-sky" and "missing.csv" in s.weather_problem
    assert len(s.levels) == 72 and sig.UNKNOWN not in s.levels  # the lamp keeps its signal


def test_the_signal_is_published_retained_on_mqtt(store: Store, mqtt_broker) -> None:
    import paho.mqtt.client as mqtt

    host, port = mqtt_broker
    topic = signals.mqtt_topic("test/{territory}/signal-" + uuid.uuid4().hex[:8], "vallon")
    s = signals.compute_signal(store, None, NOW)
    assert signals.publish_mqtt(s, PARIS, host, port, topic) == [topic, topic + "/json"]
    got: dict[str, tuple[bytes, bool]] = {}
    done = threading.Event()

    def on_message(client, userdata, msg) -> None:
        got[msg.topic] = (msg.payload, msg.retain)
        if len(got) == 2:
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect(host, port)
    client.subscribe([(topic, 1), (topic + "/json", 1)])  # after the publication: only retained messages come
    client.loop_start()
    try:
        assert done.wait(60), f"retained messages not received: {list(got)}"
        payload, retained = got[topic]
        assert retained and payload.decode() == s.text()
        doc = json.loads(got[topic + "/json"][0])
        assert doc["territory"] == "vallon" and len(doc["steps"]) == 72
    finally:
        for t in (topic, topic + "/json"):  # leave the shared broker as it was
            client.publish(t, b"", qos=1, retain=True).wait_for_publish(60)
        client.loop_stop()
        client.disconnect()
    with pytest.raises(signals.SignalError, match="no '\\+', '#'"):
        signals.mqtt_topic("regie/+/signal", "vallon")
