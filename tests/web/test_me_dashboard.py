"""The member's dashboard on /me and /api/me/dashboard (member_world.py: fifteen homes, a PV park), over HTTP and
in a real headless Chromium: the figures render, the period picker and its links work, the choices are saved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from browsing import LoopbackOnly
from fastapi.testclient import TestClient
from member_world import FAST, SECRET, World, build
from playwright.sync_api import expect
from servers import AppServer

from regie.governance import accounts
from regie.services import member
from regie.store import member_preferences, open_store
from regie.web import auth
from regie.web.app import create_app


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('me') / 'bourg.sqlite'}")
    yield build(store)
    store.close()


def _app(world: World):
    app = create_app(world.store)
    app.state.secret, app.state.password_hasher = SECRET, FAST
    return app


def client_of(world: World, who: str, lang: str = "en") -> TestClient:
    client = TestClient(_app(world), follow_redirects=False, headers={"Accept-Language": lang})
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions[who])
    return client


def attr(html: str, testid: str, name: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*?\s{name}="([^"]*)"', html)
    assert found, f"{testid} has no {name}"
    return found.group(1)


def test_the_page_shows_the_services_figures(world: World) -> None:
    html = client_of(world, "alice").get("/me", params={"period": "month", "on": "2025-03-12"}).text
    alice = accounts.get_account(world.store, "alice")
    board = member.dashboard(world.store, alice, world.store.load_inventory(), "month", date(2025, 3, 12), "base")
    assert attr(html, "dashboard", "data-start") == "2025-03-01" and attr(html, "dashboard", "data-end") == "2025-04-01"
    assert float(attr(html, "my-consumption", "data-wh")) == pytest.approx(board.consumption_wh)
    assert float(attr(html, "local-share", "data-local-wh")) == pytest.approx(board.local.local_wh, abs=1e-3)
    assert float(attr(html, "local-share-unknown", "data-unknown-wh")) == 5800.0  # the day secrecy hides
    assert float(attr(html, "cost", "data-eur")) == pytest.approx(board.cost.eur, abs=0.005)
    assert "homes subscribing up to 6 kVA" in html and attr(html, "dashboard-chart", "data-bars") == "31"
    assert "{# signal widget #}" not in html  # the lead's slot is a template comment
    assert "Ma part locale" in client_of(world, "alice", "fr").get("/me").text


def test_similar_homes_hidden_with_the_reason(world: World) -> None:
    html = client_of(world, "zoe").get("/me", params={"period": "month", "on": "2025-09-01"}).text
    assert attr(html, "similar", "data-masked") == "fewer_than_10"
    assert "fewer than 10 similar homes have data over this period" in html


def test_preferences_change_the_cost_option(world: World) -> None:
    client = client_of(world, "alice")
    r = client.post("/me/preferences", data={"csrf_token": world.csrf("alice"), "tariff_option": "tempo",
                                             "language": "en", "digest": "on"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/me?done=preferences#dashboard"
    acct = accounts.get_account(world.store, "alice")
    assert member_preferences.get(world.store, acct.id) == member_preferences.Preferences("tempo", True, "en")
    html = client.get("/me", params={"period": "month", "on": "2025-09-01"}).text
    assert attr(html, "cost", "data-option") == "tempo" and 'data-testid="cost-illustrative"' in html
    bad = client.post("/me/preferences", data={"csrf_token": world.csrf("alice"), "tariff_option": "ejp"})
    assert bad.status_code == 400 and "tariff option: choose one of base, hphc, tempo" in bad.text
    no_csrf = client.post("/me/preferences", data={"tariff_option": "base"})
    assert no_csrf.status_code == 403
    member_preferences.put(world.store, acct.id, member_preferences.Preferences())


def test_api_dashboard(world: World) -> None:
    client = client_of(world, "alice")
    r = client.get("/api/me/dashboard", params={"period": "year", "on": "2025-02-02", "option": "hphc"})
    assert r.status_code == 200
    body = r.json()
    assert body["period"] == {"kind": "year", "start": "2025-01-01", "end": "2026-01-01",
                              "last_year": ["2024-01-01", "2025-01-01"]}  # fmt: skip
    assert len(body["bars"]) == 12 and body["cost"]["option"] == "hphc"
    assert body["cost"]["unpriced_wh"] == pytest.approx(31 * 5800)  # HP/HC of January 2025 is not recorded
    assert body["local_share"]["unknown_wh"] == 5800.0 and body["similar"]["homes"] == 12
    assert client.get("/api/me/dashboard", params={"on": "2025-02-30"}).status_code == 422
    assert client.get("/api/me/dashboard", params={"period": "decade"}).status_code == 422


# ---------------------------------------------------------------- in a browser


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[AppServer]:
    with AppServer(_app(world)) as s:
        yield s


@pytest.mark.browser
def test_dashboard_and_period_picker_in_a_browser(chromium, server: AppServer) -> None:
    pages = LoopbackOnly(chromium, server.url)
    page = pages.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/login")
    page.get_by_test_id("username").fill("alice")
    page.get_by_test_id("password").fill("a long enough password")
    page.get_by_test_id("login-submit").click()
    dash = page.get_by_test_id("dashboard")
    expect(dash).to_have_attribute("data-period", "month")
    expect(dash).to_have_attribute("data-start", "2025-12-01")
    expect(page.get_by_test_id("my-consumption").locator(".figure-value")).to_have_text(re.compile(r"kWh$"))
    expect(page.get_by_test_id("local-share").locator(".figure-value")).to_have_text(re.compile(r"^\d+\s?%$"))
    expect(page.get_by_test_id("cost").locator(".figure-value")).to_have_text(re.compile(r"€$"))
    expect(page.get_by_test_id("dashboard-chart").locator("svg")).to_be_visible()

    # pick a year around a day: the page comes back with that year, twelve monthly bars
    page.get_by_test_id("period-kind").select_option("year")
    page.get_by_test_id("period-on").fill("2025-03-10")
    page.get_by_test_id("period-show").click()
    # the page before the click has a dashboard too (the month): wait for the answer's attributes
    expect(dash).to_have_attribute("data-period", "year")
    expect(dash).to_have_attribute("data-start", "2025-01-01")
    expect(page.get_by_test_id("dashboard-table").locator("tbody tr")).to_have_count(12)
    expect(page.get_by_test_id("local-share-unknown")).to_be_visible()  # the hidden day is in this year

    # the previous period: 2024, whose same period last year (2023) has no data
    page.get_by_test_id("period-previous").click()
    expect(dash).to_have_attribute("data-start", "2024-01-01")
    expect(page.get_by_test_id("last-year")).to_have_attribute("data-wh", "")  # no data, not 0 Wh
    expect(page.get_by_test_id("last-year")).to_contain_text("no data")

    # a day: 48 half-hours
    page.get_by_test_id("period-kind").select_option("day")
    page.get_by_test_id("period-on").fill("2025-06-15")
    page.get_by_test_id("period-show").click()
    expect(dash).to_have_attribute("data-period", "day")
    expect(page.get_by_test_id("dashboard-chart")).to_have_attribute("data-bars", "48")
    assert page.get_by_test_id("similar").inner_text().count("month") == 1  # "Shown for a month or a year."
    pages.close()
