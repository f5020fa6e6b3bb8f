"""The SPARQL endpoint through a real client library (SPARQLWrapper) against a real uvicorn on loopback."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import httpx
import pytest
from servers import AppServer
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from regie.config import Settings
from regie.semantic.public import public_view
from regie.store import Store
from regie.web.app import create_app

PREFIXES = """PREFIX saref: <https://saref.etsi.org/core/>
PREFIX regie: <https://w3id.org/regie/ns#>
PREFIX dct: <http://purl.org/dc/terms/>
"""
BY_SOURCE = (
    PREFIXES
    + """SELECT ?source (COUNT(?p) AS ?n) WHERE { ?p a saref:Device ; regie:source ?source }
GROUP BY ?source ORDER BY ?source"""
)
PER_MONTH = (
    PREFIXES
    + """SELECT ?source ?month (SUM(?wh) AS ?total) WHERE {
  ?m a saref:Measurement ; saref:hasValue ?wh ; saref:hasTimestamp ?month ; dct:isPartOf ?series .
  ?series regie:kind "production" ; regie:source ?source .
} GROUP BY ?source ?month ORDER BY ?source ?month"""
)


def _settings(**kw: object) -> Settings:
    return Settings.defaults().model_copy(update=kw)


def test_a_sparql_client_counts_producers_by_source_and_sums_production_per_month_as_the_api(world: Store) -> None:
    with AppServer(create_app(world)) as server:
        client = SPARQLWrapper(f"{server.url}/sparql")
        client.setQuery(BY_SOURCE)
        client.setReturnFormat(JSON)
        rows = client.query().convert()["results"]["bindings"]
        counts = {r["source"]["value"]: int(r["n"]["value"]) for r in rows}
        view = public_view(world.load_inventory())
        assert counts == {"hydro": 1} == {p.source.value: 1 for p in view.producers}
        client.setQuery(PER_MONTH)
        client.setMethod("POST")
        rows = client.query().convert()["results"]["bindings"]
        balance = httpx.get(f"{server.url}/api/balance").json()
        expected = {(src, datetime.fromisoformat(start)): v
                    for src, values in balance["periods"]["production_wh"].items()
                    for start, v in zip(balance["periods"]["start"], values, strict=True) if v is not None}  # fmt: skip
        got = {(r["source"]["value"], datetime.fromisoformat(r["month"]["value"])): float(r["total"]["value"])
               for r in rows}  # fmt: skip
        assert got == expected and ("hydro", datetime.fromisoformat(balance["periods"]["start"][0])) in got


def test_results_as_json_xml_csv_and_tsv_and_every_protocol_form(world: Store) -> None:
    with AppServer(create_app(world)) as server:
        client = SPARQLWrapper(f"{server.url}/sparql")
        client.setQuery(BY_SOURCE)
        for fmt, check in ((XML, lambda r: r.getElementsByTagName("literal")[0].firstChild.data == "hydro"),
                           (CSV, lambda r: list(csv.reader(io.StringIO(r.decode())))[1] == ["hydro", "1"]),
                           (TSV, lambda r: r.decode().splitlines()[1].startswith('"hydro"'))):  # fmt: skip
            client.setReturnFormat(fmt)
            assert check(client.query().convert()), fmt
        direct = httpx.post(f"{server.url}/sparql", content=BY_SOURCE,
                            headers={"content-type": "application/sparql-query", "accept": "text/csv"})  # fmt: skip
        assert direct.status_code == 200 and direct.text.splitlines()[1] == "hydro,1"
        ask = httpx.get(f"{server.url}/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()
        assert ask["boolean"] is True
        bad = SPARQLWrapper(f"{server.url}/sparql")
        bad.setQuery("SELEC nothing")
        with pytest.raises(QueryBadFormed):
            bad.query()


def test_a_query_over_the_time_or_the_size_limit_is_stopped_and_the_next_one_works(world: Store) -> None:
    app = create_app(world, _settings(sparql_timeout_s=1.0, sparql_max_rows=5))
    with AppServer(app) as server:
        ask = lambda q: httpx.get(f"{server.url}/sparql", params={"query": q}, timeout=30)  # noqa: E731
        slow = ask("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
        assert slow.status_code == 503 and "longer than 1 s" in slow.text  # the worker was killed
        big = ask("SELECT ?s WHERE { ?s ?p ?o }")
        assert big.status_code == 413 and "more than 5 results" in big.text
        client = SPARQLWrapper(f"{server.url}/sparql")
        client.setReturnFormat(JSON)
        client.setQuery("SELECT ?s WHERE { ?s ?p ?o } LIMIT 5")
        assert len(client.query().convert()["results"]["bindings"]) == 5


def test_a_client_asking_too_often_is_told_to_wait(world: Store) -> None:
    app = create_app(world, _settings(sparql_requests_per_minute=1))
    with AppServer(app) as server:
        codes = [httpx.get(f"{server.url}/sparql", params={"query": "ASK {}"}).status_code for _ in range(12)]
        assert codes[:10] == [200] * 10 and codes[-1] == 429
