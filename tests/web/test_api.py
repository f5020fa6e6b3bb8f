"""The JSON API over the synthetic territory (tests/web/conftest.py), on SQLite and PostgreSQL.

Expected figures are counted by hand from the conftest's definition: consumption 1000 W (ten households of
100 W), hydro 300 W all the time, PV 1400 W on UTC afternoons (12:00–24:00 UTC) only.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient

from regie.model import Readings, Series, SeriesKind, Step
from regie.store import open_store
from regie.web.app import create_app

PARIS = ZoneInfo("Europe/Paris")


def test_territory(client: TestClient) -> None:
    r = client.get("/api/territory")
    assert r.status_code == 200
    t = r.json()
    assert (t["id"], t["name"], t["timezone"]) == ("vallee", "Vallée-Test", "Europe/Paris")
    assert (t["latitude"], t["longitude"]) == (42.40, 2.48)
    assert (t["delivery_points"], t["series"], t["producers"], t["transformers"]) == (10, 12, 2, 1)
    assert t["series_by_kind"] == {"consumption": 10, "production": 2}
    assert t["producers_by_source"] == [
        {"source": "hydro", "producers": 1, "peak_power_w": 500_000},
        {"source": "pv", "producers": 1, "peak_power_w": 36_000},
    ]
    assert t["metering_step"] == "PT30M"
    assert t["data_period"] == {
        "first": "2025-03-01T00:00:00+01:00",
        "last": "2025-04-30T23:30:00+02:00",
        "end": "2025-05-01T00:00:00+02:00",
    }


def test_balance_defaults_to_whole_period_by_month(client: TestClient) -> None:
    r = client.get("/api/balance")
    assert r.status_code == 200
    b = r.json()
    assert (b["start"], b["end"], b["step"]) == ("2025-03-01T00:00:00+01:00", "2025-05-01T00:00:00+02:00", "P1M")
    # 1463 h (March loses one to DST). Paris midnight 1 March is 23:00 UTC on 28 February, so: 2 afternoon
    # half-hours on 28 Feb, 60 whole UTC days (1 March – 29 April), and 30 April until 22:00 UTC
    # (24 morning + 20 afternoon half-hours) → 1464 morning and 1462 afternoon half-hours = 732 h + 731 h.
    t = b["totals"]
    assert t["consumption_wh"] == pytest.approx(1000 * 1463)
    assert t["production_by_source_wh"] == {"hydro": pytest.approx(300 * 1463), "pv": pytest.approx(1400 * 731)}
    assert t["production_wh"] == pytest.approx(300 * 1463 + 1400 * 731)
    assert t["self_consumed_wh"] == pytest.approx(300 * 732 + 1000 * 731)
    assert t["coverage"] == pytest.approx((300 * 1463 + 1400 * 731) / (1000 * 1463))
    assert t["self_sufficiency"] == pytest.approx((300 * 732 + 1000 * 731) / (1000 * 1463))
    assert t["self_consumption"] == pytest.approx((300 * 732 + 1000 * 731) / (300 * 1463 + 1400 * 731))
    p = b["periods"]
    assert p["start"] == ["2025-03-01T00:00:00+01:00", "2025-04-01T00:00:00+02:00"]
    # March: 743 h = 372 morning + 371 afternoon hours; April: 720 h, 360 + 360.
    assert p["consumption_wh"] == [pytest.approx(743_000), pytest.approx(720_000)]
    assert p["production_wh"]["pv"] == [pytest.approx(1400 * 371), pytest.approx(1400 * 360)]
    assert p["self_consumed_wh"] == [pytest.approx(300 * 372 + 1000 * 371), pytest.approx(300 * 360 + 1000 * 360)]
    assert p["self_sufficiency"][1] == pytest.approx(468_000 / 720_000)
    assert b["sources"] == ["hydro", "pv"]
    # ten households of 100 W: enough points, none dominant — statistical secrecy hides nothing
    assert t["masked"] == {} and p["masked"] == {}


def test_balance_dates_are_local_days(client: TestClient) -> None:
    # Two Paris days = 2 March 23:00 UTC to 4 March 23:00 UTC: 48 morning and 48 afternoon half-hours.
    b = client.get("/api/balance", params={"start": "2025-03-03", "end": "2025-03-05", "step": "P1D"}).json()
    assert b["periods"]["start"] == ["2025-03-03T00:00:00+01:00", "2025-03-04T00:00:00+01:00"]
    assert b["periods"]["consumption_wh"] == [pytest.approx(24_000)] * 2
    assert b["periods"]["production_wh"]["pv"] == [pytest.approx(1400 * 12)] * 2
    t = b["totals"]
    assert (t["consumption_wh"], t["production_wh"], t["self_consumed_wh"]) == pytest.approx((48_000, 48_000, 31_200))
    assert (t["coverage"], t["self_sufficiency"], t["self_consumption"]) == pytest.approx((1.0, 0.65, 0.65))


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-03-03T11:00:00Z", "2025-03-03T13:00:00Z"), ("2025-03-03T12:00", "2025-03-03T14:00")],
    ids=["utc", "naive-is-local"],
)
def test_balance_at_metering_step(client: TestClient, start: str, end: str) -> None:
    b = client.get("/api/balance", params={"start": start, "end": end, "step": "PT30M"}).json()
    p = b["periods"]
    assert b["start"] == "2025-03-03T12:00:00+01:00"
    assert len(p["start"]) == 4 and p["start"][2] == "2025-03-03T13:00:00+01:00"
    assert p["consumption_wh"] == [pytest.approx(500)] * 4
    assert p["production_wh"]["pv"] == [0, 0, pytest.approx(700), pytest.approx(700)]
    assert p["self_consumed_wh"] == [pytest.approx(150), pytest.approx(150), pytest.approx(500), pytest.approx(500)]
    assert p["self_sufficiency"] == [pytest.approx(0.3), pytest.approx(0.3), 1.0, 1.0]


def test_balance_hourly(client: TestClient) -> None:
    b = client.get("/api/balance", params={"start": "2025-03-03", "end": "2025-03-04", "step": "PT1H"}).json()
    assert len(b["periods"]["start"]) == 24
    assert b["periods"]["consumption_wh"] == [pytest.approx(1000)] * 24


def test_dst_day_has_46_half_hours(client: TestClient) -> None:
    b = client.get("/api/balance", params={"start": "2025-03-30", "end": "2025-03-31", "step": "PT30M"}).json()
    assert len(b["periods"]["start"]) == 46
    assert b["periods"]["start"][3:5] == ["2025-03-30T01:30:00+01:00", "2025-03-30T03:00:00+02:00"]
    assert b["totals"]["consumption_wh"] == pytest.approx(23_000)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"start": "yesterday"}, 422, "start: 'yesterday' is not an ISO 8601 date"),
        ({"end": "2025-13-01"}, 422, "end: '2025-13-01' is not an ISO 8601"),
        ({"step": "30 minutes"}, 422, "step: not an ISO 8601 duration"),
        ({"step": "PT0M"}, 422, "step:"),
        ({"start": "1600-01-01"}, 422, "outside 1970"),
        ({"step": "PT10M"}, 400, "not a multiple of the metering step"),
        ({"start": "2025-04-01", "end": "2025-03-01"}, 400, "must be after start"),
        ({"start": "2025-03-03T10:10"}, 400, "must fall on the metering step"),
        ({"start": "1971-01-01", "end": "2099-01-01"}, 400, "longer than"),
        ({"start": "2025-03-01", "end": "2025-05-01", "step": "PT30M"}, 200, None),
    ],
)
def test_bad_input_says_what_and_why(client: TestClient, params: dict, status: int, message: str | None) -> None:
    r = client.get("/api/balance", params=params)
    assert r.status_code == status, r.text
    if message:
        assert message in r.json()["detail"]


def test_empty_store_is_404_with_reason(tmp_path, synthetic_inventory) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    client = TestClient(create_app(store))
    for path in ("/api/territory", "/api/balance"):
        r = client.get(path)
        assert r.status_code == 404 and "no territory" in r.json()["detail"]
    store.save_inventory(synthetic_inventory())
    assert client.get("/api/territory").json()["data_period"] is None
    r = client.get("/api/balance")
    assert r.status_code == 404 and "no data stored yet" in r.json()["detail"]
    store.close()


def test_openapi_lists_typed_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/territory", "/api/balance"} <= set(spec["paths"])
    assert "/" not in spec["paths"] and not any(p.startswith("/static") for p in spec["paths"])
    balance = spec["paths"]["/api/balance"]["get"]
    assert {p["name"] for p in balance["parameters"]} == {"start", "end", "step", "territory"}
    ok = balance["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/BalanceOut")
    assert {"400", "404", "422"} <= set(balance["responses"])
    assert "self_sufficiency" in spec["components"]["schemas"]["BalanceTotalsOut"]["properties"]


def test_default_period_is_widened_to_the_metering_step(tmp_path, synthetic_inventory) -> None:
    """A thermometer read every 10 minutes, off the half-hour grid, must not break the default balance."""
    store = open_store(f"sqlite:///{tmp_path / 't.sqlite'}")
    inv = synthetic_inventory()
    inv.series.append(Series("temp", SeriesKind.TEMPERATURE, "degC", Step.parse("PT10M"), resolution=0.1))
    store.save_inventory(inv)
    consumers = [s.id for s in inv.series if s.kind is SeriesKind.CONSUMPTION]  # ten households of 10 W
    a = int(datetime(2025, 3, 3, 0, 10, tzinfo=PARIS).timestamp())
    store.write([
        Readings("temp", np.array([a, a + 86400], dtype=np.int64), np.array([5.0, 6.0])),
        *(Readings(c, np.arange(a + 1200, a + 86400, 1800, dtype=np.int64), np.full(48, 10.0)) for c in consumers),
    ])
    client = TestClient(create_app(store))
    assert client.get("/api/territory").json()["data_period"] == {
        "first": "2025-03-03T00:00:00+01:00", "last": "2025-03-04T00:10:00+01:00", "end": "2025-03-04T00:30:00+01:00",
    }
    r = client.get("/api/balance", params={"step": "P1D"})
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["consumption_wh"] == pytest.approx(48 * 50)
    store.close()
