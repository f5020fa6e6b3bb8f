"""Resource URIs answer HTML, JSON-LD and Turtle; the exports pass the SHACL shapes; households have no URI."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from regie.semantic import graph as public_graph
from regie.semantic.shapes import validate
from regie.semantic.vocab import SAREF
from regie.store import Store
from regie.web.app import create_app

BASE = "http://testserver"


def test_a_resource_answers_html_jsonld_and_turtle_by_accept_and_by_suffix(world: Store) -> None:
    c = TestClient(create_app(world))
    html = c.get("/id/producer/hydro", headers={"accept": "text/html"})
    assert html.status_code == 200 and "text/html" in html.headers["content-type"] and "Hydro" in html.text
    ttl = c.get("/id/producer/hydro", headers={"accept": "text/turtle"})
    assert ttl.headers["content-type"].startswith("text/turtle") and ttl.headers["vary"] == "Accept"
    jsonld = c.get("/id/producer/hydro", headers={"accept": "application/ld+json"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    for body, fmt in ((ttl.text, "turtle"), (jsonld.text, "json-ld"), (c.get("/id/producer/hydro.ttl").text, "turtle"),
                      (c.get("/id/producer/hydro.jsonld").text, "json-ld")):  # fmt: skip
        g = Graph().parse(data=body, format=fmt)
        assert (URIRef(f"{BASE}/id/producer/hydro"), RDF.type, SAREF.Device) in g


def test_households_rooftops_persons_and_a_company_that_only_consumes_have_no_uri(world: Store) -> None:
    c = TestClient(create_app(world))
    assert c.get("/id/territory/val.ttl").status_code == 200
    for path in ("/id/producer/pv0", "/id/organisation/thermes", "/id/organisation/p00", "/id/site/nowhere",
                 "/id/nokind/x"):  # fmt: skip
        assert c.get(path).status_code == 404, path
    assert c.get("/id/organisation/regie.ttl").status_code == 200


def test_the_context_is_served_and_documents_use_its_terms(world: Store) -> None:
    c = TestClient(create_app(world))
    ctx = c.get("/ns/context.jsonld").json()["@context"]
    assert ctx["saref"] == "https://saref.etsi.org/core/" and ctx["dcat"] == "http://www.w3.org/ns/dcat#"
    doc = c.get("/id/series/val/consumption.jsonld").json()
    assert doc["@context"] == ctx


def test_the_whole_graph_and_every_resource_pass_the_shapes(world: Store) -> None:
    g = public_graph.build(world, BASE)
    ok, report = validate(g)
    assert ok, report
    c = TestClient(create_app(world))
    for uri in {s for s in g.subjects() if isinstance(s, URIRef) and "/id/" in s and "#" not in s}:
        body = c.get(uri.removeprefix(BASE) + ".jsonld")
        assert body.status_code == 200, uri
        part = Graph().parse(data=body.text, format="json-ld")
        assert len(part) > 0


def test_the_shapes_catch_a_person_and_a_delivery_point_number(world: Store) -> None:
    g = public_graph.build(world, BASE)
    g.parse(data='<http://x/p> a <http://xmlns.com/foaf/0.1/Person> ; '
                 '<http://www.w3.org/2000/01/rdf-schema#label> "Foyer 40000000000001" .', format="turtle")  # fmt: skip
    ok, report = validate(g)
    assert not ok and "no person" in report and "14 digits" in report


def test_a_series_is_one_dataset_with_its_months_and_how_it_was_made(world_on_each_backend: Store) -> None:
    c = TestClient(create_app(world_on_each_backend))
    g = Graph().parse(data=c.get("/id/series/val/consumption.ttl").text, format="turtle")
    ds = URIRef(f"{BASE}/id/series/val/consumption")
    assert (ds, RDF.type, DCAT.Dataset) in g
    months = list(g.subjects(RDF.type, SAREF.Measurement))
    assert len(months) == 1  # two days of March 2025: one month, never one node per half-hour
    balance = c.get("/api/balance").json()
    (value,) = g.objects(months[0], SAREF.hasValue)
    assert float(value) == balance["periods"]["consumption_wh"][0]
    act = URIRef(f"{ds}#publication")
    prov = {str(p).rsplit("#", 1)[-1].rsplit("/", 1)[-1]: o for p, o in g.predicate_objects(act)}
    assert int(prov["inputsCount"]) == 13 and int(prov["cellsShown"]) == 96 and "endedAtTime" in prov
    (access,) = [o for d in g.objects(ds, DCAT.distribution) for o in g.objects(d, DCAT.accessURL)]
    assert str(access).startswith(f"{BASE}/api/balance")


def test_the_catalogue_in_turtle_and_jsonld_with_licence_period_place_and_rule(world: Store) -> None:
    c = TestClient(create_app(world))
    ttl = Graph().parse(data=c.get("/catalog.ttl").text, format="turtle")
    jsonld = Graph().parse(data=c.get("/catalog", headers={"accept": "application/ld+json"}).text, format="json-ld")
    assert len(ttl) == len(jsonld)
    cat = URIRef(f"{BASE}/catalog")
    datasets = set(ttl.objects(cat, DCAT.dataset))
    assert len(datasets) == 3 + 3  # three open-data tables; consumption, hydro and pv
    pv = c.get("/id/series/val/production-pv.ttl").text
    assert "saref:Measurement" not in pv  # two rooftops: every month hidden, the dataset says so by having none
    for ds in datasets:
        assert ttl.value(ds, DCTERMS.license) == URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
        assert ttl.value(ds, DCTERMS.spatial) == URIRef(f"{BASE}/id/territory/val")
        assert ttl.value(ds, DCTERMS.accrualPeriodicity) is not None and ttl.value(ds, DCTERMS.temporal) is not None
    ok, report = validate(ttl)
    assert ok, report
    assert json.loads(c.get("/catalog.jsonld").text)["@context"]["dcat"]
