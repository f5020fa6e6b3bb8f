"""The demo's public and member pages, for the phone and accessibility tests (``test_phone.py``,
``test_accessibility_*.py``, ``test_dark_charts.py``): the Prats demo with its accounts, served by uvicorn on
loopback once per test session (the ``demo_site`` fixture of ``tests/conftest.py``), and one list of pages
(:data:`PAGES`) to extend when a page is added — each test runs over all of them, in French and in English.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from browsing import LoopbackOnly, past_login
from regional_world import Neighbour, feed_hub
from servers import AppServer

if TYPE_CHECKING:
    from demo_year import DemoYear

#: Who sees a page: ``None`` the public, else a demo account (``regie demo`` prints them).
PUBLIC = None
MEMBER = "membre1"  # a member who granted the commune daily access
PARTICIPANT = "participant"  # a household of the ACC operation


@dataclass(frozen=True)
class Page:
    path: str  # ``{operation}`` stands for the demo's ACC operation
    account: str | None = PUBLIC
    ready: str | None = None  # a selector to wait for (a chart drawn) before checking


#: Every page of the demo a person reads (public, member, and the staff's). Add a line for a new page: every
#: check runs over it.
PAGES = [
    Page("/", ready='#balance-chart[data-state="ready"]'),
    Page("/live"),
    Page("/map", ready='#map[data-ready="1"]'),
    Page("/catalog"),
    Page("/id/territory/prats-de-mollo"),
    Page("/id/producer/hydro-municipal"),
    Page("/login"),
    Page("/password/forgot"),
    Page("/me", MEMBER),
    Page("/me/password", MEMBER),
    Page("/me/two-factor", MEMBER),
    Page("/acc", PARTICIPANT),
    Page("/acc/{operation}/me", PARTICIPANT),
    # the staff's pages: the commune's operator, the ACC operation's PMO, the régie's admin
    Page("/operator", "commune"),
    Page("/acc/{operation}", "pmo"),
    Page("/acc/{operation}/allocation", "pmo"),
    Page("/acc/{operation}/invoices", "pmo"),
    Page("/acc/{operation}/keys", "pmo"),
    Page("/admin", "admin"),
    Page("/admin/people", "admin"),
    Page("/admin/inventory", "admin"),
    Page("/admin/inventory/sites", "admin"),
    Page("/admin/footprint", "admin"),
    Page("/admin/map", "admin"),
    Page("/admin/peers", "admin"),
    Page("/import", "admin"),
    Page("/quarantine", "admin"),
    Page("/inputs", "admin"),
    Page("/grid", "admin"),
    Page("/data-health", "admin"),
    Page("/savings", "admin"),
    Page("/report", "admin"),
]
LANGUAGES = ("fr", "en")
#: The slow checks over every page (axe, a phone's width, screenshots) run in one module per group of pages, so that
#: the two workers of ``scripts/test.sh`` (xdist's ``--dist loadfile`` gives each module whole to one worker) share
#: them: grouped by who reads the page; a page of any other account falls in the last group, so none is left out.
GROUPS = {"public": (PUBLIC,), "people": (MEMBER, PARTICIPANT, "commune", "pmo"), "admin": ()}


def pages_of(group: str) -> list[Page]:
    """The pages of ``group`` (a key of :data:`GROUPS`); the last group takes the pages no other one names."""
    named = [account for accounts in GROUPS.values() for account in accounts]
    if group == list(GROUPS)[-1]:
        return [p for p in PAGES if p.account not in named]
    return [p for p in PAGES if p.account in GROUPS[group]]


_DAY0 = 1_767_225_600  # 2026-01-01 UTC
#: Two neighbours of Prats-de-Mollo (the communes' approximate centres) sending the demo their public cells.
NEIGHBOURS = [
    Neighbour("le-tech", "Le Tech", 42.4219, 2.5306,
              [(_DAY0 + i * 86400, 1, None if i == 3 else 4.1e6 + 1e5 * i, "fewer_than_10" if i == 3 else None,
                4 if i == 3 else 180) for i in range(7)]),
    Neighbour("saint-laurent", "Saint-Laurent-de-Cerdans", 42.3853, 2.6131,
              [(_DAY0 + i * 86400, 1, 6.3e6 + 1e5 * i, None, 620) for i in range(7)]),
]  # fmt: skip


@dataclass
class DemoSite:
    url: str
    passwords: dict[str, str]
    operation: str

    def address(self, page: Page, lang: str) -> str:
        path = page.path.format(operation=self.operation)
        return f"{self.url}{path}{'&' if '?' in path else '?'}lang={lang}"


def build_demo_store(folder: Path, demo_year: Callable[[], DemoYear]) -> tuple[str, dict[str, str], str]:
    """The Prats demo year (a copy of the session's :class:`demo_year.DemoYear`) and its accounts in ``folder``,
    reused when already there."""
    done = folder / "accounts.json"
    url = f"sqlite:///{folder / 'demo.sqlite'}"
    if done.exists():
        saved = json.loads(done.read_text())
        return url, saved["passwords"], saved["operation"]
    from regie.demo.acc_accounts import create_acc_demo_accounts
    from regie.governance.demo_accounts import create_demo_accounts
    from regie.store import open_store
    from regie.store.operations import operation_ids

    url = demo_year().copy(folder)
    store = open_store(url)
    try:
        logins = create_demo_accounts(store) + create_acc_demo_accounts(store)
        operation = operation_ids(store)[0]
    finally:
        store.close()
    passwords = {a.username: a.password for a in logins}
    done.write_text(json.dumps({"passwords": passwords, "operation": operation}))
    return url, passwords, operation


@contextmanager
def serve_demo(folder: Path, demo_year: Callable[[], DemoYear]) -> Iterator[DemoSite]:
    """The demo served on loopback; ``REGIE_TEST_DEMO_DIR`` keeps the built store between runs (else
    ``folder``, the session's temporary directory). ``demo_year`` is called only when the store is built."""
    from regie.store import open_store
    from regie.web.app import create_app

    kept = Path(os.environ.get("REGIE_TEST_DEMO_DIR") or folder)
    url, passwords, operation = build_demo_store(kept, demo_year)
    store = open_store(url)
    try:
        # The demo régie is also the hub of two neighbours: its territory page and map show their figures.
        feed_hub(store, kept / "neighbours", NEIGHBOURS)
        with AppServer(create_app(store)) as server:
            yield DemoSite(server.url, passwords, operation)
    finally:
        store.close()


def log_in(page: Any, site: DemoSite, account: str) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_test_id("username").fill(account)
    page.get_by_test_id("password").fill(site.passwords[account])
    page.get_by_test_id("login-submit").click()
    past_login(page)  # a wrong password stays on /login: the wait fails there


@contextmanager
def pages_as(browser: Any, site: DemoSite, **context_options: Any) -> Iterator[Any]:
    """``open(page, lang)``: a browser page showing ``page`` in ``lang`` for its account (one login per account,
    contexts kept for the whole block); requests leaving the loopback server fail the test."""
    guard = LoopbackOnly(browser, site.url)
    tabs: dict[str | None, Any] = {}

    def open_page(page: Page, lang: str) -> Any:
        if page.account not in tabs:
            tab = guard.new_page(**context_options)
            tab.set_default_timeout(120_000)  # the first view of the year computes its balance (then cached)
            if page.account is not None:
                log_in(tab, site, page.account)
            tabs[page.account] = tab
        tab = tabs[page.account]
        response = tab.goto(site.address(page, lang))
        assert response is not None and response.status == 200, f"{page.path} ({lang}): HTTP {response.status}"
        if page.ready:
            tab.wait_for_selector(page.ready)
        return tab

    try:
        yield open_page
    finally:
        guard.close()
