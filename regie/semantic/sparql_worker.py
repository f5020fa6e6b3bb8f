"""The process that runs SPARQL queries (pyoxigraph), so that a query over its time limit can be stopped.

A Python thread cannot be interrupted in the middle of a native call, and pyoxigraph has no timeout: the
endpoint (:mod:`regie.semantic.sparql`) runs queries here, in a child process it kills when the time is up,
with an address-space limit (``RLIMIT_AS``) so that a query cannot take the server's memory either. This
module imports nothing of regie: the child starts in a fraction of a second.

Messages (over a :class:`multiprocessing.connection.Connection`):
``("load", ntriples_bytes)`` → ``("ok", triples)``;
``("query", text, format, max_rows)`` → ``("ok", body_bytes, media_type, rows)`` or ``("error", kind, why)``
with ``kind`` ``syntax`` (a malformed query), ``too_many`` (over ``max_rows``) or ``failed``.
"""

from __future__ import annotations

import csv
import io
import json
import resource
from itertools import islice
from xml.sax.saxutils import escape, quoteattr

#: Result formats of SELECT and ASK (SPARQL 1.1 Query Results JSON, XML, CSV and TSV).
MEDIA = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
}


def _json_term(term) -> dict:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def _xml_term(term) -> str:
    t = _json_term(term)
    if t["type"] == "uri":
        return f"<uri>{escape(t['value'])}</uri>"
    if t["type"] == "bnode":
        return f"<bnode>{escape(t['value'])}</bnode>"
    attrs = f" xml:lang={quoteattr(t['xml:lang'])}" if "xml:lang" in t else ""
    attrs += f" datatype={quoteattr(t['datatype'])}" if "datatype" in t else ""
    return f"<literal{attrs}>{escape(t['value'])}</literal>"


def serialize_select(names: list[str], rows: list[list], fmt: str) -> bytes:
    """SELECT results in one of the four formats (rows: terms or None per variable, in ``names`` order)."""
    if fmt == "json":
        bindings = [{n: _json_term(v) for n, v in zip(names, row, strict=True) if v is not None} for row in rows]
        return json.dumps({"head": {"vars": names}, "results": {"bindings": bindings}}).encode()
    if fmt == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        out += [f"<variable name={quoteattr(n)}/>" for n in names]
        out.append("</head><results>")
        for row in rows:
            out.append("<result>")
            out += [f"<binding name={quoteattr(n)}>{_xml_term(v)}</binding>"
                    for n, v in zip(names, row, strict=True) if v is not None]  # fmt: skip
            out.append("</result>")
        out.append("</results></sparql>\n")
        return "".join(out).encode()
    if fmt == "csv":  # RFC 4180, CRLF; plain lexical forms (SPARQL 1.1 Query Results CSV and TSV §2)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(names)
        for row in rows:
            w.writerow(["" if v is None else (f"_:{v.value}" if _json_term(v)["type"] == "bnode" else v.value)
                        for v in row])  # fmt: skip
        return buf.getvalue().encode()
    # TSV: terms as in Turtle / N-Triples
    lines = ["\t".join(f"?{n}" for n in names)]
    lines += ["\t".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def serialize_boolean(value: bool, fmt: str) -> tuple[bytes, str]:
    if fmt == "xml":
        body = '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
        return (body + f"<boolean>{str(value).lower()}</boolean></sparql>\n").encode(), MEDIA["xml"]
    return json.dumps({"head": {}, "boolean": value}).encode(), MEDIA["json"]


def run(store, text: str, fmt: str, max_rows: int) -> tuple:
    """One query against ``store``: the message to send back (see the module docstring)."""
    import pyoxigraph as ox

    try:
        result = store.query(text)
    except SyntaxError as exc:
        return ("error", "syntax", str(exc))
    except Exception as exc:  # an evaluation error: say what it was
        return ("error", "failed", f"{type(exc).__name__}: {exc}")
    if isinstance(result, ox.QueryBoolean):
        body, media = serialize_boolean(bool(result), fmt)
        return ("ok", body, media, 1)
    rows = list(islice(result, max_rows + 1))
    if len(rows) > max_rows:
        return ("error", "too_many", f"the query gives more than {max_rows} results: add a LIMIT or aggregate")
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        table = [[sol[n] for n in names] for sol in rows]
        return ("ok", serialize_select(names, table, fmt), MEDIA[fmt], len(rows))
    rdf = ox.RdfFormat.N_TRIPLES if fmt == "ntriples" else ox.RdfFormat.TURTLE
    body = ox.serialize(rows, format=rdf)
    return ("ok", body, MEDIA["ntriples" if fmt == "ntriples" else "turtle"], len(rows))


def serve(conn, memory_bytes: int) -> None:
    """The child's loop: load the graph, answer queries, until the pipe closes."""
    import pyoxigraph as ox

    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    store = ox.Store()
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "load":
            store = ox.Store()
            store.bulk_load(msg[1], format=ox.RdfFormat.N_TRIPLES)
            conn.send(("ok", len(store)))
        elif msg[0] == "query":
            try:
                conn.send(run(store, msg[1], msg[2], msg[3]))
            except MemoryError:
                conn.send(("error", "failed", "the query needs more memory than the endpoint allows"))
