"""Fixtures of the newcomer's journey: headless Chromium (Debian's package, through Playwright) and a real SMTP
server on loopback (aiosmtpd) whose mailbox is the one the people tests use (tests/people/people_world.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "web"))  # browsing.py: loopback-only pages


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path,
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        yield browser
        browser.close()
