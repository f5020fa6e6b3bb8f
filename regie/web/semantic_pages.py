"""Linked open data on the web (docs/linked-data.md): resource URIs with content negotiation, the JSON-LD
context, the DCAT-AP catalogue, the SPARQL endpoint, the open-data files and the map's GeoJSON.

Public routes: they serve only what :mod:`regie.semantic` builds from the publication and the public part of
the inventory. The SPARQL endpoint is throttled per client address and its queries are limited in time,
results and memory (:mod:`regie.semantic.sparql`).
"""

from __future__ import annotations

import json
import threading

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS

from regie.governance import territories
from regie.semantic import geo, negotiation, opendata, vocab
from regie.semantic import graph as public_graph
from regie.semantic.opendata_tables import TABLES
from regie.semantic.sparql import Endpoint, QueryRefused, result_format
from regie.semantic.throttle import Throttle
from regie.semantic.uris import KINDS, Uris
from regie.web.auth import app_settings, client_address
from regie.web.deps import StoreDep
from regie.web.templating import render

router = APIRouter(include_in_schema=False)
_LOCK = threading.Lock()
EXAMPLE = """PREFIX saref: <https://saref.etsi.org/core/>
PREFIX regie: <https://w3id.org/regie/ns#>
SELECT ?source (COUNT(?p) AS ?producers) (SUM(?w) AS ?peak_w)
WHERE { ?p a saref:Device ; regie:source ?source ; regie:peakPowerW ?w }
GROUP BY ?source"""


def _base(request: Request) -> str:
    return (app_settings(request).public_url or str(request.base_url)).rstrip("/")


def _graph(request: Request, store: StoreDep):
    return public_graph.cached(store, _base(request), app_settings(request).opendata_licence)


def _answer(request: Request, g, uri: URIRef, path: str, fmt: str | None) -> Response:
    fmt = fmt or negotiation.choose(request.headers.get("accept"))
    headers = {"Vary": "Accept", "Link": f'<{_base(request)}/ns/context.jsonld>; rel="describedby"'}
    if fmt != "html":
        return Response(negotiation.serialise(g, fmt), media_type=negotiation.MEDIA[fmt], headers=headers)
    label = next((str(o) for o in g.objects(uri, RDFS.label)), None) or next(
        (str(o) for o in g.objects(uri, DCTERMS.title)), str(uri)
    )
    base = _base(request)
    rows = []
    for s, p, o in sorted(g, key=lambda t: (t[0] != uri, str(t[0]), str(t[1]))):
        shown = o.n3(g.namespace_manager) if not isinstance(o, Literal) else str(o)
        link = str(o).removeprefix(base) or "/" if isinstance(o, URIRef) and str(o).startswith(base) else None
        rows.append((s.n3(g.namespace_manager), p.n3(g.namespace_manager), shown, link))
    html = render(request, "semantic_resource.html", {"active": "", "label": label, "uri": str(uri), "path": path,
                                                      "rows": rows})  # fmt: skip
    html.headers.update(headers)
    return html


@router.get("/id/{kind}/{rest:path}", name="linked_resource")
def resource(request: Request, store: StoreDep, kind: str, rest: str) -> Response:
    """A public resource: HTML, JSON-LD or Turtle (``Accept``, or the ``.jsonld`` / ``.ttl`` suffix)."""
    rest, fmt = negotiation.split_suffix(rest)
    if kind not in KINDS:
        raise HTTPException(404, f"no kind of resource {kind!r}: one of {', '.join(KINDS)}")
    g = _graph(request, store)
    uri = Uris(_base(request)).of(kind, *rest.split("/"))
    described = public_graph.describe(g, uri)
    if not len(described):
        raise HTTPException(404, f"no public {kind} {rest!r}")
    return _answer(request, described, uri, f"/id/{kind}/{rest}", fmt)


@router.get("/catalog", name="catalog")
@router.get("/catalog.jsonld")
@router.get("/catalog.ttl")
def catalog(request: Request, store: StoreDep) -> Response:
    """The DCAT-AP catalogue: every dataset (aggregate series, open-data tables) with its distributions."""
    _, fmt = negotiation.split_suffix(request.url.path)
    g = _graph(request, store)
    u = Uris(_base(request))
    out = public_graph.describe(g, u.catalog)
    for ds in list(out.objects(u.catalog, public_graph.DCAT.dataset)):
        out += public_graph.describe(g, ds)
    for node in {o for o in out.objects() if isinstance(o, URIRef) and "/id/organisation/" in str(o)}:
        out += public_graph.describe(g, node)
    out += public_graph.describe(g, u.of("rule", "secrecy"))
    return _answer(request, out, u.catalog, "/catalog", fmt)


