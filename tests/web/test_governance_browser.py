"""The régie in a real headless Chromium: a member gives an operator daily access, sees the operator's read
in their access log, withdraws the grant, and the operator's next read is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browsing import LoopbackOnly, past_login
from governance_world import PASSWORD, World, build_world
from playwright.sync_api import expect
from servers import AppServer

from regie.store import open_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gov_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, World]]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('gov-browser') / 'world.sqlite'}")
    world = build_world(store)
    with AppServer(world.app()) as server:
        yield server, world
    store.close()


@pytest.fixture
def new_page(chromium, gov_server):
    """Pages in fresh browser contexts (one per person), refusing any request that leaves the loopback server."""
    server, _ = gov_server
    pages = LoopbackOnly(chromium, server.url)
    yield pages.new_page
    pages.close()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    past_login(page)


def test_grant_read_see_withdraw_refuse(new_page, gov_server) -> None:
    server, _ = gov_server
    member, operator = new_page(), new_page()

    # The member logs in and gives the cooperative daily access to their consumption.
    log_in(member, server.url, "bob")
    expect(member).to_have_url(f"{server.url}/me")
    expect(member.get_by_test_id("holder-name")).to_have_text("Bob")
    member.get_by_test_id("new-grant").click()
    member.get_by_test_id("recipient").select_option("organisation:coop")
    member.get_by_test_id("grant-granularity-input").select_option("P1D")
    member.get_by_test_id("give-grant").click()
    member.wait_for_load_state()
    expect(member.get_by_test_id("done")).to_be_visible()
    given = member.locator('[data-testid="grant"][data-status="given"]')
    expect(given).to_have_count(1)
    grant_id = given.get_attribute("data-id")
    assert given.get_by_test_id("grant-granularity").get_attribute("data-value") == "P1D"

    # The operator reads bob's data under it: daily totals, never half-hours.
    log_in(operator, server.url, "op")
    expect(operator).to_have_url(f"{server.url}/operator")
    operator.locator(f'[data-testid="operator-grant"][data-id="{grant_id}"]').get_by_test_id("read-data").click()
    view = operator.get_by_test_id("data-view")
    expect(view).to_have_attribute("data-granularity", "P1D")
    expect(view).to_have_attribute("data-series", "c2")
    rows = operator.get_by_test_id("data-table").locator("tbody tr")
    expect(rows).to_have_count(31)  # the last 31 days of January–February 2025
    expect(rows.first.locator("td").first).to_have_text(re.compile(r"^2025-\d\d-\d\d$"))

    # The member sees that read in their access log, then withdraws the grant.
    member.reload()
    reads = member.locator('[data-testid="access"][data-caller="op"][data-decision="allowed"]')
    expect(reads).to_have_count(1)
    expect(reads.first).to_have_attribute("data-granularity", "P1D")
    member.locator(f'[data-testid="grant"][data-id="{grant_id}"]').get_by_test_id("withdraw").click()
    # the page before the click shows the same grant, still given: wait for the answer's
    expect(member.locator(f'[data-testid="grant"][data-id="{grant_id}"]')).to_have_attribute("data-status", "withdrawn")

    # The operator's next read is refused, and the refusal is in the member's log too.
    response = operator.reload()
    assert response is not None and response.status == 403
    expect(operator.get_by_test_id("access-refused")).to_contain_text("withdrawn")
    member.reload()
    expect(member.locator('[data-testid="access"][data-caller="op"][data-decision="refused"]')).to_have_count(1)


def test_a_member_cannot_open_the_operator_page(new_page, gov_server) -> None:
    server, _ = gov_server
    page = new_page()
    log_in(page, server.url, "alice")
    response = page.goto(f"{server.url}/operator")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("refused")).to_be_visible()
