"""Fixtures of the first-run and territory tests: headless Chromium (Debian's package, through Playwright), with
the loopback-only pages of ``tests/web/browsing.py``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # browsing.py: loopback-only pages

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[object]:
    """Headless Chromium driven by Playwright; skipped locally without it, required in CI."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
