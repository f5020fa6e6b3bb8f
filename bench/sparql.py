"""Choose the SPARQL engine on measured merit: pyoxigraph vs rdflib's in-memory store on the demo's public graph.

For each engine: the time to load the graph (N-Triples), the time of a 10-query suite (best of 3), and the
resident memory the loaded graph adds. Prints a table, writes ``bench/results/sparql.json``.
Run: ``.venv/bin/python bench/sparql.py [--seed 42] [--repeat 20]`` (``--repeat`` copies the graph under other
base URLs, to see how each engine scales with a region's many territories).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rich.console import Console
from rich.table import Table

from regie.demo import build_prats
from regie.demo.install import install
from regie.semantic import graph as public_graph
from regie.store import open_store

RESULTS = Path(__file__).parent / "results" / "sparql.json"
P = """PREFIX saref: <https://saref.etsi.org/core/>
PREFIX regie: <https://w3id.org/regie/ns#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX geo: <http://www.w3.org/2003/01/geo/wgs84_pos#>
"""
QUERIES = {
    "count triples": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "producers by source": "SELECT ?src (COUNT(?p) AS ?n) WHERE { ?p a saref:Device ; regie:source ?src } "
    "GROUP BY ?src",
    "peak power by source": "SELECT ?src (SUM(?w) AS ?kw) WHERE { ?p regie:source ?src ; regie:peakPowerW ?w } "
    "GROUP BY ?src",
    "production per month": "SELECT ?src ?m (SUM(?v) AS ?wh) WHERE { ?x a saref:Measurement ; saref:hasValue ?v ; "
    "saref:hasTimestamp ?m ; dct:isPartOf ?s . ?s regie:kind 'production' ; regie:source ?src } GROUP BY ?src ?m",
    "consumption of the year": "SELECT (SUM(?v) AS ?wh) WHERE { ?x saref:hasValue ?v ; dct:isPartOf ?s . "
    "?s regie:kind 'consumption' }",
    "datasets and distributions": "SELECT ?d ?u WHERE { ?d a dcat:Dataset ; dcat:distribution ?x . "
    "?x dcat:accessURL ?u }",
    "provenance": "SELECT ?s ?n ?t WHERE { ?s prov:wasGeneratedBy ?a . ?a regie:inputsCount ?n ; prov:endedAtTime ?t }",
    "labels by regex": "SELECT ?s ?l WHERE { ?s rdfs:label ?l FILTER(REGEX(?l, 'centrale', 'i')) }",
    "located things": "SELECT ?s ?lat ?lon WHERE { ?s geo:lat ?lat ; geo:long ?lon } ORDER BY ?lat",
    "best month of pv": "SELECT ?m ?v WHERE { ?x saref:hasValue ?v ; saref:hasTimestamp ?m ; dct:isPartOf ?s . "
    "?s regie:source 'pv' } ORDER BY DESC(?v) LIMIT 1",
}


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def measure(name: str, load, run) -> dict:
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    engine = load()
    load_s = time.perf_counter() - t0
    added = rss_mb() - before
    times = {}
    for q, text in QUERIES.items():
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            n = run(engine, P + text)
            best = min(best, time.perf_counter() - t0)
        times[q] = (round(best, 5), n)
    return {"engine": name, "load_s": round(load_s, 4), "suite_s": round(sum(t for t, _ in times.values()), 4),
            "rss_added_mb": round(added, 1), "queries": times}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    demo = build_prats(seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/demo.sqlite")
        install(store, demo)
        nt = b"".join(public_graph.build(store, f"http://regie{k}.example").serialize(format="nt", encoding="utf-8")
                      for k in range(args.repeat))  # fmt: skip
        store.close()
    triples = nt.count(b"\n")

    def ox_load() -> ox.Store:
        s = ox.Store()
        s.bulk_load(nt, format=ox.RdfFormat.N_TRIPLES)
        return s

    def rdflib_load() -> rdflib.Graph:
        return rdflib.Graph().parse(data=nt, format="nt")

    runs = [measure("pyoxigraph " + ox.__version__, ox_load, lambda s, q: len(list(s.query(q)))),
            measure("rdflib " + rdflib.__version__, rdflib_load, lambda g, q: len(list(g.query(q))))]  # fmt: skip
    table = Table(title=f"SPARQL engines on the demo's public graph ({triples} triples)")
    for col in ("what", *(r["engine"] for r in runs)):
        table.add_column(col, justify="right")
    table.add_row("load [s]", *(f"{r['load_s']:.3f}" for r in runs))
    table.add_row("10-query suite [s]", *(f"{r['suite_s']:.3f}" for r in runs))
    table.add_row("resident memory added [MB]", *(f"{r['rss_added_mb']:.1f}" for r in runs))
    for q in QUERIES:
        table.add_row(q, *(f"{r['queries'][q][0] * 1000:.2f} ms" for r in runs))
    Console().print(table)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"repeat={args.repeat}"] = {"triples": triples, "runs": runs, "machine": platform.machine(),
                                        "python": platform.python_version()}  # fmt: skip
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
