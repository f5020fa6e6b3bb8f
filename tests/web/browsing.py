"""Browser contexts for the Playwright tests that refuse, and remember, every request leaving the app's own
loopback server: a page that asked for a CDN or a third-party tile would fail its test.

Importing this module also sets how long the tests wait, for pages and for ``expect`` alike (:data:`TIMEOUT_MS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import expect

#: How long an action, a navigation or an ``expect`` waits before failing [ms]. Generous on purpose: CI runs two
#: workers on two loaded cores, where a page that is quick alone took over 30 s (measured 2026-12-04 at a load
#: average of 11: /me, whose first view starts the clear-sky child process); Playwright's 5 s default for
#: ``expect`` and the 15 s used before failed there. A passing test never waits for it.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


class LoopbackOnly:
    """Opens pages in fresh contexts (no cookies) bound to ``base_url``; :meth:`close` checks nothing left it."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.outside: list[str] = []
        self.contexts: list[Any] = []

    def _guard(self, route: Any) -> None:
        if route.request.url.startswith(self.base_url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def new_page(self, **context_options: Any) -> Any:
        options = {"timezone_id": "Europe/Paris", "locale": "fr-FR", **context_options}
        context = self.browser.new_context(**options)
        context.route("**/*", self._guard)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        assert not self.outside, f"the page asked for outside resources: {self.outside}"


@contextmanager
def loopback_page(browser: Any, base_url: str, **context_options: Any) -> Iterator[Any]:
    """One page in a fresh loopback-only context (see :class:`LoopbackOnly`)."""
    pages = LoopbackOnly(browser, base_url)
    yield pages.new_page(**context_options)
    pages.close()


def past_login(page: Any) -> None:
    """Wait until the login form's answer has left /login. ``wait_for_load_state`` right after the click returns
    at once (the form's page is loaded already), and a ``goto`` that follows too soon cancels the form's request:
    the session cookie never comes."""
    page.wait_for_url(lambda url: "/login" not in url)
