"""emoncms inputs → series, through one writer.

**Mapping.** emoncms creates an input the first time a (node, name) pair posts (``process_node`` in
``Modules/input/input_methods.php``); regie does the same and binds the pair to a new series
``emon-<node>-<name>`` in the ``input_map`` table, with a unit guessed from the name (``power1`` → W,
``temp`` → degC, ``vrms`` → V, ``kwh`` → Wh ×1000, ...; :func:`guess_unit`). An admin may re-map the pair
to any other series (:meth:`InputService.remap`). Readings that cannot be placed — no territory to
create series in yet, an instant outside 1970–2100 or too far in the future — go to quarantine with the
reason, never silently dropped.

**Which territory.** A new input's series goes in the territory of the one who posted it, when that one is
tied to a territory (the guard's ``home()``: a sensor key's site's — its node names the site —, a member's
own, an admin's or régie operator's of one territory); else, in the store's only territory. When the store
holds several and nothing ties the key to one (an admin of every territory, a machine key, MQTT), the
readings wait in quarantine, in no territory's (an admin of every territory sees them), with the reason
:data:`UNTIED`: the store's first territory is never guessed.

**A site's sensors.** An emoncms input belongs to a user (``input`` rows carry ``userid``); regie's
counterpart is the site a sensor key is bound to (:mod:`regie.ingest.apikeys`). What such a key posts is
mapped under the node ``<site>:<node>`` (:func:`site_node`; emoncms strips ``:`` from node names, so it cannot
clash with a plain node) and becomes, on first sight, a series ``<site>-<node>-<input>`` *of that site*
(``series.site_id``): two houses' emonPis both called ``emonpi`` stay apart, and each house's holder reads
their own sensors (:func:`regie.governance.gate.personal_prms`).

**One writer.** Every request and MQTT message hands its samples to :meth:`InputService.submit`; one
thread takes whatever has queued up and writes it in a *single* transaction (series creation, points,
rollups, quarantine, last values), then resolves each request's future. Home Assistant's recorder
(``recorder/core.py`` queue + ``tasks.py``) and Datasette's ``execute_write_fn`` work the same way: the
store's write path re-reads and re-encodes the touched chunks and rollups once per transaction, so ten
requests coalesced cost little more than one. A caller's reply (``ok``, an MQTT PUBACK) is sent only
once its future is resolved, i.e. after the commit. If a coalesced transaction fails, each request is
retried alone, so one bad request cannot fail its neighbours and each stays atomic.

**Who may write.** A request comes with a guard (:class:`regie.ingest.importer.SeriesGuard`, in practice
:class:`regie.governance.writes.WriteGuard`), asked inside the transaction for every series a request
writes or creates: a refusal fails that request alone (the retry above), and nothing of it is written.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from regie.ingest.emoncms_input import Samples
from regie.ingest.importer import SeriesGuard
from regie.model import IntervalConvention, Readings, Series, SeriesKind
from regie.store import Store
from regie.store import quarantine as quarantine_table
from regie.store.schema import input_map, series, site, territory
from regie.store.store import Transaction
from regie.store.timeseries import T_MAX, T_MIN

log = logging.getLogger(__name__)


def N_(message: str) -> str:  # marks a message for the catalogues (the quarantine page translates the reason)
    return message


#: Why a new input posted by a key tied to no territory waits in quarantine on a store of several.
UNTIED = N_(
    "this store holds several territories and the key that posted this input is tied to none: bind the key to a "
    "site (regie key add --site) or to an account of one territory, then release these readings to a series"
)
NO_TERRITORY = N_("no territory in this store to create the input's series in")
MAX_FUTURE_S = 2 * 86400  # a reading stamped later than now + 2 days is quarantined, not stored
MAX_BATCH_POINTS = 500_000  # one transaction holds at most about this many points
MAX_BATCH_JOBS = 256

# (pattern on the lower-cased input name, unit, resolution, factor, kind). First match wins.
_UNIT_RULES: list[tuple[re.Pattern[str], str, float, float, SeriesKind]] = [
    (re.compile(r"kwh"), "Wh", 1.0, 1000.0, SeriesKind.SENSOR),
    (re.compile(r"wh|energy|^e\d*$"), "Wh", 1.0, 1.0, SeriesKind.SENSOR),
    (re.compile(r"temp|^t\d+$|degc"), "degC", 0.01, 1.0, SeriesKind.TEMPERATURE),
    (re.compile(r"vrms|volt|^v\d*$"), "V", 0.01, 1.0, SeriesKind.SENSOR),
    (re.compile(r"irms|current|amp|^i\d*$"), "A", 0.001, 1.0, SeriesKind.SENSOR),
    (re.compile(r"^va|apparent"), "VA", 0.1, 1.0, SeriesKind.SENSOR),
    (re.compile(r"humid|^rh\d*$|percent|pct|soc"), "%", 0.1, 1.0, SeriesKind.SENSOR),
    (re.compile(r"pow|watt|^p\d*$|^ct\d*$|import|export|grid|use"), "W", 0.1, 1.0, SeriesKind.SENSOR),
]
_DIMENSIONLESS = ("", 0.001, 1.0, SeriesKind.SENSOR)


def guess_unit(name: str) -> tuple[str, float, float, SeriesKind]:
    """(unit, resolution, factor to that unit, kind) for an input name; an admin may correct it later.

    Kinds stay ``sensor`` (temperature excepted): whether ``power1`` is a house's load or a PV inverter is
    the admin's to say, and a sensor is never counted in the territory balance by accident."""
    low = name.lower()
    for pattern, unit, resolution, factor, kind in _UNIT_RULES:
        if pattern.search(low):
            return unit, resolution, factor, kind
    return _DIMENSIONLESS


