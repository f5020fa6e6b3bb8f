"""The quarantine of two territories in a real headless Chromium: an admin of every territory picks one in the
header's chooser, discards its readings with the page's own form and comes back to that territory's quarantine;
an admin of one territory sees only its own, and a forged ``?territory=`` shows the refusal page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from browsing import loopback_page
from playwright.sync_api import expect
from servers import AppServer
from two_territories import build

from regie.ingest.importer import Importer
from regie.store import open_store

pytestmark = pytest.mark.browser
R63 = Path(__file__).parents[1] / "data" / "enedis_r63_duplicates.csv"
PRMS = {"mont": "30001234567890", "vallee": "30019999999999"}  # unknown to both: their readings wait in quarantine


def test_each_admin_works_on_the_quarantine_of_the_territory_shown(chromium, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'two.sqlite'}")
    world = build(store)
    for tid, prm in PRMS.items():
        data = R63.read_bytes().replace(PRMS["mont"].encode(), prm.encode())
        Importer(store, tid).import_stream("enedis-r63", io.BytesIO(data), f"r63-{tid}.csv")
    try:
        with AppServer(world.client().app) as server, loopback_page(chromium, server.url, locale="en-GB") as page:
            page.context.add_cookies([{"name": "regie_session", "value": world.sessions["root"], "url": server.url}])
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(server.url + "/quarantine")
            keys = page.get_by_test_id("key")
            expect(keys).to_have_text(["**********9999"])  # the main territory, vallee
            page.get_by_test_id("territory-select").select_option("mont")
            page.wait_for_url(re.compile(r".*territory=mont"))
            expect(keys).to_have_text(["**********7890"])
            page.get_by_test_id("discard").click()
            page.wait_for_url(re.compile(r".*/quarantine\?territory=mont&done=discarded"))
            expect(page.get_by_test_id("done")).to_be_visible()
            expect(page.get_by_test_id("empty")).to_be_visible()  # mont's is empty now...
            page.get_by_test_id("territory-select").select_option("vallee")
            page.wait_for_url(re.compile(r".*territory=vallee"))
            expect(keys).to_have_text(["**********9999"])  # ...and vallee's untouched

            page.context.clear_cookies()
            page.context.add_cookies([{"name": "regie_session", "value": world.sessions["admin-m"],
                                       "url": server.url}])  # fmt: skip
            page.goto(server.url + "/quarantine")
            expect(page.get_by_test_id("empty")).to_be_visible()
            expect(page.get_by_test_id("territory-chooser")).to_have_count(0)  # one territory: no chooser
            page.goto(server.url + "/quarantine?territory=vallee")
            expect(page.get_by_test_id("refused")).to_contain_text("runs territory mont only, not vallee")
            expect(page.get_by_test_id("key")).to_have_count(0)
    finally:
        store.close()
