"""The territory page rendered by the server (no browser): figures, definitions, languages, assets."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from regie.store import open_store
from regie.web import assets
from regie.web.app import create_app

NBSP = ("\u00a0", "\u202f")


def plain(text: str) -> str:
    """Text with French no-break spaces (U+00A0, U+202F) turned into plain spaces."""
    for ch in NBSP:
        text = text.replace(ch, " ")
    return text


class _Collect(HTMLParser):
    """Text of elements by data-testid, and every src/href of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.by_testid: dict[str, str] = {}
        self.links: list[str] = []
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.links += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag not in ("br", "meta", "link", "img", "input"):
            self._open.append((tag, a.get("data-testid")))
            if a.get("data-testid"):
                self.by_testid.setdefault(a["data-testid"], "")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, tid in self._open:
            if tid:
                self.by_testid[tid] += data


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


def text_of(html: str, testid: str) -> str:
    return " ".join(plain(parse(html).by_testid[testid]).split())


def test_french_by_default_with_definitions(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="fr">' in html
    # Hand-computed (see test_api): Σmin = 950 600 Wh, consumption 1 463 000 Wh, production 1 462 300 Wh.
    assert text_of(html, "value-consumption") == "1,46 MWh"
    assert text_of(html, "value-production") == "1,46 MWh"
    assert text_of(html, "value-coverage") == "100,0 %"
    assert text_of(html, "value-self-sufficiency") == "65,0 %"
    assert text_of(html, "value-self-consumption") == "65,0 %"
    assert "secrecy-notice" not in parse(html).by_testid and 'class="masked"' not in html
    coverage = text_of(html, "figure-coverage")
    assert "Taux de couverture" in coverage and "Σ production / Σ consommation" in coverage
    ss = text_of(html, "figure-self-sufficiency")
    assert "Taux d'autoproduction" in ss and "Σ min(production, consommation) / Σ consommation" in ss
    assert "30 minutes" in ss
    assert "Σ min(production, consommation) / Σ production" in text_of(html, "figure-self-consumption")
    assert "Données du 1 mars 2025 au 30 avril 2025" in text_of(html, "data-period")
    sources = text_of(html, "source-pv")
    assert "Photovoltaïque" in sources and "36 kW" in sources and "1,02 MWh" in sources and "70,0 %" in sources


def test_monthly_table(client: TestClient) -> None:
    html = client.get("/").text
    months = re.findall(r'data-testid="month-row" data-month="([0-9-]+)"', html)
    assert months == ["2025-03", "2025-04"]
    table = text_of(html, "monthly-table")
    # March: 743 000 Wh consumed, 222 900 hydro, 519 400 PV, Σmin 482 600 → shown in kWh with one decimal
    assert "mars 2025 743,0 222,9 519,4 742,3 99,9 % 65,0 % 65,0 %" in table
    assert "avril 2025 720,0 216,0 504,0 720,0 100,0 % 65,0 % 65,0 %" in table
    assert "Toute la période 1 463,0" in table


def test_english_by_query_then_cookie(client: TestClient) -> None:
    r = client.get("/", params={"lang": "en"})
    assert '<html lang="en">' in r.text
    assert r.cookies.get("regie_lang") == "en"
    assert text_of(r.text, "value-self-sufficiency") == "65.0%"
    assert "Self-sufficiency" in text_of(r.text, "figure-self-sufficiency")
    assert "Data from March 1, 2025 to April 30, 2025" in text_of(r.text, "data-period")
    again = client.get("/")  # the TestClient keeps the cookie
    assert '<html lang="en">' in again.text
    back = client.get("/", params={"lang": "fr"})
    assert '<html lang="fr">' in back.text and back.cookies.get("regie_lang") == "fr"


@pytest.mark.parametrize(
    ("header", "lang"),
    [("en-GB,en;q=0.9", "en"), ("de-DE, en;q=0.5, fr;q=0.4", "en"), ("de", "fr"), ("fr-CA", "fr"), ("", "fr"),
     ("en;q=0, fr;q=0.1", "fr"), ("en;q=bogus", "fr")],
)
def test_accept_language(client: TestClient, header: str, lang: str) -> None:
    assert f'<html lang="{lang}">' in client.get("/", headers={"Accept-Language": header}).text


def test_language_switch_on_page(client: TestClient) -> None:
    p = parse(client.get("/", params={"step": "x"}).text)
    assert "lang-switch" in p.by_testid
    assert "/?step=x&lang=en" in p.links and "/?step=x&lang=fr" in p.links


def test_no_external_urls(client: TestClient) -> None:
    html = client.get("/").text
    links = parse(html).links
    assert links and all(link.startswith(("/", "#")) for link in links), links  # "#content": the skip link
    assert "http://" not in html and "https://" not in html
    assert "echarts.min.js" in html and "territory.js" in html


def test_assets_served(client: TestClient) -> None:
    css = client.get("/static/regie.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/territory.js").status_code == 200
    for bad in ("/static/.hidden", "/static/nope.css", "/static/..%2Fapp.py", "/static/vendor/zrender.js"):
        assert client.get(bad).status_code == 404, bad
    if not assets.vendor_available("echarts.min.js"):
        pytest.skip("node_modules not installed (run scripts/setup.sh)")
    js = client.get("/static/vendor/echarts.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def test_page_without_chart_library_says_how_to_install(client: TestClient, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(assets, "node_modules", lambda: tmp_path / "node_modules")
    html = client.get("/").text
    assert "scripts/setup.sh" in text_of(html, "chart-missing")
    assert "echarts.min.js" not in html and 'id="balance-chart"' not in html
    r = client.get("/static/vendor/echarts.min.js")
    assert r.status_code == 404 and "scripts/setup.sh" in r.json()["detail"]


def test_empty_store_page(tmp_path, synthetic_inventory) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    client = TestClient(create_app(store))
    r = client.get("/")
    assert r.status_code == 404 and "regie demo" in text_of(r.text, "empty-store")
    store.save_inventory(synthetic_inventory())
    r = client.get("/")
    assert r.status_code == 200 and "Aucune donnée" in text_of(r.text, "data-period")
    store.close()
