"""On a 360 px phone, the demo's administration pages and those of any account no other group names
(``demo_pages.pages_of("admin")``), French and English: nothing is wider than the
screen (wide tables scroll in their own box), even below the fold (full-page screenshots). One module per group of
pages (``demo_pages.GROUPS``), so that the two test workers share them.

``REGIE_SCREENSHOTS=DIR`` also saves each page at 360 and 1366 px, light and dark, to look at (kept out of git).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from demo_pages import DemoSite, pages_of
from page_checks import screenshot_widths, wider_than_a_phone

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_no_page_is_wider_than_a_phone(chromium, demo_site: DemoSite) -> None:
    too_wide = wider_than_a_phone(chromium, demo_site, pages_of("admin"))
    assert not too_wide, "pages wider than 360 px:\n" + "\n".join(f"{k}: {v}" for k, v in too_wide.items())


def test_screenshots(chromium, demo_site: DemoSite, tmp_path: Path) -> None:
    """Full-page screenshots at 360 px are 360 px wide; with ``REGIE_SCREENSHOTS=DIR`` they are kept there, at
    360 and 1366 px, light and dark."""
    wanted = os.environ.get("REGIE_SCREENSHOTS")
    wrong = screenshot_widths(
        chromium, demo_site, pages_of("admin"), Path(wanted) if wanted else tmp_path, bool(wanted)
    )
    assert not wrong, "full-page screenshots wider than the window:\n" + "\n".join(wrong)