SITE_SEP = ":"  # never in an emoncms node name (``clean_node``), so ``<site>:<node>`` is unambiguous


def site_node(site_id: str, node: str) -> str:
    """The node under which a site's sensor key posts ``node``."""
    return f"{site_id}{SITE_SEP}{node}"


def split_node(node: str) -> tuple[str | None, str]:
    """(site, node as the device named it) of a mapped node; no site for a plain node."""
    site_id, sep, bare = node.partition(SITE_SEP)
    return (site_id, bare) if sep else (None, node)


def for_site(samples: Samples, site_id: str | None) -> Samples:
    """A sensor key's samples under its site's nodes (as is without a site)."""
    if site_id is None:
        return samples
    return {(site_node(site_id, node), name): tv for (node, name), tv in samples.items()}


def series_key_for(node: str, name: str) -> str:
    """``emon-<node>-<name>`` (``<site>-<node>-<name>`` for a site's sensor) reduced to the characters a
    series id may hold."""
    site_id, bare = split_node(node)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{site_id or 'emon'}-{bare}-{name}").strip("_")
    return slug[:120] or "emon"


@dataclass(frozen=True, slots=True)
class InputMapping:
    """An emoncms input and the series its readings go to. ``factor`` converts to the series' unit."""

    id: int
    node: str
    name: str
    series_key: str
    series_row: int
    unit: str
    factor: float = 1.0


@dataclass(frozen=True, slots=True)
class IngestResult:
    points: int  # readings handed to the store
    quarantined: int


@dataclass(slots=True)
class _Job:
    samples: Samples
    source: str
    origin: str
    guard: SeriesGuard | None = None
    future: Future = field(default_factory=Future)

    @property
    def points(self) -> int:
        return sum(len(t) for t, _ in self.samples.values())


_STOP = object()


