"""The PMO in a real headless Chromium: logs in, compares two allocation keys side by side, and downloads a
participant's invoice PDF whose total is the bill's (``acc_world.py``'s operation, served on loopback)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from acc_world import OPERATION_ID, PASSWORD, AccWorld, build_acc_world
from browsing import loopback_page
from playwright.sync_api import expect
from servers import AppServer

from regie.services import acc as service
from regie.services import invoices as docs

pytestmark = pytest.mark.browser

_acc_store = pytest.importorskip("_acc_store")


@pytest.fixture(scope="module")
def acc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, AccWorld]]:
    world = build_acc_world(f"sqlite:///{tmp_path_factory.mktemp('acc-browser') / 'acc.sqlite'}", sessions=False)
    with AppServer(world.app()) as server:
        yield server, world
    world.store.close()


@pytest.fixture
def pmo_page(chromium, acc_server):
    """A fresh context accepting downloads and refusing any request that leaves the loopback server."""
    server, _ = acc_server
    with loopback_page(chromium, server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}) as page:
        yield page


def plain(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_pmo_compares_two_keys_and_downloads_an_invoice(pmo_page, acc_server) -> None:
    from pypdf import PdfReader

    server, world = acc_server
    page = pmo_page
    page.goto(f"{server.url}/login?next=/acc")
    page.get_by_test_id("username").fill("pmo")
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{server.url}/acc")
    page.get_by_test_id("acc-operation-link").get_by_role("link").click()
    page.wait_for_url(f"{server.url}/acc/{OPERATION_ID}")
    expect(page.get_by_test_id("participant-row")).to_have_count(4)
    # the year's flows as a Sankey: the park and the suppliers to the three consumers, no surplus (ΣC > P)
    page.wait_for_selector('#acc-sankey[data-state="ready"]')
    sankey = page.evaluate(
        "() => ({nodes: window.regie.acc.sankey.nodes.map(n => n.id), links: window.regie.acc.sankey.links.length})"
    )
    assert sankey == {"nodes": ["p0", "c0", "c1", "c2", "grid"], "links": 6}

    # Compare two keys: the default dynamic key and the static key, side by side.
    page.get_by_test_id("tab-keys").click()
    page.get_by_test_id("key-default").check()
    page.get_by_test_id("key-static").check()
    page.get_by_test_id("key-priority").uncheck()
    page.get_by_test_id("compare-submit").click()
    page.wait_for_url("**key=static**")  # the answer to the form (GET), not the keys page it was sent from
    columns = page.get_by_test_id("key-column")
    expect(columns).to_have_count(2)
    assert [columns.nth(i).get_attribute("data-key") for i in range(columns.count())] == ["default", "static"]
    anna = page.locator('[data-testid="keys-row"][data-name="Anna"] td[data-key]')
    shown = {anna.nth(i).get_attribute("data-key"): plain(anna.nth(i).inner_text()) for i in range(anna.count())}
    assert shown == {"default": "135 047,0", "static": "105 120,0"}  # kWh over 2025 (see test_acc_pages)

    # Invoices of June 2025: download Anna's PDF and check its total against the bill.
    page.get_by_test_id("tab-invoices").click()
    page.get_by_test_id("month-select").select_option("2025-06")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url("**month=2025-06**")
    run = service.bill_month(world.store, OPERATION_ID, "2025-06", _acc_store.RecordingReader(world.store))
    bill = next(b for b in run.bills if b.participant.prm == _acc_store.PRM_A)
    row = page.locator(f'[data-testid="invoice-row"][data-number="{bill.number}"]')
    with page.expect_download() as info:
        row.get_by_test_id("invoice-pdf").click()
    download = info.value
    assert download.suggested_filename == f"{bill.number}.pdf"
    with open(download.path(), "rb") as fh:
        content = fh.read()
    assert content.startswith(b"%PDF")
    text = plain(PdfReader(io.BytesIO(content)).pages[0].extract_text())
    assert bill.number in text and "Anna" in text
    assert plain(docs.money(bill.bill.total_incl_vat_eur, "fr")) in text
    assert f"Total TTC {plain(docs.money(bill.bill.total_incl_vat_eur, 'fr'))}" in text
