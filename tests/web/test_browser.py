"""The territory page in a real headless Chromium, served by uvicorn on loopback over a synthetic year (2025):
figures shown, chart drawn, zooming fetches finer steps down to 30 minutes, language switch."""

from __future__ import annotations

import itertools

import pytest
from browsing import TIMEOUT_MS
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CHART = "window.regie.balanceChart"


def chart_state(page) -> dict:
    return page.evaluate(
        f"""() => {{
            const c = {CHART}, o = c.chart.getOption();
            return {{
                names: o.series.map(s => s.name),
                points: Object.fromEntries(o.series.map(s => [s.id, s.data])),
                step: c.state.step, requests: c.state.requests, error: c.state.error,
            }};
        }}"""
    )


def zoom(page, start: str, end: str) -> None:
    page.evaluate(
        f"([a, b]) => {CHART}.chart.dispatchAction("
        "{type: 'dataZoom', startValue: Date.parse(a), endValue: Date.parse(b)})",
        [start, end],
    )


def window_points(points: list, start_ms: float, end_ms: float) -> list:
    return [p for p in points if start_ms <= p[0] < end_ms]


def test_territory_page_zooms_and_switches_language(page, live_server) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    # a year of the synthetic territory: Σmin / Σcons = (300 × 4380 + 1000 × 4380) / (1000 × 8760) = 65 %
    # (to_have_text folds runs of white space, the narrow no-break spaces of French figures included)
    expect(page.get_by_test_id("value-self-sufficiency")).to_have_text("65,0 %")
    expect(page.get_by_test_id("value-consumption")).to_have_text("8,76 MWh")
    expect(page.get_by_test_id("figure-coverage")).to_contain_text("Taux de couverture")
    expect(page.locator('[data-testid="month-row"]')).to_have_count(12)

    page.wait_for_selector('#balance-chart[data-state="ready"]')
    assert page.locator("#balance-chart canvas").count() >= 1
    s = chart_state(page)
    assert s["error"] is None and s["step"] == "P1D"
    assert s["names"] == ["Hydraulique", "Photovoltaïque", "Consommation"]
    assert len(s["points"]["consumption"]) == 366  # 365 daily averages and the closing point
    assert {round(v, 6) for _, v in s["points"]["consumption"]} == {1.0}  # 1000 W = 1 kW every day
    assert s["requests"] == [{"start": "2024-12-31T23:00:00Z", "end": "2025-12-31T23:00:00Z", "step": "P1D"}]

    # two weeks → hourly averages
    zoom(page, "2025-06-01T00:00:00+02:00", "2025-06-15T00:00:00+02:00")
    page.wait_for_selector('#balance-chart[data-step="PT1H"][data-state="ready"]')
    assert chart_state(page)["requests"][-1]["step"] == "PT1H"

    # two days → the metering step, 30 minutes: really 30-minute values in the window
    zoom(page, "2025-06-10T00:00:00+02:00", "2025-06-12T00:00:00+02:00")
    page.wait_for_selector('#balance-chart[data-step="PT30M"][data-state="ready"]')
    s = chart_state(page)
    last = s["requests"][-1]
    assert last["step"] == "PT30M"
    a, b = page.evaluate("() => [Date.parse('2025-06-10T00:00:00+02:00'), Date.parse('2025-06-12T00:00:00+02:00')]")
    pv = window_points(s["points"]["pv"], a, b)
    assert len(pv) == 96 and all(q[0] - p[0] == 1_800_000 for p, q in itertools.pairwise(pv))
    # PV gives 1.4 kW from 12:00 UTC (14:00 in Paris in summer) to midnight UTC, nothing before
    by_time = dict(pv)
    noon_utc = page.evaluate("() => Date.parse('2025-06-10T12:00:00Z')")
    assert by_time[noon_utc - 1_800_000] == 0 and by_time[noon_utc] == pytest.approx(1.4)
    expect(page.get_by_test_id("chart-status")).to_contain_text("30 minutes")

    # back out to the year → the daily overview again, without a new request
    n = len(s["requests"])
    zoom(page, "2025-01-01T00:00:00+01:00", "2026-01-01T00:00:00+01:00")
    page.wait_for_selector('#balance-chart[data-step="P1D"][data-state="ready"]')
    assert len(chart_state(page)["requests"]) == n

    # language switch, visible on the page
    page.get_by_test_id("lang-en").click()
    page.wait_for_selector('html[lang="en"]')
    expect(page.get_by_test_id("figure-self-sufficiency")).to_contain_text("Self-sufficiency")
    expect(page.get_by_test_id("value-self-sufficiency")).to_have_text("65.0%")
    page.wait_for_selector('#balance-chart[data-state="ready"]')
    assert chart_state(page)["names"] == ["Hydro", "Solar PV", "Consumption"]
    expect(page.get_by_test_id("chart-status")).to_contain_text("daily averages")
    # the choice sticks (cookie)
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_chart_leaves_out_what_secrecy_hides_and_says_why(chromium, small_server) -> None:
    context = chromium.new_context(timezone_id="Europe/Paris", locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(small_server.url + "/")
        hidden = "masqué — moins de 10 points de livraison"
        expect(page.get_by_test_id("value-consumption")).to_have_text(hidden)
        page.wait_for_selector('#balance-chart[data-state="ready"]')
        s = chart_state(page)
        assert s["error"] is None
        assert s["names"] == ["Hydraulique", "Photovoltaïque"]  # no consumption line
        expect(page.get_by_test_id("chart-masked")).to_have_text(f"Secret statistique : Consommation : {hidden}")
        # zoomed to the metering step, consumption stays hidden
        zoom(page, "2025-03-10T00:00:00+01:00", "2025-03-12T00:00:00+01:00")
        page.wait_for_selector('#balance-chart[data-step="PT30M"][data-state="ready"]')
        assert "consumption" not in chart_state(page)["points"]
    finally:
        context.close()
