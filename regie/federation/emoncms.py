"""emoncms in the federation: pull a feed from, and push open series to, an emoncms server through its own
HTTP API, so that an emoncms installation (the schools' tool) takes part without any change.

The mapping (emoncms's API as its own documentation and source state it, the same rules regie's
emoncms-compatible routes follow: :mod:`regie.web.emoncms`, :mod:`regie.ingest.emoncms_input`):

==========================  ===================================================================================
emoncms                      regie
==========================  ===================================================================================
feed (``/feed/list.json``)   a series; the admin names which feed id fills which series id (``--feed``,
                             ``--series``); the feed's ``unit`` must be the series' unit
``/feed/data.json``          ``id``, ``start`` and ``end`` in **milliseconds**, ``interval`` in seconds;
                             answers ``[[t_ms, value], ...]`` with ``null`` for a missing value: each pair
                             becomes a reading at ``t_ms // 1000`` (nulls are skipped), written through
                             :mod:`regie.governance.writes` as the caller (logged, refused if not allowed)
node / input                 pushing: a node (``--node``, e.g. ``regie``) and one input per series, named by
                             the series id
``/input/bulk.json``         ``data=[[t, node, {"<series id>": value}], ...]&time=0``: with ``time=0`` each
                             row's time is absolute unix seconds (``InputMethods::bulk``); emoncms answers
                             ``ok``
``apikey``                   the emoncms account's read key (pull) or write key (push), given by the admin,
                             sent as a query parameter as emoncms expects; never logged nor stored here
==========================  ===================================================================================

What leaves for an emoncms server: only series that describe no one (:func:`regie.governance.gate.read_open`:
a plant, a school building whose delivery points no member holds, the weather). emoncms has no consent
grants nor signatures: personal data never goes there. Tests replay recorded exchanges
(``tests/federation/data/emoncms_exchanges.json``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from regie.governance import gate, writes
from regie.model import Readings
from regie.store import Store

TIMEOUT = 30.0
MAX_ROWS = 5000  # rows per /input/bulk.json request


class EmoncmsError(RuntimeError):
    """The emoncms server could not be reached or answered an error (its text is kept)."""


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            return resp.read()
    except (urllib.error.URLError, OSError) as exc:
        raise EmoncmsError(f"{url.split('?')[0]}: {getattr(exc, 'reason', exc)}") from None


def feed_list(server: str, apikey: str) -> list[dict]:
    """The feeds of the emoncms account (id, name, tag, unit...)."""
    got = json.loads(_get(f"{server.rstrip('/')}/feed/list.json?" + urllib.parse.urlencode({"apikey": apikey})))
    if not isinstance(got, list):
        raise EmoncmsError(f"feed/list.json answered {str(got)[:200]}")
    return got


def pull(store: Store, writer: writes.Writer, server: str, apikey: str, *, feed_id: int, series_id: str,
         start: int, end: int, interval: int) -> int:  # fmt: skip
    """Copy a feed's values over [start, end) into a series; returns the readings written."""
    query = urllib.parse.urlencode({"id": feed_id, "start": start * 1000, "end": end * 1000, "interval": interval,
                                    "apikey": apikey})  # fmt: skip
    got = json.loads(_get(f"{server.rstrip('/')}/feed/data.json?{query}"))
    if not isinstance(got, list):
        raise EmoncmsError(f"feed/data.json answered {str(got)[:200]}")
    pairs = [(int(t) // 1000, float(v)) for t, v in got if v is not None]
    if not pairs:
        return 0
    t = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.float64)
    s = store.series(series_id)
    guard = writes.guard(store, writer, "federation/emoncms-pull", f"{server.split('//')[-1]} feed {feed_id}")

    def write() -> int:
        guard.check(s, int(t.min()), int(t.max()))
        return store.write([Readings(series_id, t, v)])

    n = writes.run(guard, write)
    return n


def push(store: Store, server: str, apikey: str, *, node: str, series_ids: list[str], start: int, end: int) -> int:
    """Send open series' points over [start, end) to emoncms inputs ``<node>/<series id>``; returns the rows."""
    rows: list[list] = []
    for sid in series_ids:
        t, v = gate.read_open(store, sid, start, end)  # refuses a personal series
        rows += [[int(ti), node, {sid: float(vi)}] for ti, vi in zip(t, v, strict=True) if np.isfinite(vi)]
    rows.sort(key=lambda r: r[0])
    for i in range(0, len(rows), MAX_ROWS):
        body = urllib.parse.urlencode({"data": json.dumps(rows[i : i + MAX_ROWS], separators=(",", ":")),
                                       "time": 0}).encode()  # fmt: skip
        url = f"{server.rstrip('/')}/input/bulk.json?" + urllib.parse.urlencode({"apikey": apikey})
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                answer = resp.read().decode("utf-8", "replace").strip()
        except (urllib.error.URLError, OSError) as exc:
            raise EmoncmsError(f"{server}: {getattr(exc, 'reason', exc)}") from None
        if answer.strip('"') != "ok":
            raise EmoncmsError(f"input/bulk.json answered {answer[:200]}")
    return len(rows)
