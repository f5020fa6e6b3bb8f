"""The checks run over every demo page, one group of pages at a time (``demo_pages.GROUPS``): axe-core's WCAG 2.1 AA
rules (``test_accessibility_*.py``), a phone's width and full-page screenshots (``test_phone_*.py``). Each returns
what it found, page by page; the test module of the group asserts there is nothing.

axe is injected from ``node_modules/axe-core/axe.min.js`` (pinned in ``package.json``), never served by the app.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import pytest
from demo_pages import LANGUAGES, DemoSite, Page, pages_as

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG 2.0 and 2.1 levels A and AA rules (axe's tags).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
# Each width once, each colour scheme once (a phone in the light, a wide screen in the dark): every page is checked
# at both widths and in both schemes, in half the time of all four pairs.
AXE_VIEWS = [(360, "light"), (1366, "dark")]

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n")[1]),
    count: v.nodes.length,
  }));
}"""


def axe_violations(browser: Any, site: DemoSite, pages: list[Page], width: int, scheme: str) -> dict[str, list[dict]]:
    """The serious or critical violations axe finds on each of ``pages`` in each language, by page."""
    if not AXE.exists():
        pytest.skip(f"{AXE} missing: run npm install (axe-core is in package.json)")
    source = AXE.read_text()
    found: dict[str, list[dict]] = {}
    options = {"viewport": {"width": width, "height": 800}, "color_scheme": scheme}
    with pages_as(browser, site, **options) as open_page:
        for page in pages:
            for lang in LANGUAGES:
                tab = open_page(page, lang)
                tab.evaluate(source)  # defines window.axe; evaluated through the debugger: no request, no CSP
                violations = [v for v in tab.evaluate(RUN_AXE, WCAG_AA) if v["impact"] in BLOCKING]
                if violations:
                    found[f"{page.path} ({lang}, {width} px, {scheme})"] = violations
    return found


def describe(found: dict[str, list[dict]]) -> str:
    """Which rule failed on which page, and where: the test's message."""
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']} ({v['count']} element(s))")
            lines += [f"    {n}" for n in v["nodes"]]
    return "\n".join(lines)


PHONE = {"width": 360, "height": 740}
TOLERANCE = 1  # px: sub-pixel rounding of scrollWidth

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


def wider_than_a_phone(browser: Any, site: DemoSite, pages: list[Page]) -> dict[str, str]:
    """Each of ``pages`` (in each language) wider than a 360 px phone, with the elements sticking out."""
    too_wide = {}
    with pages_as(browser, site, viewport=PHONE) as open_page:
        for page in pages:
            for lang in LANGUAGES:
                tab = open_page(page, lang)
                width = tab.evaluate("() => document.documentElement.scrollWidth")
                if width > PHONE["width"] + TOLERANCE:
                    culprits = tab.evaluate(WIDEST)
                    too_wide[f"{page.path} ({lang})"] = f"{width} px; sticking out: {culprits}"
    return too_wide


def screenshot_widths(browser: Any, site: DemoSite, pages: list[Page], folder: Path, every_view: bool) -> list[str]:
    """Full-page screenshots of ``pages`` in ``folder`` at 360 px in the light (with ``every_view`` also in the
    dark and at 1366 px): those whose image is not as wide as the window (something sticks out below the fold)."""
    folder.mkdir(parents=True, exist_ok=True)
    views = ((360, "light"), (360, "dark"), (1366, "light"), (1366, "dark")) if every_view else ((360, "light"),)
    wrong = []
    for width, scheme in views:
        with pages_as(browser, site, viewport={"width": width, "height": 800}, color_scheme=scheme) as open_page:
            for page in pages:
                for lang in LANGUAGES:
                    tab = open_page(page, lang)
                    name = re.sub(r"[^a-z0-9]+", "-", page.path.lower()).strip("-") or "territory"
                    png = tab.screenshot(path=str(folder / f"{name}-{lang}-{width}-{scheme}.png"), full_page=True)
                    shot_width = struct.unpack(">I", png[16:20])[0]  # the PNG's IHDR width
                    if shot_width != width:
                        wrong.append(f"{page.path} ({lang}, {scheme}): {shot_width} px wide at {width}")
    return wrong
