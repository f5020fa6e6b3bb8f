"""Fixtures of the people tests: the small régie of :mod:`people_world`, on SQLite and PostgreSQL, (the SMTP
server on loopback is the ``smtp`` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from people_world import World, build_world

from regie.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[object]:
    """Headless Chromium (Debian's package) driven by Playwright; skipped locally, required in CI."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        browser = pw.chromium.launch(executable_path=chromium_path, args=args)
        yield browser
        browser.close()
