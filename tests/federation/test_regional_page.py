"""A regional hub's figures are reachable whatever territories the hub holds: ``/region`` shows them (French and
English), a hub with no territory of its own shows them on its home page too, and a hub with territories links
to that page from its territory page. A régie that is no hub answers ``/region`` with the empty page (404).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from regional_world import Neighbour, feed_hub

from regie.model import Inventory, Territory
from regie.store import Store, open_store
from regie.web.app import create_app

DAY0 = 1_780_000_000 // 86400 * 86400
VILLAGES = [
    Neighbour("a", "Village A", 42.40, 2.48, [(DAY0, 1, 1000.0, None, 12)]),
    Neighbour("b", "Village B", 42.45, 2.60, [(DAY0, 1, 5000.0, None, 15)]),
]
WORDS = {"en": ("Regional figures", "Village A"), "fr": ("Chiffres régionaux", "Village A")}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    feed_hub(store, tmp_path / "fed", VILLAGES)
    yield store
    store.close()


def _get(store: Store, path: str, lang: str):
    with TestClient(create_app(store), follow_redirects=False) as c:
        return c.get(path, headers={"Accept-Language": lang})


def _regional_total(text: str) -> bool:
    return 'data-testid="regional-total" data-value="6000.0"' in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_hub_with_no_territory_shows_the_region_on_its_own_page_and_its_home(hub: Store, lang: str) -> None:
    heading, village = WORDS[lang]
    for path in ("/region", "/"):
        r = _get(hub, path, lang)
        assert r.status_code == 200, (path, r.text[:300])
        assert heading in r.text and village in r.text and _regional_total(r.text)
    assert 'data-testid="region-link"' not in _get(hub, "/region", lang).text  # not a link to itself


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_hub_with_territories_reaches_the_region_without_choosing_one(hub: Store, lang: str) -> None:
    for tid in ("mont", "vallee"):
        hub.save_inventory(Inventory(Territory(tid, f"{tid}-test")))
    r = _get(hub, "/region", lang)
    assert r.status_code == 200 and WORDS[lang][0] in r.text and _regional_total(r.text)
    home = _get(hub, "/", lang)
    assert home.status_code == 200 and 'href="/region" data-testid="region-link"' in home.text


def test_a_regie_that_is_no_hub_has_no_region_page(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    try:
        store.save_inventory(Inventory(Territory("mont", "mont-test")))
        assert _get(store, "/region", "en").status_code == 404
    finally:
        store.close()
