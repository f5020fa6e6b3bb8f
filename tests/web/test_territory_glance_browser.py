"""The territory page at a glance, in a real headless Chromium over the synthetic year (2025, tests/web/conftest.py):
the period picker changes the chart and the comparison, the CSV holds exactly what /api/balance gave for the chart,
and the "when to consume" widget shows the same signal as /api/signal."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browsing import loopback_page
from playwright.sync_api import expect
from servers import AppServer

from regie.store import Store
from regie.web.app import create_app

pytestmark = pytest.mark.browser

CHART = "window.regie.balanceChart"
#: The server's clock for the widget: a Sunday afternoon inside the synthetic year.
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 6, 15, 15, 10, tzinfo=PARIS).timestamp()


@pytest.fixture(scope="module")
def clocked_server(browser_store: Store) -> Iterator[AppServer]:
    app = create_app(browser_store)
    app.state.clock = lambda: NOW
    with AppServer(app) as server:
        yield server


def state(page) -> dict:
    return page.evaluate(
        f"""() => {{
            const c = {CHART}, o = c.chart.getOption();
            return {{requests: c.state.requests, compare: c.state.compareRequests, step: c.state.step,
                     error: c.state.error, points: Object.fromEntries(o.series.map(s => [s.id, s.data]))}};
        }}"""
    )


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def ready(page, period: str) -> None:
    page.wait_for_selector(f'#period-picker[data-period="{period}"]')
    page.wait_for_selector('#balance-chart[data-state="ready"]')


def test_the_period_picker_changes_the_chart_and_compares(chromium, clocked_server: AppServer) -> None:
    with loopback_page(chromium, clocked_server.url, viewport={"width": 1280, "height": 900}) as page:
        page.goto(clocked_server.url + "/")
        page.wait_for_selector('#balance-chart[data-state="ready"]')
        assert page.get_by_test_id("period-compare").is_hidden()  # the whole period has no "previous"

        # the last week: cut by the end of the data (Wednesday 31 December), so compared with as many days before
        page.get_by_role("button", name="Semaine").click()
        ready(page, "week")
        s = state(page)
        assert s["requests"][-1] == {"start": "2025-12-29", "end": "2026-01-01", "step": "PT30M"}
        assert s["compare"][-1] == {"start": "2025-12-22", "end": "2025-12-25", "step": "P1D"}
        values = page.locator('[data-testid="period-compare"] tr[data-figure="consumption"] td[data-value]')
        assert values.evaluate_all("els => els.map(e => Number(e.dataset.value))") == [72_000, 72_000]
        page.get_by_role("button", name="Toute la période").click()
        ready(page, "all")

        # a month: the last month of the data, daily, against the month before
        page.get_by_role("button", name="Mois").click()
        ready(page, "month")
        s = state(page)
        assert s["requests"][-1] == {"start": "2025-12-01", "end": "2026-01-01", "step": "P1D"}
        assert s["compare"][-1] == {"start": "2025-11-01", "end": "2025-12-01", "step": "P1D"}
        assert len(s["points"]["consumption"]) == 32  # 31 days and the closing point
        expect(page.get_by_test_id("period-label")).to_have_text("décembre 2025")
        rows = page.locator('[data-testid="period-compare"] tbody tr')
        consumption = rows.filter(has=page.locator("th", has_text="Consommation"))
        # 1000 W all the time: 744 kWh in December, 720 kWh in November
        cells = consumption.locator("td[data-value]")
        values = [float(v) for v in cells.evaluate_all("els => els.map(e => e.dataset.value)")]
        assert values == [744_000.0, 720_000.0]

        # the month before, with the arrow
        page.get_by_role("button", name="Période précédente").click()
        page.wait_for_selector('#period-picker[data-from="2025-11-01"]')
        assert state(page)["requests"][-1] == {"start": "2025-11-01", "end": "2025-12-01", "step": "P1D"}

        # a day: the first of that month, at the metering step
        page.get_by_role("button", name="Jour").click()
        ready(page, "day")
        page.wait_for_selector('#balance-chart[data-step="PT30M"]')
        s = state(page)
        assert s["requests"][-1] == {"start": "2025-11-01", "end": "2025-11-02", "step": "PT30M"}
        assert len(s["points"]["pv"]) == 49
        assert s["compare"][-1] == {"start": "2025-10-31", "end": "2025-11-01", "step": "P1D"}

        # custom dates: three days, at the metering step
        page.get_by_role("button", name="Personnalisée").click()
        page.fill('#period-custom [name="from"]', "2025-06-01")
        page.fill('#period-custom [name="to"]', "2025-06-03")
        page.get_by_role("button", name="Afficher").click()
        ready(page, "custom")
        assert state(page)["requests"][-1] == {"start": "2025-06-01", "end": "2025-06-04", "step": "PT30M"}
        assert state(page)["compare"][-1] == {"start": "2025-05-29", "end": "2025-06-01", "step": "P1D"}


def test_the_csv_holds_what_the_chart_shows(chromium, clocked_server: AppServer) -> None:
    with loopback_page(chromium, clocked_server.url, viewport={"width": 1280, "height": 900}) as page:
        page.goto(clocked_server.url + "/")
        page.wait_for_selector('#balance-chart[data-state="ready"]')
        page.get_by_role("button", name="Mois").click()
        page.get_by_role("button", name="Jour").click()
        ready(page, "day")
        page.wait_for_selector('#balance-chart[data-step="PT30M"]')
        with page.expect_download() as info:
            page.get_by_test_id("chart-csv").click()
        download = info.value
        assert download.suggested_filename == "balance-2025-12-01_2025-12-02.csv"
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))

    api = get_json(clocked_server.url + "/api/balance?start=2025-12-01&end=2025-12-02&step=PT30M")
    p = api["periods"]
    assert len(rows) == len(p["start"]) == 48
    for i, row in enumerate(rows):
        assert row["start"] == p["start"][i] and row["step"] == "PT30M"
        assert float(row["consumption_wh"]) == p["consumption_wh"][i]
        assert float(row["production_pv_wh"]) == p["production_wh"]["pv"][i]
        assert float(row["production_hydro_wh"]) == p["production_wh"]["hydro"][i]
        assert float(row["self_sufficiency"]) == p["self_sufficiency"][i]
    # the figures of the synthetic territory: 1000 W for half an hour is 500 Wh
    assert {float(r["consumption_wh"]) for r in rows} == {500.0}


def test_the_widget_shows_the_signal_of_the_api(chromium, clocked_server: AppServer) -> None:
    api = get_json(clocked_server.url + "/api/signal")
    assert api["stale"] is False and len(api["steps"]) == 72
    with loopback_page(chromium, clocked_server.url, viewport={"width": 1280, "height": 900}) as page:
        page.goto(clocked_server.url + "/?lang=en")
        widget = page.get_by_test_id("signal-widget")
        expect(widget).to_be_visible()
        expect(widget).to_contain_text("When to consume")
        expect(page.get_by_test_id("signal-now")).to_have_attribute("data-level", api["now"])
        cells = page.locator('[data-testid="signal-strip"] li')
        expect(cells).to_have_count(72)
        assert cells.evaluate_all("els => els.map(e => e.dataset.level)") == [s["level"] for s in api["steps"]]
        strip = page.get_by_test_id("signal-strip").bounding_box()
        assert strip["width"] > 600 and strip["height"] > 10  # drawn, across the panel
        page.get_by_text("How it works").click()
        expect(page.get_by_test_id("signal-how")).to_be_visible()
