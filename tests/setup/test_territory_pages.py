"""Two territories in one store, over HTTP: each page and API shows the territory chosen; an admin of one is
refused (403, logged) every page and figure of the other and lists nothing of it; the public and an admin of
every territory choose freely; each territory's public balance is its own."""

from __future__ import annotations

import pytest
from two_territories import World, build

from regie.governance import audit
from regie.store import open_store

#: Pages and APIs that show a territory's data, with ``territory`` chosen in the query.
PAGES = ["/", "/live", "/report", "/grid", "/data-health", "/api/territory", "/api/balance", "/api/live"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('two') / 'two.sqlite'}")
    yield build(store)
    store.close()


@pytest.mark.parametrize(("who", "own", "other"), [("admin-v", "vallee", "mont"), ("admin-m", "mont", "vallee")])
@pytest.mark.parametrize("path", PAGES)
def test_a_scoped_admin_is_refused_the_other_territory(world: World, who: str, own: str, other: str, path: str):
    client = world.client(who)
    refused = client.get(path, params={"territory": other})
    assert refused.status_code == 403, (path, refused.status_code)
    assert f"runs territory {own} only, not {other}" in refused.text
    if not path.startswith("/api/"):  # a page says it in the visitor's language
        assert 'data-testid="refused"' in refused.text and "This page is not for your account." in refused.text
    entry = audit.entries(world.store, kind="territory")[-1].entry
    assert (entry["action"], entry["territory_id"], entry["actor"], entry["detail"]["what"]) == (
        "refused", other, who, path)
    mine = client.get(path, params={"territory": own})
    assert mine.status_code == 200, (path, mine.status_code, mine.text[:300])


@pytest.mark.parametrize(("who", "name", "other_name"), [("admin-v", "Vallée-Test", "Mont-Test"),
                                                          ("admin-m", "Mont-Test", "Vallée-Test")])
def test_a_scoped_admin_sees_its_own_territory_by_default_and_nothing_of_the_other(world, who, name, other_name):
    client = world.client(who)
    for path in ("/", "/admin", "/report"):
        page = client.get(path)
        assert page.status_code == 200 and name in page.text and other_name not in page.text, path
    assert client.get("/api/territory").json()["name"] == name
    admin = client.get("/admin").text
    other_admin = "admin-m" if who == "admin-v" else "admin-v"
    assert who in admin and other_admin not in admin and "root" not in admin
    assert 'data-testid="territory-chooser"' not in admin  # one territory: no chooser
    # a cookie naming the other territory is ignored, not obeyed
    client.cookies.set("regie_territory", "mont" if who == "admin-v" else "vallee")
    assert client.get("/api/territory").json()["name"] == name


def test_each_territory_has_its_own_public_balance(world: World) -> None:
    """Each has its own published cells: the main territory's under the historic names, the other's prefixed."""
    public = world.client()
    totals = {}
    for tid in ("vallee", "mont"):
        r = public.get("/api/balance", params={"territory": tid, "start": "2025-03-01", "end": "2025-04-01"})
        assert r.status_code == 200, r.text
        totals[tid] = r.json()["totals"]
    hours = (31 * 24 - 1)  # March 2025 in Paris: one hour lost to DST
    assert totals["vallee"]["consumption_wh"] == pytest.approx(1000.0 * hours)
    assert totals["mont"]["consumption_wh"] == pytest.approx(2500.0 * hours)
    assert totals["mont"]["production_by_source_wh"]["hydro"] == pytest.approx(900.0 * hours)
    assert public.get("/api/balance", params={"territory": "nowhere"}).status_code == 404
    figures = {f.split("/")[0] for f in _published_figures(world)}
    assert figures == {"consumption", "mont"}, figures


def _published_figures(world: World) -> set[str]:
    from sqlalchemy import select

    from regie.store.schema import published_cell

    with world.store.engine.connect() as conn:
        return {r.figure for r in conn.execute(select(published_cell.c.figure).distinct())}


def test_the_public_and_an_admin_of_every_territory_choose(world: World) -> None:
    for who in (None, "root"):
        client = world.client(who)
        page = client.get("/")
        assert 'data-testid="territory-chooser"' in page.text
        # the main territory, whose data came first (vallee), though mont comes first by id
        assert client.get("/api/territory").json()["name"] == "Vallée-Test"
        chosen = client.get("/", params={"territory": "mont"})
        assert chosen.status_code == 200 and "Mont-Test" in chosen.text
        assert client.cookies.get("regie_territory") == "mont"
        assert client.get("/api/territory").json()["name"] == "Mont-Test"  # remembered
    root_admin = world.client("root").get("/admin").text
    assert "Vallée-Test" in root_admin and "Mont-Test" in root_admin and "admin-v" in root_admin
