"""The schools demo in a store, and its live feed: emonTx-like nodes posting every 10 seconds to regie's own
emoncms API (``/input/bulk``) while the demo runs.

Why through the API and not straight into the store: the demo then exercises the path a real sensor takes
(API key, parsing, the one writer, ``input_map`` last values) and the live view sees exactly what it would
see in Lorient. Each school's node posts ``power`` (and the PV roof's node too); the inputs are bound
beforehand to the 10-second *live twin* series (``live-<series>``) so they count in the live view.

The values replayed are the demo's own 10-second weeks, looped week by week on the current time (the
recorded weeks start on a local midnight and last whole weeks, so weekdays and hours line up).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from regie.demo.schools import FAST_STEP_S, SchoolsData
from regie.store import Store
from regie.store.schema import input_map, series

log = logging.getLogger(__name__)
TEMPERATURE = "temp-lorient"


def node_of(series_id: str) -> str:
    """The emoncms node posting a live series: ``live-cons-ecole-merville`` → ``merville``."""
    base = series_id.removeprefix("live-").removeprefix("cons-").removeprefix("prod-")
    return base.removeprefix("ecole-").replace("pv-ecole-", "pv-")


def install_schools(store: Store, data: SchoolsData, progress: Callable[[int], None] | None = None) -> int:
    """Save the inventory and every reading (two years hourly, the last weeks at 10 s); returns points."""
    store.save_inventory(data.inventory)
    points = 0
    for batch in data.readings():
        points += store.write([batch])
        if progress:
            progress(1)
    bind_inputs(store, {(node_of(sid), "power"): sid for sid in data.fast})
    return points


def bind_inputs(store: Store, bindings: Mapping[tuple[str, str], str]) -> None:
    """Bind emoncms inputs (node, name) to existing series before their first post (what an admin's re-map
    does afterwards), so their readings land in those series from the start."""
    with store.engine.execution_options(writer=True).begin() as conn:
        rows = {r.key: r.id for r in conn.execute(select(series.c.key, series.c.id))}
        known = {(r.node, r.name) for r in conn.execute(select(input_map.c.node, input_map.c.name))}
        for (node, name), key in bindings.items():
            if (node, name) not in known:
                conn.execute(insert(input_map).values(node=node, name=name, series_id=rows[key],
                                                      created_at=int(time.time())))  # fmt: skip


def savings_presets(data: SchoolsData) -> list[dict[str, Any]]:
    """The renovated school's IPMVP project: baseline up to the works, reporting from their end."""
    zone = data.hourly.inventory.territory.zone
    start = datetime.fromtimestamp(int(data.hourly.t[0]), zone).date()
    last = datetime.fromtimestamp(int(data.hourly.t[-1]), zone).date()
    works_start, works_end = data.works
    return [{
        "name": "Groupe scolaire de Merville", "series": "cons-ecole-merville", "temperature": TEMPERATURE,
        "baseline_start": start.isoformat(), "baseline_end": (works_start - timedelta(days=1)).isoformat(),
        "reporting_start": works_end.isoformat(), "reporting_end": last.isoformat(),
    }]  # fmt: skip


class LiveFeed:
    """A background thread posting each school's current power every ``interval`` seconds to ``/input/bulk``.

    Stops with :meth:`stop`. Connection errors (the server not up yet, a restart) are logged and retried at
    the next tick; ``posted`` counts the successful posts.
    """

    def __init__(self, base_url: str, api_key: str, data: SchoolsData, *, interval: float = FAST_STEP_S,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.url = base_url.rstrip("/") + "/input/bulk"
        self.api_key = api_key
        self.interval = interval
        self.clock = clock
        self.t0 = int(data.fast_t[0]) if len(data.fast_t) else 0
        self.values = {sid: np.asarray(v) for sid, v in data.fast.items()}
        self.n = len(data.fast_t)
        self.posted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="regie-schools-live-feed", daemon=True)

    def readings(self, t: int) -> list[list[Any]]:
        """The emoncms bulk frames for instant ``t`` [UTC s]: ``[[t, node, {"power": W}], ...]``."""
        if not self.n:
            return []
        i = ((t - self.t0) // FAST_STEP_S) % self.n
        return [[t, node_of(sid), {"power": float(v[i])}] for sid, v in self.values.items()]

    def post(self, t: int | None = None) -> None:
        at = int(self.clock() if t is None else t)
        # time=0: each frame's first item is an absolute instant (emoncms: t = time + item[0])
        body = urllib.parse.urlencode({"data": json.dumps(self.readings(at)), "time": "0"}).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Authorization": f"Bearer {self.api_key}"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as resp:  # our own server
            answer = resp.read().decode()
        if answer.strip() != "ok":
            raise RuntimeError(f"the emoncms API answered {answer[:200]!r}")
        self.posted += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.post()
            except Exception as exc:  # keep feeding: the server may not be up yet
                log.info("live feed: %s", exc)
            self._stop.wait(self.interval)

    def start(self) -> LiveFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
