"""The open-data files validate (frictionless) and add up to /api/balance; no public resource holds a delivery
point number, a private person's name or one household's curve."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from frictionless import validate
from rdflib import URIRef
from typer.testing import CliRunner

from regie.cli import app as cli
from regie.semantic import graph as public_graph
from regie.store import Store, open_store
from regie.web.app import create_app

#: 14 digits in a row, as a delivery point number is (coordinates are rounded to 6 decimals: never 14).
PRM = re.compile(r"(?<!\d)\d{14}(?!\d)")


def test_regie_publish_opendata_writes_files_that_frictionless_validates(world: Store, tmp_path) -> None:
    url = str(world.engine.url)
    result = CliRunner().invoke(cli, ["publish", "opendata", str(tmp_path / "od"), "--database-url", url])
    assert result.exit_code == 0, result.output
    report = validate(str(tmp_path / "od" / "val" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    monthly = (tmp_path / "od" / "val" / "balance-monthly.csv").read_text().splitlines()
    balance = TestClient(create_app(world)).get("/api/balance").json()
    header, row = monthly[0].split(","), monthly[1].split(",")
    assert float(row[header.index("consumption_wh")]) == balance["periods"]["consumption_wh"][0]
    assert row[header.index("production_pv_wh")] == ""  # two rooftops: hidden, and said so
    assert "production:pv:fewer_than_10" in row[header.index("masked")]


def _public_texts(store: Store, territory: str) -> dict[str, str]:
    """Every public resource's text: each URI of the graph as HTML, JSON-LD and Turtle, the catalogue, the
    context, the GeoJSON, the open-data files and the data package, and the SPARQL dump of the whole graph."""
    c = TestClient(create_app(store))
    g = public_graph.build(store, "http://testserver")
    texts = {}
    for uri in {s for s in g.subjects() if isinstance(s, URIRef) and "/id/" in s}:
        path = str(uri).split("#")[0].removeprefix("http://testserver")
        for suffix in ("", ".jsonld", ".ttl"):
            r = c.get(path + suffix)
            assert r.status_code == 200, path
            texts[path + suffix] = r.text
    files = [
        f"/opendata/{territory}/{name}"
        for name in ("datapackage.json", "balance-monthly.csv", "balance-daily.csv", "balance-metering-step.csv")
    ]
    for path in ("/catalog", "/catalog.ttl", "/catalog.jsonld", "/ns/context.jsonld", "/api/map.geojson", *files):
        r = c.get(path)
        assert r.status_code == 200, path
        texts[path] = r.text
    dump = c.get("/sparql", params={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"},
                 headers={"accept": "application/n-triples"})  # fmt: skip
    assert dump.status_code == 200 and len(dump.text.splitlines()) == len(g)
    texts["sparql dump"] = dump.text
    return texts


def _no_prm_nor_name(texts: dict[str, str], names: list[str]) -> None:
    for where, text in texts.items():
        assert not PRM.search(text), (where, PRM.search(text))
        for name in names:
            assert name not in text, (where, name)


def test_every_public_resource_holds_no_prm_no_private_name_and_no_household_curve(world: Store) -> None:
    texts = _public_texts(world, "val")
    inv = world.load_inventory()
    names = [p.name for p in inv.persons] + ["Les Thermes"]
    curves = []
    for s in inv.series:
        if s.prm and s.id != "hydro":
            _t, v = world.read(s.id, 0, 2**40)
            curves += [f"{x:.3f}".rstrip("0").rstrip(".") for x in v if x > 100] + [
                f"{x / 2:.4f}".rstrip("0") for x in v if x > 100
            ]
    _no_prm_nor_name(texts, names)
    numbers = set(re.findall(r"\d+\.\d+", "\n".join(texts.values())))
    leaked = [x for x in curves if x in numbers]
    assert not leaked, leaked[:5]
    features = json.loads(texts["/api/map.geojson"])["features"]
    assert {f["properties"]["kind"] for f in features} == {"producer", "transformer"}
    assert all(f["properties"]["uri"].startswith("http://testserver/id/") for f in features)


@pytest.mark.slow
def test_the_demo_years_public_resources_hold_no_prm_and_no_private_name(demo_year, tmp_path) -> None:
    store = open_store(demo_year.copy(tmp_path))
    inv = store.load_inventory()
    texts = _public_texts(store, inv.territory.id)
    public = {o.id for o in inv.organisations if o.kind.value in ("regie", "commune", "cooperative")}
    names = [p.name for p in inv.persons] + [o.name for o in inv.organisations if o.id not in public]
    _no_prm_nor_name(texts, [n for n in names if len(n) > 6])  # "Hôtel" is a word of many labels
    assert any("/id/operation/" in k for k in texts) and any("/id/transformer/" in k for k in texts)
    store.close()
