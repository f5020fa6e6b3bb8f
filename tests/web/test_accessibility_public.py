"""WCAG 2.1 AA on the demo's public pages (``demo_pages.pages_of("public")``), French and English: axe-core run
in headless Chromium finds no serious or critical violation. One module per group of pages (``demo_pages.GROUPS``),
so that the two test workers share them; the check itself is ``page_checks.axe_violations``.
"""

from __future__ import annotations

import pytest
from demo_pages import DemoSite, pages_of
from page_checks import AXE_VIEWS, axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(("width", "scheme"), AXE_VIEWS)
def test_no_serious_or_critical_violation(chromium, demo_site: DemoSite, width: int, scheme: str) -> None:
    found = axe_violations(chromium, demo_site, pages_of("public"), width, scheme)
    assert not found, "axe-core (WCAG 2.1 AA) found serious or critical violations:\n" + describe(found)
