"""WCAG 2.1 AA on every public and member page of the demo, French and English: axe-core (``node_modules``,
pinned in ``package.json``) run in headless Chromium finds no serious or critical violation.

axe is injected by the test from ``node_modules/axe-core/axe.min.js``, never served by the app. The pages come
from ``demo_pages.PAGES``: a page added there is checked here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_pages import LANGUAGES, PAGES, DemoSite, demo_site, pages_as

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG 2.0 and 2.1 levels A and AA rules (axe's tags).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n")[1]),
    count: v.nodes.length,
  }));
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    with demo_site(tmp_path_factory.getbasetemp() / "prats-demo") as running:
        yield running


def describe(found: dict[str, list[dict]]) -> str:
    """Which rule failed on which page, and where: the test's message."""
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']} ({v['count']} element(s))")
            lines += [f"    {n}" for n in v["nodes"]]
    return "\n".join(lines)


# Each width once, each colour scheme once (a phone in the light, a wide screen in the dark): every page is checked
# at both widths and in both schemes, in half the time of all four pairs.
@pytest.mark.parametrize(("width", "scheme"), [(360, "light"), (1366, "dark")])
def test_no_serious_or_critical_violation(chromium, site: DemoSite, width: int, scheme: str) -> None:
    if not AXE.exists():
        pytest.skip(f"{AXE} missing: run npm install (axe-core is in package.json)")
    source = AXE.read_text()
    found: dict[str, list[dict]] = {}
    options = {"viewport": {"width": width, "height": 800}, "color_scheme": scheme}
    with pages_as(chromium, site, **options) as open_page:
        for page in PAGES:
            for lang in LANGUAGES:
                tab = open_page(page, lang)
                tab.evaluate(source)  # defines window.axe; evaluated through the debugger: no request, no CSP
                violations = [v for v in tab.evaluate(RUN_AXE, WCAG_AA) if v["impact"] in BLOCKING]
                if violations:
                    found[f"{page.path} ({lang}, {width} px, {scheme})"] = violations
    assert not found, "axe-core (WCAG 2.1 AA) found serious or critical violations:\n" + describe(found)
