"""The SPARQL endpoint's engine: the public graph in pyoxigraph, in a child process with limits.

Why pyoxigraph: measured against rdflib's in-memory store on the demo's public graph (``bench/sparql.py``,
``bench/results/sparql.json``). Why a child process: a query over its time limit is stopped by killing the
child (:mod:`regie.semantic.sparql_worker`), which is started again, with the graph, for the next query.
One query runs at a time; others wait at most the time limit for their turn, then are refused (busy).

The graph holds only what :mod:`regie.semantic.graph` builds: public resources and published aggregates —
no personal value, no delivery point number, no name of a private person.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import dataclass

from regie.semantic import sparql_worker

#: Result formats by media type (SPARQL 1.1 Protocol §2.1, Query Results JSON / XML / CSV / TSV), then RDF.
ACCEPT = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
}


class QueryRefused(Exception):
    """A query the endpoint will not answer: ``status`` is the HTTP status to give, ``str()`` says why."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    media_type: str
    rows: int


def result_format(accept: str | None) -> str:
    """The result format asked for in an ``Accept`` header (first listed that we serve; JSON by default)."""
    ranked = []
    for i, part in enumerate((accept or "").split(",")):
        media, *params = (x.strip() for x in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, media.lower()))
    for _, _, media in sorted(ranked):
        if media in ACCEPT:
            return ACCEPT[media]
    return "json"


class Endpoint:
    """Runs queries over one graph (given as N-Triples) in a child process, within limits."""

    def __init__(self, timeout_s: float = 5.0, max_rows: int = 10_000, memory_mb: int = 2048) -> None:
        self.timeout_s, self.max_rows, self.memory = timeout_s, max_rows, memory_mb * 1024 * 1024
        self._lock = threading.Lock()
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn = None
        self._loaded: object = None
        self._data: bytes = b""
        self._data_key: object = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=sparql_worker.serve, args=(child, self.memory), daemon=True,
                                 name="regie-sparql")  # fmt: skip
        self._proc.start()
        child.close()
        self._conn = parent
        self._loaded = None

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        self._loaded = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _call(self, msg: tuple, timeout: float) -> tuple:
        assert self._conn is not None
        self._conn.send(msg)
        if not self._conn.poll(timeout):
            self._stop()  # over the time limit: the child is killed, a new one starts for the next query
            raise QueryRefused(503, f"the query took longer than {self.timeout_s:g} s and was stopped")
        return self._conn.recv()

    def query(self, text: str, fmt: str, graph_key: object, ntriples: Callable[[], bytes]) -> Answer:
        """Answer ``text`` in ``fmt`` over the graph ``graph_key`` (``ntriples()`` gives it, called when new)."""
        if not self._lock.acquire(timeout=self.timeout_s):
            raise QueryRefused(503, "the endpoint is busy with another query: try again in a few seconds")
        try:
            if self._proc is None or not self._proc.is_alive():
                self._stop()
                self._start()
            if self._loaded != graph_key:
                if self._data_key != graph_key:
                    self._data, self._data_key = ntriples(), graph_key
                self._call(("load", self._data), 120.0)
                self._loaded = graph_key
            reply = self._call(("query", text, fmt, self.max_rows), self.timeout_s)
        finally:
            self._lock.release()
        if reply[0] == "ok":
            return Answer(reply[1], reply[2], reply[3])
        kind, why = reply[1], reply[2]
        raise QueryRefused(400 if kind == "syntax" else 413 if kind == "too_many" else 500, why)