class InputService:
    """Maps inputs to series and owns the one writer thread. ``clock`` is injectable for tests."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        max_future_s: int = MAX_FUTURE_S,
        max_batch_points: int = MAX_BATCH_POINTS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_future_s = max_future_s
        self.max_batch_points = max_batch_points
        self._maps: dict[tuple[str, str], InputMapping] = {}
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.commits = 0  # transactions committed (for the benchmark: requests per transaction)
        self.jobs_done = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> InputService:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="regie-input-writer", daemon=True)
                self._thread.start()
        return self

    def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def __enter__(self) -> InputService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writing
    def submit(self, samples: Samples, *, source: str, origin: str = "", guard: SeriesGuard | None = None) -> Future:
        """Queue samples for the writer; the future resolves to an :class:`IngestResult` after commit, or to
        the guard's ``PermissionError`` (nothing of the request written)."""
        job = _Job(samples, source, origin, guard)
        if not samples:
            job.future.set_result(IngestResult(0, 0))
            return job.future
        if self._thread is None:
            self.start()
        self._queue.put(job)
        return job.future

    def ingest(
        self, samples: Samples, *, source: str, origin: str = "", timeout: float | None = None,
        guard: SeriesGuard | None = None,
    ) -> IngestResult:  # fmt: skip
        """Submit and wait for the commit."""
        return self.submit(samples, source=source, origin=origin, guard=guard).result(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            jobs, points = [first], first.points
            while points < self.max_batch_points and len(jobs) < MAX_BATCH_JOBS:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                jobs.append(nxt)
                points += nxt.points
            self._write_jobs(jobs)

    def _write_jobs(self, jobs: list[_Job]) -> None:
        try:
            results = self._commit(jobs)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            for job in jobs:  # retry alone: each request stays atomic and a bad one fails only itself
                try:
                    job.future.set_result(self._commit([job])[0])
                except Exception as single:
                    job.future.set_exception(single)
            return
        for job, result in zip(jobs, results, strict=True):
            job.future.set_result(result)

    def _commit(self, jobs: list[_Job]) -> list[IngestResult]:
        now = int(self.clock())
        pairs = {p for job in jobs for p in job.samples}
        new_maps: dict[tuple[str, str], InputMapping] = {}
        guards = {}
        for job in jobs:
            for p in job.samples:
                guards.setdefault(p, job.guard)
        with self.store.transaction() as tx:
            conn = tx.conn
            unplaced: dict[tuple[str, str], str] = {}
            maps = self._resolve(tx, pairs, new_maps, guards, unplaced)
            batches: list[Readings] = []
            held: list[quarantine_table.QuarantinedReading] = []
            last: dict[int, tuple[int, float]] = {}
            results = []
            for job in jobs:
                n_points = n_held = 0
                for pair, (t, v) in job.samples.items():
                    key = f"{pair[0]}/{pair[1]}"
                    m = maps.get(pair)
                    if m is None:
                        held += _hold(job, key, t, v, unplaced.get(pair) or _unplaced(pair[0]))
                        n_held += len(t)
                        continue
                    bad = (t < T_MIN) | (t >= T_MAX) | (t > now + self.max_future_s)
                    if bad.any():
                        why = f"instant outside 1970-2100 or after now + {self.max_future_s} s"
                        held += _hold(job, key, t[bad], v[bad], why)
                        n_held += int(bad.sum())
                        t, v = t[~bad], v[~bad]
                    if job.guard is not None and len(t):
                        job.guard.node(split_node(pair[0])[1])
                        target = tx.series(m.series_key)
                        if target is not None:
                            job.guard.check(target, int(t.min()), int(t.max()))
                    if m.factor != 1.0:
                        v = v * m.factor
                    if len(t):
                        batches.append(Readings(m.series_key, t, v))
                        n_points += len(t)
                        finite = np.flatnonzero(np.isfinite(v))
                        if len(finite):
                            i = finite[np.argmax(t[finite])]
                            if m.id not in last or last[m.id][0] <= int(t[i]):
                                last[m.id] = (int(t[i]), float(v[i]))
                results.append(IngestResult(n_points, n_held))
            tx.write(batches)
            if held:
                tx.quarantine(held)
            if last:
                conn.execute(
                    update(input_map)
                    .where(
                        and_(
                            input_map.c.id == bindparam("mid"),
                            or_(input_map.c.last_time.is_(None), input_map.c.last_time <= bindparam("lt")),
                        )
                    )
                    .values(last_time=bindparam("lt"), last_value=bindparam("lv")),
                    [{"mid": k, "lt": t, "lv": v} for k, (t, v) in last.items()],
                )
        # Committed: only now does the cache learn about what this transaction created.
        self._maps.update(new_maps)
        self.commits += 1
        self.jobs_done += len(jobs)
        return results

    # ------------------------------------------------------------ mapping
    def _home(self, conn: Connection, guard: SeriesGuard | None) -> tuple[str | None, str]:
        """The territory a new input without a site goes in (see the module docstring), or None and why not."""
        home = getattr(guard, "home", None)  # WriteGuard.home: the poster's own territory, when it has one
        tied = home() if callable(home) else None
        if tied is not None:
            return tied, ""
        ids = conn.execute(select(territory.c.id).order_by(territory.c.id).limit(2)).scalars().all()
        if len(ids) == 1:
            return ids[0], ""
        return None, UNTIED if ids else NO_TERRITORY

    def _load_maps(self, conn: Connection) -> dict[tuple[str, str], InputMapping]:
        q = select(
            input_map.c.id, input_map.c.node, input_map.c.name, series.c.id.label("row"), series.c.key, series.c.unit
        ).join(series, series.c.id == input_map.c.series_id)
        out = {}
        for r in conn.execute(q):
            factor = guess_unit(r.name)[2] if r.unit == guess_unit(r.name)[0] else 1.0
            out[(r.node, r.name)] = InputMapping(r.id, r.node, r.name, r.key, r.row, r.unit, factor)
        return out

    def _resolve(
        self, tx: Transaction, pairs: set[tuple[str, str]], new_maps: dict[tuple[str, str], InputMapping],
        guards: dict[tuple[str, str], SeriesGuard | None], unplaced: dict[tuple[str, str], str],
    ) -> dict[tuple[str, str], InputMapping | None]:  # fmt: skip
        """The mapping of each pair, created for a new one where its territory is known; ``unplaced`` gets why
        a pair without a site has none."""
        maps: dict[tuple[str, str], InputMapping | None] = {p: self._maps.get(p) for p in pairs}
        missing = [p for p, m in maps.items() if m is None]
        if not missing:
            return maps
        stored = self._load_maps(tx.conn)  # another process (or an admin) may have created them
        self._maps.update(stored)
        for p in missing:
            if p in stored:
                maps[p] = stored[p]
                continue
            site_id = split_node(p[0])[0]
            if site_id is not None:  # a site's sensor: its series goes in the site's territory
                territory_id = tx.conn.execute(select(site.c.territory_id).where(site.c.id == site_id)).scalar()
                if territory_id is None or len(p[0]) > input_map.c.node.type.length:
                    continue
            else:
                territory_id, why = self._home(tx.conn, guards.get(p))
                if territory_id is None:
                    unplaced[p] = why
                    continue
            maps[p] = new_maps[p] = self._create(tx, p, territory_id, guards.get(p))
        return maps

    def _create(
        self, tx: Transaction, pair: tuple[str, str], territory_id: str, guard: SeriesGuard | None
    ) -> InputMapping:
        node, name = pair
        if guard is not None:
            guard.territory(territory_id, f"input {node}/{name}")
        unit, resolution, factor, kind = guess_unit(name)
        base = series_key_for(node, name)
        key, i = base, 1
        while tx.series(key) is not None:
            i += 1
            key = f"{base}-{i}"
        site_id, bare = split_node(node)
        # emoncms inputs are instantaneous samples, irregularly spaced: no fixed step
        s = Series(key, kind, unit, None, IntervalConvention.INSTANT, resolution, name=f"{bare}/{name}"[:200],
                   site_id=site_id)  # fmt: skip
        if guard is not None:
            guard.node(bare)
            s = guard.new_series(s)  # a member's input goes on their site, a sensor key's on its site
        tx.add_series(territory_id, [s])
        row = tx.conn.execute(select(series.c.id).where(series.c.key == key)).scalar_one()
        map_id = tx.conn.execute(
            insert(input_map).values(node=node, name=name, series_id=row, created_at=int(self.clock()))
        ).inserted_primary_key[0]
        log.info("new emoncms input %s/%s → series %s (%s)", node, name, key, unit or "dimensionless")
        return InputMapping(int(map_id), node, name, key, int(row), unit, factor)

    def inputs(self, territory_id: str | None = None) -> list[dict]:
        """Every mapped input with its series and last value (the emoncms input list); with ``territory_id``,
        those whose series is in that territory (what its admin sees)."""
        q = select(
            input_map.c.id,
            input_map.c.node,
            input_map.c.name,
            input_map.c.last_time,
            input_map.c.last_value,
            series.c.id.label("feed_id"),
            series.c.key.label("series"),
            series.c.unit,
        ).join(series, series.c.id == input_map.c.series_id)
        if territory_id is not None:
            q = q.where(series.c.territory_id == territory_id)
        with self.store.engine.connect() as conn:
            return [r._asdict() for r in conn.execute(q.order_by(input_map.c.node, input_map.c.id))]

    def remap(self, node: str, name: str, series_key: str) -> None:
        """Bind an input to another (existing) series; readings from now on go there."""
        target = self.store.ref(series_key)
        with self.store.engine.execution_options(writer=True).begin() as conn:
            n = conn.execute(
                update(input_map)
                .where(input_map.c.node == node, input_map.c.name == name)
                .values(series_id=target.id, last_time=None, last_value=None)
            ).rowcount
        if not n:
            raise KeyError(f"no emoncms input {node}/{name}")
        self._maps.pop((node, name), None)


def _unplaced(node: str) -> str:
    """Why a new input's readings could not get a series (they wait in quarantine)."""
    site_id = split_node(node)[0]
    if site_id is None:
        return NO_TERRITORY
    if len(node) > input_map.c.node.type.length:
        return f"site and node name together are longer than {input_map.c.node.type.length} characters"
    return f"site {site_id} is not declared (any more): declare it, then release these readings"


def _hold(job: _Job, key: str, t: np.ndarray, v: np.ndarray, reason: str) -> list[quarantine_table.QuarantinedReading]:
    return [
        quarantine_table.QuarantinedReading(
            job.source, key, int(ti), None if math.isnan(vi) else float(vi), reason, origin=job.origin[:300] or None
        )
        for ti, vi in zip(t.tolist(), v.tolist(), strict=True)
    ]


def feeds(store: Store, ids: list[int] | None = None) -> dict[int, Any]:
    """The feeds (series fed by an input) by series row id: id, key, unit, node, name, last time and value."""
    q = (
        select(
            series.c.id,
            series.c.key,
            series.c.unit,
            input_map.c.node,
            input_map.c.name,
            input_map.c.last_time,
            input_map.c.last_value,
        )
        .join(input_map, input_map.c.series_id == series.c.id)
        .order_by(series.c.id)
    )
    if ids is not None:
        q = q.where(series.c.id.in_(ids))
    with store.engine.connect() as conn:
        return {r.id: r for r in conn.execute(q)}


def site_inputs(store: Store, site_id: str) -> list[dict]:
    """The inputs whose series are on a site (its sensors), with the node as the device names it."""
    q = (
        select(
            input_map.c.node, input_map.c.name, input_map.c.last_time, input_map.c.last_value,
            series.c.key.label("series"), series.c.unit,
        )
        .join(series, series.c.id == input_map.c.series_id)
        .where(series.c.site_id == site_id)
        .order_by(input_map.c.node, input_map.c.id)
    )  # fmt: skip
    with store.engine.connect() as conn:
        return [{**r._asdict(), "device_node": split_node(r.node)[1]} for r in conn.execute(q)]


def territory_zone(store: Store, territory_id: str | None = None) -> ZoneInfo:
    """The zone of ``territory_id`` (a poster's own: ``WriteGuard.home()``), else of the store's first territory;
    UTC when there is none yet."""
    q = select(territory.c.timezone).order_by(territory.c.id)
    if territory_id is not None:
        q = q.where(territory.c.id == territory_id)
    with store.engine.connect() as conn:
        tz = conn.execute(q).scalar()
    return ZoneInfo(tz or "UTC")
