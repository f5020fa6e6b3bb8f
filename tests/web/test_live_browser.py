"""The live view in a real headless Chromium: readings posted to the emoncms API appear on the open page, without
reloading it (server-sent events), and a household's roof never shows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest

from regie.demo.schools_live import bind_inputs
from regie.governance import accounts
from regie.ingest import apikeys
from regie.model import (
    DeliveryPoint,
    Inventory,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)
from regie.store import Store, open_store

pytestmark = pytest.mark.browser

PT10S = Step.parse("PT10S")
SCHOOL, ROOF = "32000000000001", "32000000000002"
KEY: dict[str, str] = {}
#: The transformer's load: the last 60 days up to today's midnight (the supervision window is the last year).
T0 = int(datetime.combine(date.today() - timedelta(days=60), datetime.min.time(), ZoneInfo("Europe/Paris")).timestamp())


@pytest.fixture(scope="module")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Overrides the shared fixture: a hydro plant, a public school and a household roof, each with a live input."""
    path: Path = tmp_path_factory.mktemp("live") / "live.sqlite"
    store = open_store(f"sqlite:///{path}")
    store.save_inventory(Inventory(
        Territory("ville", "Ville-Test"),
        sites=[Site("ecole", "École des Tilleuls", "ville"), Site("maison", "Maison", "ville")],
        delivery_points=[DeliveryPoint(SCHOOL, "ecole", "C4", usage="public"),
                         DeliveryPoint(ROOF, "maison", "P4", usage="residential")],
        producers=[Producer("moulin", "Moulin du Pont", Source.HYDRO, 150_000),
                   Producer("toit", "Toit privé", Source.PV, 6_000, prm=ROOF)],
        transformers=[Transformer("tr1", "Poste de l'école", 160, prms=(SCHOOL, ROOF))],
        series=[Series("prod-moulin", SeriesKind.PRODUCTION, "W", Step.parse("PT30M"), producer_id="moulin"),
                Series("load-tr1", SeriesKind.TRANSFORMER_LOAD, "W", Step.parse("PT30M"), transformer_id="tr1"),
                Series("cons-ecole", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=SCHOOL, site_id="ecole"),
                Series("prod-toit", SeriesKind.PRODUCTION, "W", Step.parse("PT30M"), prm=ROOF, producer_id="toit"),
                Series("live-prod-moulin", SeriesKind.SENSOR, "W", PT10S),
                Series("live-cons-ecole", SeriesKind.SENSOR, "W", PT10S),
                Series("live-prod-toit", SeriesKind.SENSOR, "W", PT10S)],
    ))  # fmt: skip
    bind_inputs(store, {("moulin", "power"): "live-prod-moulin", ("ecole", "power"): "live-cons-ecole",
                        ("toit", "power"): "live-prod-toit"})  # fmt: skip
    KEY["ingest"] = apikeys.create_key(store, "sensors", ["ingest"])[1]
    t = np.arange(T0, T0 + 60 * 86_400, 1800, dtype=np.int64)
    store.write([Readings("load-tr1", t, 60_000 + 40_000 * np.sin(np.arange(len(t)) * np.pi / 24) ** 2)])
    admin = accounts.create_account(store, "boss", "a long enough password", "admin")
    KEY["session"] = accounts.create_session(store, admin)
    yield store
    store.close()


def post(base: str, frames: list) -> None:
    """One emoncms bulk post, as an emonhub would send it; the reply is ``ok`` once committed."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        r = client.post(f"{base}/input/bulk", data={"data": json.dumps(frames), "time": "0"},
                        headers={"Authorization": f"Bearer {KEY['ingest']}"})  # fmt: skip
    assert r.status_code == 200 and r.text == "ok", r.text


def test_live_numbers_change_as_readings_arrive(page, live_server) -> None:
    from playwright.sync_api import expect

    page.goto(live_server.url + "/live?lang=en")
    page.evaluate("() => { window.__sameDocument = true; }")
    page.wait_for_function("() => window.regie && window.regie.live && window.regie.live.events >= 1")
    expect(page.get_by_test_id("live-no-producer")).to_be_visible()

    now = int(time.time())
    post(live_server.url, [[now, "moulin", {"power": 41_000}], [now, "ecole", {"power": 7_000}]])
    plant = page.locator('[data-testid="live-producer"][data-id="moulin"]')
    expect(plant).to_contain_text("Moulin du Pont")
    expect(plant.locator("[data-power]")).to_have_attribute("data-value", "41000")
    expect(plant.locator("[data-power]")).to_have_text("41\u00a0kW")
    expect(page.get_by_test_id("value-live-consumption")).to_have_attribute("data-value", "7000")
    expect(page.get_by_test_id("value-live-balance")).to_have_attribute("data-value", "34000")
    expect(page.locator('[data-testid="live-building"][data-id="cons-ecole"]')).to_contain_text("7.0\u00a0kW")

    post(live_server.url, [[int(time.time()), "moulin", {"power": 52_500}]])
    expect(plant.locator("[data-power]")).to_have_attribute("data-value", "52500")
    expect(page.get_by_test_id("value-live-balance")).to_have_attribute("data-value", "45500")

    # no decimals from 10 kW up, as the pages write it
    expect(page.get_by_test_id("value-live-production")).to_have_text("53\u00a0kW")

    # A household's roof starts posting: never shown by name; alone among private plants, its sum is hidden by
    # secrecy, so the total production (and the balance) can no longer be published.
    post(live_server.url, [[int(time.time()), "toit", {"power": 2_345}]])
    expect(page.get_by_test_id("value-live-production")).to_have_attribute("data-value", "None")
    expect(page.get_by_test_id("value-live-balance")).to_have_attribute("data-value", "None")
    expect(page.get_by_test_id("live-production")).to_contain_text("statistical secrecy")
    assert page.locator('[data-testid="live-producer"][data-id="toit"]').count() == 0
    assert page.evaluate("() => window.__sameDocument === true")  # updated in place, never reloaded
    assert "2345" not in page.content() and "2345" not in json.dumps(page.evaluate("() => window.regie.live.last"))


def test_transformer_charts_are_drawn(page, live_server) -> None:
    from playwright.sync_api import expect

    host = live_server.url.split("//")[1].split(":")[0]
    page.context.add_cookies([{"name": "regie_session", "value": KEY["session"], "domain": host, "path": "/"}])
    page.goto(live_server.url + "/grid/tr1?lang=en")
    expect(page.get_by_test_id("transformer-name")).to_have_text("Poste de l'école")
    if page.get_by_test_id("chart-missing").count():
        pytest.skip("ECharts is not installed (scripts/setup.sh)")
    for chart in ("load-chart", "duration-chart"):
        expect(page.get_by_test_id(chart)).to_have_attribute("data-state", "ready")
    days = page.evaluate("() => window.regie.charts['load-chart'].getOption().xAxis[0].data.length")
    assert 60 <= days <= 62  # to the end of the data: the live readings of today
    top = page.evaluate("() => window.regie.charts['duration-chart'].getOption().series[0].data[0][1]")
    assert top == pytest.approx(100 * 100_000 / (160_000 * 0.95), abs=0.01)
