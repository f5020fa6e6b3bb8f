"""A PMO sets an operation up in a real headless Chromium: creates it, watches the perimeter check as it types
(the script asks /acc/check), is refused a participant too far away, adds one, and sees who has not consented
yet — on the set-up page and on the operation page, which then computes no flows and says why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from acc_world import PASSWORD, PRM_EVE, AccWorld, build_acc_world
from browsing import loopback_page
from playwright.sync_api import expect
from servers import AppServer

from regie.governance import audit, consent
from regie.model import Series, SeriesKind
from regie.store.operations import load_operation

pytestmark = pytest.mark.browser

_acc_store = pytest.importorskip("_acc_store")


@pytest.fixture(scope="module")
def setup_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, AccWorld]]:
    world = build_acc_world(f"sqlite:///{tmp_path_factory.mktemp('acc-setup') / 'acc.sqlite'}", sessions=False)
    inv = world.store.load_inventory()  # Eve's load curve is declared (no reading needed: nothing is computed)
    inv.series.append(Series("consumption-eve", SeriesKind.CONSUMPTION, "W", _acc_store.PT30M, prm=PRM_EVE,
                             site_id="site-eve"))
    world.store.save_inventory(inv)
    with AppServer(world.app()) as server:
        yield server, world
    world.store.close()


def test_a_pmo_creates_an_operation_and_adds_a_participant(chromium, setup_server) -> None:
    server, world = setup_server
    with loopback_page(chromium, server.url, viewport={"width": 1280, "height": 1000}) as page:
        checks: list[str] = []
        page.on("request", lambda r: checks.append(r.url) if "/acc/check" in r.url else None)
        page.goto(f"{server.url}/login?next=/acc&lang=en")
        page.get_by_test_id("username").fill("pmo")
        page.get_by_test_id("password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(f"{server.url}/acc")
        page.get_by_test_id("acc-new-link").click()
        page.wait_for_url(f"{server.url}/acc/new")

        # the zone and derogation change the limits shown as soon as they change
        box = page.get_by_test_id("acc-check")
        page.wait_for_selector('[data-testid="acc-check"][data-state="ok"]')
        expect(box.get_by_test_id("check-distance-source")).to_contain_text("2 km: arrêté of 21 November 2019, art. 1")
        page.get_by_test_id("acc-new-zone").select_option("zni")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=check-power-source]').textContent.includes('0.5 MW')")
        page.get_by_test_id("acc-new-zone").select_option("mainland")
        page.get_by_test_id("acc-new-id").fill("acc-neuf")
        page.get_by_test_id("acc-new-name").fill("Soleil neuf")
        page.get_by_test_id("acc-new-submit").click()
        page.wait_for_url(f"{server.url}/acc/acc-neuf/setup?done=created")
        expect(page.get_by_test_id("acc-done")).to_be_visible()

        # the park: its peak power and position come from the inventory, the check shows them as it is typed
        form = page.get_by_test_id("add-form")
        page.get_by_test_id("add-role").select_option("producer")
        page.get_by_test_id("add-entry").fill("2025-05-01")
        page.get_by_test_id("add-peak").fill("250")
        before = len(checks)
        page.get_by_test_id("add-prm").press_sequentially(_acc_store.PRM_P, delay=20)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=check-power]').textContent.includes('0.25')")
        assert len(checks) - before < len(_acc_store.PRM_P)  # debounced: not one request per keystroke
        expect(form.get_by_test_id("check-power-source")).to_contain_text("5 MW: arrêté of 21 February 2025")
        page.get_by_test_id("add-submit").click()
        page.wait_for_url(f"{server.url}/acc/acc-neuf/setup?done=added")

        # Eve, typed 30 km away: the check says so before the save, and the save is refused
        page.get_by_test_id("add-prm").fill(PRM_EVE)
        page.get_by_test_id("add-entry").fill("2025-05-01")
        page.get_by_test_id("add-latitude").fill("42.67")
        page.get_by_test_id("add-longitude").fill("2.48")
        page.wait_for_selector('[data-testid="add-form"] [data-testid="acc-check"][data-state="refused"]')
        expect(form.get_by_test_id("check-distance")).to_contain_text("30.0")
        expect(form.get_by_test_id("check-problems")).to_contain_text("more than the 2 km allowed")
        page.get_by_test_id("add-submit").click()
        expect(page.get_by_test_id("acc-form-error")).to_contain_text("more than the 2 km allowed")
        assert [p.prm for p in load_operation(world.store, "acc-neuf").operation.participants] == [_acc_store.PRM_P]

        # her own house's position (from the inventory) is within the rules: she is added and asked for consent;
        # she has an account already, so she is not invited again: the request waits on her page
        page.get_by_test_id("add-latitude").fill("")
        page.get_by_test_id("add-longitude").fill("")
        page.wait_for_selector('[data-testid="add-form"] [data-testid="acc-check"][data-state="ok"]')
        expect(form.get_by_test_id("check-distance")).to_contain_text("0.11")  # 0.001° of latitude ≈ 111 m
        page.get_by_test_id("add-email").fill("eve@example.org")
        page.get_by_test_id("add-submit").click()
        expect(page.get_by_test_id("acc-invitation-note")).to_contain_text("eve already has an account")
        expect(page.get_by_test_id("acc-done")).to_be_visible()
        missing = page.get_by_test_id("not-consented")
        expect(missing).to_have_count(1)
        expect(missing).to_have_attribute("data-state", "requested")
        expect(missing).to_contain_text("asked, not answered yet")
        expect(page.get_by_test_id("acc-not-consented")).to_contain_text("Their flows are not computed")

        # the operation page: the same list, no flows computed, nothing read
        reads = len(audit.entries(world.store, kind="access"))
        page.get_by_test_id("tab-overview").click()
        page.wait_for_url(f"{server.url}/acc/acc-neuf")
        expect(page.get_by_test_id("not-consented")).to_have_count(1)
        expect(page.get_by_test_id("not-computed-why")).to_contain_text("Their flows are not computed")
        expect(page.get_by_test_id("acc-flows")).to_have_count(0)
        assert len(audit.entries(world.store, kind="access")) == reads

    asked = [g for g in consent.list_grants(world.store, subject_id="eve")]
    assert [(g.status, g.recipient, g.requested_by) for g in asked] == [
        (consent.Status.REQUESTED, "operation:coop", "pmo")]
    actions = [e.entry["action"] for e in audit.entries(world.store, kind="acc_setup")]
    assert actions == ["operation/create", "participant/add", "participant/add"]
