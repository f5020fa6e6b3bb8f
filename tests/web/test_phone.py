"""The demo on a 360 px phone: the key tables become cards, the menu folds behind a button that opens it, a
visible focus and a skip link for the keyboard, charts that follow the window's width. That no page is wider
than the screen, French and English, is checked one group of pages at a time: ``test_phone_*.py``.
"""

from __future__ import annotations

import pytest
from demo_pages import LANGUAGES, MEMBER, PAGES, PARTICIPANT, DemoSite, Page, pages_as
from page_checks import PHONE, TOLERANCE

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(demo_site: DemoSite) -> DemoSite:
    """The demo served once per worker for every page module (``tests/conftest.py``)."""
    return demo_site


#: The key tables, read on a phone without scrolling sideways: one card per row, each cell labelled with its column.
STACKED = [(PAGES[0], "sources-table"), (PAGES[0], "monthly-table"), (Page("/me", MEMBER), "grant-table"),
           (Page("/me", MEMBER), "access-table"), (Page("/acc/{operation}/me", PARTICIPANT), "mine-table")]  # fmt: skip

#: A table's layout as drawn: its display, its scrolling box's widths, the right edge of its cells, each data
#: cell's label (data-label, and whether the ::before that shows it is drawn) against its column's header.
TABLE_LAYOUT = """(id) => {
  const t = document.querySelector(`[data-testid="${id}"]`);
  const box = t.closest(".table-scroll") || t.parentElement;
  const letters = (text) => text.replace(/[^\\p{L}]/gu, "");  // "Consumption (MWh)" for "Consumption<br>MWh"
  const heads = [...t.querySelectorAll("thead th")].map(th => letters(th.title || th.textContent));
  const cells = [...t.querySelectorAll("tbody td, tfoot td")]
    .filter(td => td.colSpan === 1 && heads[td.cellIndex] && td.textContent.trim());
  const drawn = [...t.querySelectorAll("tbody th, tbody td, tfoot th, tfoot td")];
  const first = [...t.querySelector("tbody tr").children].map(c => c.getBoundingClientRect()).filter(r => r.height);
  return {
    display: getComputedStyle(t).display, box: box.clientWidth, scroll: box.scrollWidth,
    right: Math.max(...drawn.map(c => c.getBoundingClientRect().right)), cells: cells.length,
    wrong: cells.filter(td => letters(td.dataset.label || "") !== heads[td.cellIndex]
                        || getComputedStyle(td, "::before").content === "none")
      .slice(0, 3).map(td => td.outerHTML.slice(0, 120)),
    stacked: first.every((r, i) => i === 0 || r.top >= first[i - 1].bottom - 1),  // a card: cells one under another
  };
}"""


def test_key_tables_become_cards_on_a_phone(chromium, site: DemoSite) -> None:
    """At 360 px the key tables fit the screen (no sideways scrolling), one card per row, every value labelled
    with its column; on a wide screen they are tables again."""
    problems = []
    with pages_as(chromium, site, viewport=PHONE) as open_page:
        for page, testid in STACKED:
            for lang in LANGUAGES:
                tab = open_page(page, lang)
                m = tab.evaluate(TABLE_LAYOUT, testid)
                where = f"{page.path} {testid} ({lang})"
                if m["scroll"] > m["box"] + TOLERANCE or m["right"] > PHONE["width"] + TOLERANCE:
                    problems.append(f"{where}: {m['scroll']} px in a {m['box']} px box, cells up to {m['right']} px")
                if m["cells"] == 0 or m["wrong"]:
                    problems.append(f"{where}: {m['cells']} cells, unlabelled: {m['wrong']}")
                if m["display"] != "block" or not m["stacked"]:
                    problems.append(f"{where}: display {m['display']}, a row's cells one under another: {m['stacked']}")
    with pages_as(chromium, site, viewport={"width": 1366, "height": 800}) as open_page:
        for page, testid in STACKED:
            m = open_page(page, "fr").evaluate(TABLE_LAYOUT, testid)
            if m["display"] != "table":
                problems.append(f"{page.path} {testid} at 1366 px: display {m['display']}")
    assert not problems, "\n".join(problems)


def test_the_menu_folds_behind_a_button_on_a_phone(chromium, site: DemoSite) -> None:
    with pages_as(chromium, site, viewport=PHONE) as open_page:
        tab = open_page(PAGES[0], "fr")
        toggle = tab.get_by_test_id("nav-toggle")
        nav = tab.get_by_test_id("main-nav")
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert not nav.is_visible()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true" and nav.is_visible()
        link = nav.get_by_role("link").first
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        toggle.press("Enter")  # the keyboard closes it again
        assert toggle.get_attribute("aria-expanded") == "false" and not nav.is_visible()
    with pages_as(chromium, site, viewport={"width": 1366, "height": 800}) as open_page:
        tab = open_page(PAGES[0], "fr")
        assert not tab.get_by_test_id("nav-toggle").is_visible() and tab.get_by_test_id("main-nav").is_visible()


def test_keyboard_skip_link_and_visible_focus(chromium, site: DemoSite) -> None:
    with pages_as(chromium, site, viewport=PHONE) as open_page:
        tab = open_page(PAGES[0], "en")
        tab.keyboard.press("Tab")
        skip = tab.get_by_test_id("skip-link")
        assert tab.evaluate("() => document.activeElement.dataset.testid") == "skip-link"
        assert skip.is_visible() and skip.get_attribute("href") == "#content"
        outline = tab.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", "")
        tab.keyboard.press("Enter")
        assert tab.url.endswith("#content")


def test_charts_follow_the_window(chromium, site: DemoSite) -> None:
    with pages_as(chromium, site, viewport={"width": 1366, "height": 800}) as open_page:
        tab = open_page(PAGES[0], "fr")
        wide = tab.evaluate("() => document.querySelector('#balance-chart canvas').clientWidth")
        tab.set_viewport_size(PHONE)
        tab.wait_for_function("(w) => document.querySelector('#balance-chart canvas').clientWidth < w", arg=wide)
        narrow = tab.evaluate("() => document.querySelector('#balance-chart canvas').clientWidth")
        assert narrow <= PHONE["width"] - 16
