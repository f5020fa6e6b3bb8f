"""In a real headless Chromium: "declare this PRM" from the quarantine, and a site's sensor key.

- The admin finds the readings of an unknown PRM in the quarantine, opens "Declare this PRM" (pre-filled from
  the readings), first submits a new site without its name (refused, said why, nothing changed), then
  declares it on a new site for alice: the readings leave the quarantine, and alice sees them on her page.
- The admin creates a key on a site's sensors page, an emonhub-style post uses it, the input shows there.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import loopback_page
from governance_world import FAST, PASSWORD, World
from playwright.sync_api import expect
from servers import AppServer

from regie.governance import accounts
from regie.governance.accounts import Role
from regie.ingest.importer import Importer, prm_series_id
from regie.model import Inventory, Person, SeriesKind, Site, Territory
from regie.store import Store, open_store

pytestmark = pytest.mark.browser

DATA = Path(__file__).parents[1] / "data"
R63_PRM = "30001234567890"
SERIES = prm_series_id(R63_PRM, SeriesKind.CONSUMPTION, daily=False)


def small_world(store: Store) -> World:
    """A territory with two houses, the person alice holding nothing yet, accounts admin and alice: the only
    readings will be the R63 file's (so alice's page shows their day)."""
    store.save_inventory(
        Inventory(
            Territory("vallee", "Vallée-Test", latitude=42.40, longitude=2.48),
            sites=[Site("house-a", "Maison A", "vallee"), Site("house-b", "Maison B", "vallee")],
            persons=[Person("alice", "Alice")],
        )
    )
    world = World(store, "", "")
    for name, role, kw in (("admin", Role.ADMIN, {}), ("alice", Role.MEMBER, {"holder_id": "alice"})):
        acct = accounts.create_account(store, name, PASSWORD, role, hasher=FAST, **kw)
        world.sessions[name] = accounts.create_session(store, acct)
    return world


@pytest.fixture
def declare_server(tmp_path) -> Iterator[tuple[AppServer, World]]:
    store = open_store(f"sqlite:///{tmp_path / 'world.sqlite'}")
    world = small_world(store)
    assert Importer(store).import_path("enedis-r63", DATA / "enedis_r63_duplicates.csv").quarantined == 50
    app = world.app()
    with AppServer(app) as server:
        yield server, world
    service = getattr(app.state, "inputs", None)  # started by the first emoncms post
    if service is not None:
        service.close()
    store.close()


def log_in(page, base: str, who: str, then: str, lang: str = "en") -> None:
    page.goto(f"{base}/login?next={then}&lang={lang}")
    page.get_by_test_id("username").fill(who)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def test_declare_this_prm_releases_the_readings_to_their_holder(chromium, declare_server) -> None:
    server, world = declare_server
    store = world.store
    with loopback_page(chromium, server.url, locale="en-GB") as page:
        log_in(page, server.url, "admin", "/quarantine")
        row = page.get_by_test_id("quarantine-row")
        row.wait_for()
        assert R63_PRM not in page.content()  # masked on the page
        row.get_by_test_id("declare").click()
        page.get_by_test_id("declare-form").wait_for()
        expect(page.get_by_test_id("segment")).to_have_value("C5")  # guessed from the 30-minute step
        expect(page.get_by_test_id("since")).to_have_value("2024-02-01")  # the day of the first reading
        assert R63_PRM not in page.content()

        before = (store.quarantine_summary(), len(store.load_inventory().sites))
        page.get_by_test_id("site-id").fill("house-z")  # a new site, without its name
        page.get_by_test_id("holder").fill("alice")
        page.get_by_test_id("declare-submit").click()
        expect(page.get_by_test_id("error")).to_contain_text("There is no site 'house-z': give its name")
        assert (store.quarantine_summary(), len(store.load_inventory().sites)) == before  # nothing changed
        expect(page.get_by_test_id("holder")).to_have_value("alice")  # what was typed is kept

        page.get_by_test_id("site-name").fill("Maison Z")
        page.get_by_test_id("declare-submit").click()
        expect(page.get_by_test_id("done")).to_contain_text("declared")
        expect(page.get_by_test_id("empty")).to_be_visible()  # the quarantine is empty
    assert store.quarantine_summary() == []

    with loopback_page(chromium, server.url, locale="en-GB") as page:
        log_in(page, server.url, "alice", "/me")
        page.get_by_test_id("me").wait_for()
        page.goto(f"{server.url}/me?series={SERIES}&granularity=P1D&lang=en")
        expect(page.get_by_test_id("points")).to_contain_text(R63_PRM)  # her own point, shown whole to her
        view = page.get_by_test_id("data-view")
        expect(view).to_have_attribute("data-series", SERIES)
        assert view.get_by_test_id("data-table").locator("tbody tr").count() >= 1


def test_a_site_key_made_on_the_page_feeds_the_site(chromium, declare_server) -> None:
    server, _world = declare_server
    with loopback_page(chromium, server.url, locale="fr-FR") as page:
        log_in(page, server.url, "admin", "/admin/sites/house-b/sensors", lang="fr")
        page.get_by_test_id("key-form").wait_for()
        page.locator("input[name=name]").fill("emonpi cave")
        page.get_by_test_id("create-key").click()
        expect(page.get_by_test_id("new-key")).to_contain_text("Copiez-la maintenant")
        secret = page.get_by_test_id("secret").inner_text()
        assert len(secret) == 32

        port = int(server.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = b'data=[[0,"emonpi",{"power1":321}]]'
        conn.putrequest("POST", "/input/bulk.json?sentat=0", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {secret}")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        reply = conn.getresponse()
        assert (reply.status, reply.read()) == (200, b"ok")
        conn.close()

        page.goto(f"{server.url}/admin/sites/house-b/sensors")
        row = page.get_by_test_id("site-input-row")
        expect(row.get_by_test_id("series")).to_have_text(re.compile(r"^house-b-emonpi-power1"))
        assert secret not in page.content()  # shown once
        page.get_by_test_id("revoke").click()
        page.get_by_test_id("done").wait_for()
        expect(page.get_by_test_id("revoked")).to_have_text(re.compile(r"\S"))