@router.get("/ns/context.jsonld", name="jsonld_context")
def context() -> JSONResponse:
    """The JSON-LD context of regie's documents (the prefixes and typed terms)."""
    return JSONResponse({"@context": vocab.context()}, media_type="application/ld+json")


def _endpoint(request: Request) -> tuple[Endpoint, Throttle]:
    settings = app_settings(request)
    with _LOCK:
        if getattr(request.app.state, "sparql", None) is None:
            request.app.state.sparql = (
                Endpoint(settings.sparql_timeout_s, settings.sparql_max_rows),
                Throttle(settings.sparql_requests_per_minute),
            )
        return request.app.state.sparql


def _sparql(request: Request, store: StoreDep, query: str | None) -> Response:
    endpoint, throttle = _endpoint(request)
    if not query:
        settings = app_settings(request)
        return render(request, "semantic_sparql.html", {"active": "", "example": EXAMPLE,
                      "timeout": f"{settings.sparql_timeout_s:g}", "max_rows": settings.sparql_max_rows,
                      "rate": settings.sparql_requests_per_minute})  # fmt: skip
    wait = throttle.allow(client_address(request))
    if wait:
        return Response("too many queries from this address: wait and try again\n", 429,
                        headers={"Retry-After": str(max(1, round(wait)))}, media_type="text/plain")  # fmt: skip
    g = _graph(request, store)
    key = getattr(g, "regie_key", id(g))
    try:
        answer = endpoint.query(query, result_format(request.headers.get("accept")), key,
                                lambda: g.serialize(format="nt", encoding="utf-8"))  # fmt: skip
    except QueryRefused as exc:
        return Response(str(exc) + "\n", exc.status, media_type="text/plain")
    return Response(answer.body, media_type=answer.media_type, headers={"Vary": "Accept"})


@router.get("/sparql", name="sparql")
def sparql_get(request: Request, store: StoreDep, query: str | None = None) -> Response:
    """SPARQL 1.1 Protocol, query via GET; without a query, a page to write one."""
    return _sparql(request, store, query)


@router.post("/sparql")
async def sparql_post(request: Request, store: StoreDep) -> Response:
    """SPARQL 1.1 Protocol, query via POST: URL-encoded (``query=``) or directly (``application/sparql-query``)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/sparql-query":
        query = (await request.body()).decode("utf-8", errors="replace")
    elif ctype == "application/x-www-form-urlencoded":
        query = (await request.form()).get("query")
    else:
        return Response("POST a query as application/sparql-query or application/x-www-form-urlencoded\n", 415,
                        media_type="text/plain")  # fmt: skip
    if not isinstance(query, str) or not query.strip():
        return Response("no query given\n", 400, media_type="text/plain")
    from fastapi.concurrency import run_in_threadpool

    return await run_in_threadpool(_sparql, request, store, query)


_FILES = {f"{t.name}.{fmt}": (t, fmt) for t in TABLES for fmt in opendata.FORMATS}


@router.get("/opendata/{territory_id}/{name}", name="opendata_file")
def opendata_file(request: Request, store: StoreDep, territory_id: str, name: str) -> Response:
    """One open-data file of a territory, or its ``datapackage.json`` (Frictionless)."""
    if territories.get_territory(store, territory_id) is None:
        raise HTTPException(404, f"no territory {territory_id!r}")
    settings = app_settings(request)
    if name == "datapackage.json":
        data = [d for d in (opendata.table_data(store, territory_id, t) for t in TABLES) if d is not None]
        pkg = opendata.datapackage(store, territory_id, _base(request), settings.opendata_licence, data)
        return Response(json.dumps(pkg, ensure_ascii=False, indent=1), media_type="application/json")
    if name not in _FILES:
        raise HTTPException(404, f"no file {name!r}: one of datapackage.json, {', '.join(sorted(_FILES))}")
    table, fmt = _FILES[name]
    data = opendata.table_data(store, territory_id, table)
    if data is None:
        raise HTTPException(404, "no data stored yet")
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.apache.parquet"
    return Response(opendata.to_bytes(data, fmt), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{territory_id}-{name}"'})  # fmt: skip


@router.get("/api/map.geojson", name="map_geojson")
def map_geojson(request: Request, store: StoreDep, territory: str | None = None) -> Response:
    """Public plants, transformers, public buildings and ACC perimeters as GeoJSON (RFC 7946)."""
    if territory is not None and territories.get_territory(store, territory) is None:
        raise HTTPException(404, f"no territory {territory!r}")
    body = geo.map_features(store, _base(request), territory)
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")
