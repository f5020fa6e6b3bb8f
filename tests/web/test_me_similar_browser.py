"""Similar homes on /me in a real headless Chromium (member_world.py): a member of the class that passes sees the
published cell's mean; a member of the class of three homes, and one of the class hidden beside it (secondary),
see that it is not shown and why, in their language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browsing import LoopbackOnly, past_login
from member_world import FAST, SECRET, World, build
from playwright.sync_api import Locator, expect
from servers import AppServer

from regie.governance import accounts
from regie.governance.accounts import Role
from regie.publication import similar_homes as similar
from regie.store import open_store
from regie.web.app import create_app

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('similar') / 'bourg.sqlite'}")
    w = build(store)
    accounts.create_account(store, "ines", PASSWORD, Role.MEMBER, hasher=FAST, holder_id="h16")  # 36 kVA
    yield w
    store.close()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[AppServer]:
    app = create_app(world.store)
    app.state.secret, app.state.password_hasher = SECRET, FAST
    with AppServer(app) as s:
        yield s


def _similar_of(pages: LoopbackOnly, url: str, who: str, locale: str) -> Locator:
    page = pages.new_page(locale=locale, viewport={"width": 360, "height": 800})
    page.goto(f"{url}/login")
    page.get_by_test_id("username").fill(who)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    past_login(page)
    page.goto(f"{url}/me?period=month&on=2025-09-15")
    box = page.get_by_test_id("similar")
    expect(box).to_be_visible()
    return box


@pytest.mark.browser
def test_similar_homes_shown_from_the_published_cell_or_masked_with_why(chromium, server: AppServer,
                                                                        world: World) -> None:  # fmt: skip
    pages = LoopbackOnly(chromium, server.url)
    cells = similar.publication(world.store, world.store.load_inventory()).classes["up to 6 kVA"]
    k = cells.months().index("2025-09")
    alice = _similar_of(pages, server.url, "alice", "en-GB")
    shown = alice.locator(".figure-value")
    expect(shown).to_have_attribute("data-wh", str(round(float(cells.value[k]) / int(cells.homes[k]), 3)))
    expect(alice).to_contain_text("12 homes subscribing up to 6 kVA")

    zoe = _similar_of(pages, server.url, "zoe", "en-GB")
    expect(zoe).to_have_attribute("data-masked", "fewer_than_10")
    expect(zoe.get_by_test_id("similar-why")).to_contain_text("fewer than 10 similar homes have data")

    ines = _similar_of(pages, server.url, "ines", "en-GB")
    expect(ines).to_have_attribute("data-masked", "secondary")
    expect(ines.get_by_test_id("similar-why")).to_contain_text("it would let a hidden figure be deduced")
    ines_fr = _similar_of(pages, server.url, "ines", "fr-FR")
    expect(ines_fr.get_by_test_id("similar-why")).to_contain_text("il permettrait de déduire un chiffre masqué")
    pages.close()
