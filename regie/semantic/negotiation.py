"""Content negotiation of resource URIs: HTML for a browser, JSON-LD or Turtle for a machine (``Accept``), or
by suffix (``.jsonld``, ``.ttl``), and the serialisations themselves."""

from __future__ import annotations

import json

from rdflib import Graph

from regie.semantic import vocab

MEDIA = {"html": "text/html; charset=utf-8", "jsonld": "application/ld+json", "turtle": "text/turtle; charset=utf-8"}
SUFFIXES = {".jsonld": "jsonld", ".ttl": "turtle"}
_ACCEPT = {"text/html": "html", "application/xhtml+xml": "html", "application/ld+json": "jsonld",
           "application/json": "jsonld", "text/turtle": "turtle", "application/x-turtle": "turtle"}  # fmt: skip


def split_suffix(path: str) -> tuple[str, str | None]:
    """(the path without a format suffix, the format it names or None)."""
    for suffix, fmt in SUFFIXES.items():
        if path.endswith(suffix):
            return path[: -len(suffix)], fmt
    return path, None


def choose(accept: str | None) -> str:
    """The format an ``Accept`` header prefers among ours (by q, then order); HTML when it names none."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept or "").split(",")):
        media, *params = (x.strip().lower() for x in part.split(";"))
        q = next((float(p[2:]) for p in params if p.startswith("q=") and p[2:].replace(".", "", 1).isdigit()), 1.0)
        if media in _ACCEPT and q > 0 and (best is None or (-q, i) < (-best[0], best[1])):
            best = (q, i, _ACCEPT[media])
    return best[2] if best else "html"


def serialise(graph: Graph, fmt: str) -> bytes:
    """``graph`` as JSON-LD (compacted with regie's context, embedded) or Turtle."""
    if fmt == "jsonld":
        doc = json.loads(graph.serialize(format="json-ld", context=vocab.context(), auto_compact=True))
        return json.dumps(doc, ensure_ascii=False, indent=1).encode()
    return graph.serialize(format="turtle").encode()
