"""Fixtures of the people tests: the small régie of :mod:`people_world`, on SQLite and PostgreSQL, and a real
SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from people_world import Mailbox, World, build_world, free_port

from regie.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    box = Mailbox(free_port())

    class Keep(Message):
        def handle_message(self, message) -> None:
            box.keep(message)

    controller = Controller(Keep(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[object]:
    """Headless Chromium (Debian's package) driven by Playwright; skipped locally, required in CI."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        browser = pw.chromium.launch(executable_path=chromium_path, args=args)
        yield browser
        browser.close()
