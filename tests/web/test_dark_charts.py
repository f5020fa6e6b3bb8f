"""The ECharts charts follow the system's colour scheme (static/charts.js): in the dark their axes, grid lines,
legend and tooltip take the page's dark-mode colours and their ground is the page's dark paper, read from the
drawn chart (its live option and the pixels of a screenshot), on every demo page that draws one; and a chart
switches when the scheme changes while the page is open."""

from __future__ import annotations

import io

import pytest
from demo_pages import PARTICIPANT, DemoSite, Page, pages_as
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The demo's pages with an ECharts chart, and the element of one of its charts (/savings, which needs a school's
#: series, and a transformer's page draw theirs with supervision.js as /report does).
CHART_PAGES = [
    (Page("/", ready='#balance-chart[data-state="ready"]'), "#balance-chart"),
    (Page("/acc/{operation}/me", PARTICIPANT, ready='#acc-mine-chart[data-state="ready"]'), "#acc-mine-chart"),
    (Page("/acc/{operation}", "pmo", ready='#acc-sankey[data-state="ready"]'), "#acc-sankey"),
    (
        Page("/acc/{operation}/allocation", "pmo", ready='#acc-allocation-chart[data-state="ready"]'),
        "#acc-allocation-chart",
    ),
    (Page("/report", "admin", ready='#report-chart[data-state="ready"]'), "#report-chart"),
]

#: The chart's colours as ECharts holds them (theme merged into the option) and the page's properties.
READ = """(sel) => {
  const chart = echarts.getInstanceByDom(document.querySelector(sel));
  const o = chart.getOption();
  const css = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
  const axis = (o.xAxis || o.yAxis || [])[0] || (o.yAxis || [])[0];
  return {
    text: o.textStyle ? o.textStyle.color : null,
    legend: o.legend && o.legend[0] ? o.legend[0].textStyle.color : null,
    tooltip: o.tooltip && o.tooltip[0] ? o.tooltip[0].backgroundColor : null,
    axisLabel: axis ? axis.axisLabel.color : null,
    splitLine: o.yAxis && o.yAxis[0] ? o.yAxis[0].splitLine.lineStyle.color : null,
    background: getComputedStyle(document.querySelector(sel)).backgroundColor,
    ink: css("--ink"), muted: css("--muted"), line: css("--line"), paper: css("--paper"),
  };
}"""


def luminance(rgb: tuple[int, ...]) -> float:
    """WCAG 2.1 relative luminance."""
    c = [v / 255 for v in rgb[:3]]
    lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def ground_of(tab, selector: str) -> tuple[int, ...]:
    """The most common colour of the drawn chart (its ground), from a screenshot of its element."""
    png = tab.locator(selector).screenshot()
    img = Image.open(io.BytesIO(png)).convert("RGB")
    counts = img.getcolors(img.width * img.height)
    return max(counts)[1]


@pytest.fixture
def site(demo_site: DemoSite) -> DemoSite:
    """The demo served once per worker for every page module (``tests/conftest.py``)."""
    return demo_site


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_every_chart_takes_the_pages_colours(chromium, site: DemoSite, scheme: str) -> None:
    wrong = []
    with pages_as(chromium, site, viewport={"width": 1366, "height": 800}, color_scheme=scheme) as open_page:
        for page, selector in CHART_PAGES:
            tab = open_page(page, "en")
            c = tab.evaluate(READ, selector)
            where = f"{page.path} ({scheme})"
            if c["text"] != c["ink"] or (c["legend"] is not None and c["legend"] != c["ink"]):
                wrong.append(f"{where}: text {c['text']} / legend {c['legend']}, the page's ink is {c['ink']}")
            if c["tooltip"] is not None and c["tooltip"] != c["paper"]:
                wrong.append(f"{where}: tooltip ground {c['tooltip']}, the page's paper is {c['paper']}")
            if c["axisLabel"] is not None and c["axisLabel"] != c["muted"]:
                wrong.append(f"{where}: axis labels {c['axisLabel']}, the page's muted is {c['muted']}")
            if c["splitLine"] is not None and c["splitLine"] != c["line"]:
                wrong.append(f"{where}: grid lines {c['splitLine']}, the page's line is {c['line']}")
            ground = ground_of(tab, selector)
            dark_ground = luminance(ground) < 0.05
            if dark_ground != (scheme == "dark"):
                wrong.append(f"{where}: the chart's ground is {ground} in the {scheme}")
            if contrast(rgb(c["muted"]), ground) < 4.5 or contrast(rgb(c["ink"]), ground) < 4.5:
                wrong.append(f"{where}: labels {c['muted']} / text {c['ink']} on {ground} are under 4.5:1")
    assert not wrong, "\n".join(wrong)


def test_a_chart_switches_with_the_system(chromium, site: DemoSite) -> None:
    """The scheme changes while the territory page is open: the chart's colours and ground follow."""
    page, selector = CHART_PAGES[0]
    with pages_as(chromium, site, viewport={"width": 1366, "height": 800}, color_scheme="light") as open_page:
        tab = open_page(page, "fr")
        light = tab.evaluate(READ, selector)
        assert luminance(ground_of(tab, selector)) > 0.8
        tab.emulate_media(color_scheme="dark")
        tab.wait_for_function("(c) => echarts.getInstanceByDom(document.querySelector('#balance-chart'))"
                              ".getOption().textStyle.color !== c", arg=light["text"])  # fmt: skip
        dark = tab.evaluate(READ, selector)
        assert dark["text"] == dark["ink"] != light["ink"] and dark["axisLabel"] == dark["muted"]
        assert luminance(ground_of(tab, selector)) < 0.05
        consumption = tab.evaluate(
            "() => echarts.getInstanceByDom(document.querySelector('#balance-chart')).getOption()"
            ".series.find(s => s.id === 'consumption').color"
        )
        assert consumption == dark["ink"]  # the consumption line is drawn in the dark page's ink
