"""/admin/footprint in a real headless Chromium: the admin reaches it from /admin and reads the store's figures
beside emoncms's, in French and in English; a member is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from browsing import loopback_page, past_login
from playwright.sync_api import expect
from servers import AppServer

from regie.config import Settings
from regie.governance.accounts import create_account
from regie.model import Inventory, Person, Readings, Series, SeriesKind, Step, Territory
from regie.operations.footprint import measure_store
from regie.store import open_store
from regie.web.app import create_app

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, object]]:
    folder = tmp_path_factory.mktemp("footprint-page")
    store = open_store(f"sqlite:///{folder / 'regie.sqlite'}")
    series = Series("s", SeriesKind.SENSOR, "W", name="s", step=Step.parse("PT30M"))
    store.save_inventory(Inventory(Territory("t", "T"), series=[series], persons=[Person("alice", "Alice")]))
    t = int(time.time()) - 5 * 86400 + 1800 * np.arange(5 * 48, dtype=np.int64)
    store.write([Readings("s", t, np.full(len(t), 150.0))])
    create_account(store, "admin", PASSWORD, "admin")
    create_account(store, "alice", PASSWORD, "member", holder_id="alice")
    with AppServer(create_app(store, Settings.defaults(data_dir=folder))) as server:
        yield server, store
    store.close()


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    past_login(page)


def test_the_admin_reads_the_footprint_from_the_admin_page(chromium, served) -> None:
    server, store = served
    with loopback_page(chromium, server.url, locale="fr-FR") as page:
        _login(page, server.url, "admin")
        page.goto(f"{server.url}/admin")
        page.get_by_test_id("footprint-link").get_by_role("link").click()
        page.get_by_test_id("footprint").wait_for()
        expect(page.locator("h1")).to_have_text("Empreinte des données")
        figures = measure_store(store)
        shown = page.get_by_test_id("regie-bytes-per-point").inner_text()
        assert float(shown.replace("\u202f", "").replace("\xa0", "").replace(",", ".")) == pytest.approx(
            figures.bytes / figures.points, abs=0.01
        )
        expect(page.get_by_test_id("emoncms-bytes-per-point")).to_have_text("4,07")  # (240 × 4 + 16) / 240
        expect(page.get_by_test_id("footprint-points")).to_contain_text("240 points dans 1 séries")
        # this server has served pages since it started: its own CPU per page is measured
        expect(page.get_by_test_id("cpu-per-page")).not_to_have_text("pas encore mesuré")
        expect(page.get_by_test_id("footprint-factors")).to_contain_text("RTE, Bilan électrique 2023")
    with loopback_page(chromium, server.url, locale="en-GB") as page:
        _login(page, server.url, "admin")
        page.goto(f"{server.url}/admin/footprint?lang=en")
        expect(page.locator("h1")).to_have_text("Data footprint")
        expect(page.get_by_test_id("emoncms-bytes-per-point")).to_have_text("4.07")
        expect(page.get_by_test_id("row-co2")).to_contain_text("Emissions per year [gCO2e]")


def test_a_member_is_refused(chromium, served) -> None:
    server, _ = served
    with loopback_page(chromium, server.url, locale="en-GB") as page:
        _login(page, server.url, "alice")
        reply = page.goto(f"{server.url}/admin/footprint?lang=en")
        assert reply.status == 403
        expect(page.get_by_test_id("refused")).to_be_visible()
        assert page.get_by_test_id("footprint").count() == 0
    with loopback_page(chromium, server.url) as page:  # the public is sent to the login form
        page.goto(f"{server.url}/admin/footprint")
        assert "/login" in page.url
