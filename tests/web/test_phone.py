"""Every public and member page of the demo on a 360 px phone, French and English: nothing wider than the
screen (wide tables scroll in their own box, the key ones become cards), the menu folded behind a button that
opens it, a visible focus and a skip link for the keyboard, charts that follow the window's width.

``REGIE_SCREENSHOTS=DIR`` also saves each page at 360 and 1366 px, light and dark, to look at (kept out of git).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_pages import LANGUAGES, MEMBER, PAGES, PARTICIPANT, DemoSite, Page, demo_site, pages_as

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 360, "height": 740}
TOLERANCE = 1  # px: sub-pixel rounding of scrollWidth


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    with demo_site(tmp_path_factory.getbasetemp() / "prats-demo") as running:
        yield running


def test_no_page_is_wider_than_a_phone(chromium, site: DemoSite) -> None:
    too_wide = {}
    with pages_as(chromium, site, viewport=PHONE) as open_page:
        for page in PAGES:
            for lang in LANGUAGES:
                tab = open_page(page, lang)
                width = tab.evaluate("() => document.documentElement.scrollWidth")
                if width > PHONE["width"] + TOLERANCE:
                    culprits = tab.evaluate(WIDEST)
                    too_wide[f"{page.path} ({lang})"] = f"{width} px; sticking out: {culprits}"
    assert not too_wide, "pages wider than 360 px:\n" + "\n".join(f"{k}: {v}" for k, v in too_wide.items())


#: The elements whose right edge passes the viewport, outermost first (a scrolling box hides its content's).
WIDEST = """() => {
  const out = [], w = document.documentElement.clientWidth;
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    let clipped = false;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX !== "visible") { clipped = true; break; }
    }
    if (!clipped && r.right > w + 1 && !out.some(o => o.el.contains(el))) {
      out.push({el, what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "")
                + " right=" + Math.round(r.right)});
    }
  }
  return out.slice(0, 5).map(o => o.what).join(", ");
}"""


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


def test_screenshots(chromium, site: DemoSite, tmp_path: Path) -> None:
    """Full-page screenshots at 360 px are 360 px wide (nothing sticks out, even below the fold). With
    ``REGIE_SCREENSHOTS=DIR`` they are kept there, at 360 and 1366 px, light and dark, to look at."""
    import struct

    wanted = os.environ.get("REGIE_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    sets = ((360, "light"), (360, "dark"), (1366, "light"), (1366, "dark")) if wanted else ((360, "light"),)
    for width, scheme in sets:
        with pages_as(chromium, site, viewport={"width": width, "height": 800}, color_scheme=scheme) as open_page:
            for page in PAGES:
                for lang in LANGUAGES:
                    tab = open_page(page, lang)
                    name = re.sub(r"[^a-z0-9]+", "-", page.path.lower()).strip("-") or "territory"
                    png = tab.screenshot(path=str(folder / f"{name}-{lang}-{width}-{scheme}.png"), full_page=True)
                    shot_width = struct.unpack(">I", png[16:20])[0]  # the PNG's IHDR width
                    assert shot_width == width, f"{page.path} ({lang}, {scheme}): {shot_width} px wide at {width}"
