"""The territory balance as the public sees it: on the territory page, ``/api/balance`` and the monthly report.

Every figure shown is a sum of *published base cells* (one per metering step) read from the ledger
(:mod:`regie.publication.ledger`): consumption, and production of every source held by a person (rooftop
PV). A coarser period (an hour, a day, a month, any window ``/api/balance`` is asked for) is the sum of its
base cells and is shown only when all of them are (:func:`regie.publication.masking.mask_balance`). So any
two publications — two windows, two granularities, before and after a change — differ by a combination of
published cells, and a published cell changes only by a revision the rule over time allowed
(:mod:`regie.publication.rule`). Production of plants held by the régie or public bodies describes no one
and is read as it is (:func:`regie.governance.gate.read_open`).

The publication is brought up to date once per process and state of the store (:func:`publication`): the
first request after a write, an erasure or a correction pays for reading every point through the gate; the
next ones only slice arrays.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from regie.governance import secrecy, territories
from regie.model import Inventory, SeriesKind, Step
from regie.publication import contributions as contrib
from regie.publication import ledger
from regie.publication.masking import StepScreen, Verdict, mask_balance, production_verdicts
from regie.services.balance import BalanceGrid, balance_figures, balance_grid, base_step
from regie.store import Store
from regie.store import published as cells

CONSUMPTION = "consumption"
#: Production of a source held by persons: at least 10 plants reporting in each step (the count rule, as for
#: the source as a whole); no dominance test — a village's solar park next to its rooftops is the régie's
#: own published plant, and the rule over time (:mod:`regie.publication.rule`) still applies to revisions.
PRODUCTION_RULE = secrecy.SecrecyRule(max_share=1.0)
_LOCK = threading.RLock()  # re-entrant: a write made while publishing notifies us


@dataclass(frozen=True, slots=True)
class Publication:
    """Everything published about the territory's balance over its data period, on the metering grid."""

    a: int
    b: int
    base: int
    consumption: ledger.Figure
    production: dict[str, np.ndarray]  # per source that may be shown: W per base step, NaN where hidden
    personal_sources: dict[str, ledger.Figure]
    verdicts: list[Verdict]


@dataclass
class _State:
    key: tuple[Any, ...]  # what of the inventory the publication depends on
    fingerprint: tuple[int, ...]  # the stored readings it was computed from (regie.store.published.fingerprint)
    checked: float  # when the fingerprint was last compared with the store's (time.monotonic)
    publication: Publication | None
    bases: dict[str, ledger.Basis]
    #: Each point's contribution now, per figure (consumption, a personal source, ``open:<source>``), over the
    #: publication's period: what an incremental refresh keeps for the points a write did not touch.
    current: dict[str, contrib.Contributions] = field(default_factory=dict)
    dirty: bool = False  # a change the incremental refresh could not take (an erasure): recompute on next use


#: Per store, per territory id.
_STATES: weakref.WeakKeyDictionary[Store, dict[str, _State]] = weakref.WeakKeyDictionary()


def figure_prefix(store: Store, territory_id: str | None) -> str:
    """What the names of a territory's published figures start with: nothing for the territory whose data came
    first (:func:`regie.governance.territories.first_with_data`: the figures a one-territory store always had,
    and it stays so when territories are added), ``<id>/`` for any other, so that two territories of one store
    never share a published cell."""
    first = territories.first_with_data(store)
    if territory_id is None or first is None or territory_id == first:
        return ""
    return f"{territory_id}/"


def _period(store: Store, base: int) -> tuple[int, int] | None:
    p = store.data_period()
    if p is None:
        return None
    a, last = (int(d.timestamp()) for d in p)
    return a - a % base, last - last % base + base


def _compute(store: Store, inv: Inventory, bases: dict[str, ledger.Basis], prefix: str = "",
             current: dict[str, contrib.Contributions] | None = None) -> Publication | None:
    consumers = [s for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.unit == "W"]
    production = [s for s in inv.series if s.kind is SeriesKind.PRODUCTION and s.unit == "W"]
    base = base_step(consumers + production)
    period = _period(store, base)
    if period is None:
        return None
    a, b = period
    current = {} if current is None else current
    current.clear()
    c = current[CONSUMPTION] = contrib.read(store, consumers, a, b, base)
    consumption, bases[CONSUMPTION] = ledger.publish(store, prefix + CONSUMPTION, base, a, c, c.nonzero,
                                                     bases.get(CONSUMPTION))  # fmt: skip
    verdicts = production_verdicts(inv)
    shown = {v.figure.split(":", 1)[1] for v in verdicts if v.figure.startswith("production:") and v.publishable}
    producers = {p.id: p.source.value for p in inv.producers}
    held_by_persons = _sources_held_by_persons(inv)
    by_source: dict[str, list] = {}
    for s in production:
        by_source.setdefault(producers.get(s.producer_id or "", "other"), []).append(s)
    out: dict[str, np.ndarray] = {}
    personal: dict[str, ledger.Figure] = {}
    for src, series in sorted(by_source.items()):
        if src not in shown:
            continue
        if src in held_by_persons:  # rooftops: personal data, frozen and versioned like consumption
            figure = f"production:{src}"
            p = current[figure] = contrib.read(store, series, a, b, base)
            fig, bases[figure] = ledger.publish(store, prefix + figure, base, a, p, p.seen_in, bases.get(figure),
                                                PRODUCTION_RULE)  # fmt: skip
            personal[src] = fig
            out[src] = fig.value
        else:
            current[f"open:{src}"] = contrib.read(store, series, a, b, base)
            out[src] = current[f"open:{src}"].total
    return Publication(a, b, base, consumption, out, personal, verdicts)


def _sources_held_by_persons(inv: Inventory) -> set[str]:
    """Sources with a plant whose delivery point a person holds now (the rule of
    :func:`regie.publication.masking.production_verdicts`): the others are published by their owners' choice."""
    persons = {p.id for p in inv.persons}
    held = {m.prm for m in inv.memberships if m.until is None and m.holder_id in persons}
    return {p.source.value for p in inv.producers if p.prm in held}


#: How often a page view compares the stored readings with the publication's [s]: changes made by this process
#: are taken when they are committed (:func:`_on_change`); this only catches another process's writes (a
#: ``regie import`` next to ``regie serve``), at the cost of one checksum of the stored chunks.
RECHECK_S = 10.0


def _inventory_key(inv: Inventory) -> tuple[Any, ...]:
    return (len(inv.series), len(inv.memberships), len(inv.producers), hash(tuple(inv.memberships)))


def publication(store: Store, territory_id: str | None = None) -> Publication | None:
    """The publication of a territory (default: the store's default one), brought up to date with the store if
    it changed since the last call (None while nothing is stored). Raises
    :class:`regie.services.balance.BalanceRequestError` when no load curve has a fixed step.

    A page view reads nothing when the publication is current: writes of this process bring it up to date when
    they are committed (:func:`_on_change`, for the periods they touched only); the stored readings are compared
    with it at most every :data:`RECHECK_S` seconds, for other processes' writes."""
    inv = store.load_inventory(territory_id)
    tid = inv.territory.id
    key = _inventory_key(inv)
    state = _STATES.get(store, {}).get(tid)  # the usual case without the lock: a refresh in progress is not waited for
    if state is not None and state.key == key and not state.dirty and time.monotonic() - state.checked < RECHECK_S:
        return state.publication
    with _LOCK:
        store.on_change(_on_change)
        per_territory = _STATES.setdefault(store, {})
        state = per_territory.get(tid)
        now = time.monotonic()
        if state is not None and state.key == key and not state.dirty:
            if now - state.checked < RECHECK_S:
                return state.publication
            state.checked = now
            fingerprint = cells.fingerprint(store)
            if fingerprint == state.fingerprint:
                return state.publication
        else:
            fingerprint = cells.fingerprint(store)
        bases = state.bases if state else {}
        current: dict[str, contrib.Contributions] = {}
        state = _State(key, fingerprint, now, _compute(store, inv, bases, figure_prefix(store, tid), current), bases,
                       current)  # fmt: skip
        per_territory[tid] = state
        return state.publication


def _on_change(store: Store, spans: list[tuple[str, int, int]] | None) -> None:
    """Committed readings changed: bring each kept publication up to date over the periods touched (reading the
    touched points only, through the gate), or mark it for a full recomputation when that cannot be done."""
    with _LOCK:
        for tid, state in list(_STATES.get(store, {}).items()):
            if spans is None or state.publication is None or state.dirty:
                state.dirty = True
                continue
            try:
                inv = store.load_inventory(tid)
                if _inventory_key(inv) != state.key:
                    state.dirty = True
                    continue
                mine = {s.id for s in inv.series}
                touched = [sp for sp in spans if sp[0] in mine]
                if touched and not _refresh(store, inv, state, touched, figure_prefix(store, tid)):
                    state.dirty = True
                    continue
                state.fingerprint, state.checked = cells.fingerprint(store), time.monotonic()
            except Exception:  # never fail a write that is committed: recompute fully on next use
                state.dirty = True


#: When the period grows at the live edge, kept matrices grow by at least this many metering steps at once
#: (a week of half-hours), so that a 10-minute batch does not copy a year × points matrix each time.
GROW_STEPS = 7 * 48


def _pad(c: contrib.Contributions, n: int) -> contrib.Contributions:
    """``c`` with at least ``n`` columns (zeros after its own; more, by :data:`GROW_STEPS`, when it must grow)."""
    extra = n - c.n
    if extra <= 0:
        return c
    return c.padded(c.n + max(extra, GROW_STEPS))


def _pad_figure(f: ledger.Figure, n: int, a: int) -> ledger.Figure:
    extra = n - len(f.value)
    if extra <= 0:
        return f
    pad = lambda x, v: np.concatenate([x, np.full(extra, v, dtype=x.dtype)])  # noqa: E731
    t = a + f.step * np.arange(n, dtype=np.int64)
    return replace(f, t=t, value=pad(f.value, np.nan), reason=pad(f.reason, None), version=pad(f.version, 0),
                   points=pad(f.points, 0), largest=pad(f.largest, 0.0), total=pad(f.total, 0.0),
                   withheld=pad(f.withheld, False))  # fmt: skip


def _merge_figure(f: ledger.Figure, part: ledger.Figure, i0: int) -> ledger.Figure:
    i1 = i0 + len(part.value)
    out = {}
    for name in ("value", "reason", "version", "points", "largest", "total", "withheld"):
        x = getattr(f, name).copy()
        x[i0:i1] = getattr(part, name)
        out[name] = x
    return replace(f, **out)


def _merge_basis(full: ledger.Basis | None, part: ledger.Basis, a: int, n: int) -> ledger.Basis:
    """The kept basis over the whole period with the window ``part`` covers replaced by ``part``'s columns (in
    the blocks it touches only, when ``full`` already has every row and column needed: the usual live-edge case)."""
    i0 = (part.a - a) // part.step
    i1 = i0 + part.n
    if full is not None and full.a == a and full.n >= i1 and set(part.keys) <= set(full.keys):
        return full.replaced(part)
    keys = tuple(sorted(set(full.keys if full else ()) | set(part.keys)))
    width = max(n, i1) + GROW_STEPS
    values = full.on(keys, a, width)[0] if full is not None else np.zeros((len(keys), width))
    values[:, i0:i1] = part.on(keys, part.a, i1 - i0)[0]
    return ledger.Basis.of(a, part.step, keys, values)


def _refresh(store: Store, inv: Inventory, state: _State, spans: list[tuple[str, int, int]], prefix: str) -> bool:
    """Bring ``state`` up to date after a write of ``spans``: re-read the points touched over the metering steps
    touched, publish those cells (the ledger judges first publications and revisions as always), keep the rest.
    False when it cannot (data before the period, a point it does not know): the caller recomputes fully."""
    pub = state.publication
    assert pub is not None
    base, a = pub.base, pub.a
    first = min(sp[1] for sp in spans)
    last = max(sp[2] for sp in spans)
    wa, wb = first - first % base, last - last % base + base
    if wa < a:
        return False
    b = max(pub.b, wb)
    n = (b - a) // base
    i0, i1 = (wa - a) // base, (wb - a) // base
    series = {s.id: s for s in inv.series}
    touched_ids = {sp[0] for sp in spans}
    consumers = [s for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.unit == "W"]
    producers = {p.id: p.source.value for p in inv.producers}

    def update(name: str, members: list) -> contrib.Contributions | None:
        """Re-read the touched points of figure ``name`` (made of ``members``) over the window, in place."""
        c = _pad(state.current[name], n)
        ids = {s.id for s in members}
        points = {contrib.point_key(store, series[sid])[0] for sid in touched_ids & ids}
        if points:
            again = [s for s in members if contrib.point_key(store, s)[0] in points]
            c = c.with_rows(contrib.read(store, again, wa, wb, base), i0)
            if c is None:
                return None
        state.current[name] = c
        return c

    def window(c: contrib.Contributions) -> contrib.Contributions:
        return c.window(i0, i1)

    c = update(CONSUMPTION, consumers)
    if c is None:
        return False
    w = window(c)
    part, basis = ledger.publish(store, prefix + CONSUMPTION, base, wa, w, w.nonzero,
                                 state.bases.get(CONSUMPTION))  # fmt: skip
    state.bases[CONSUMPTION] = _merge_basis(state.bases.get(CONSUMPTION), basis, a, n)
    consumption = _merge_figure(_pad_figure(pub.consumption, n, a), part, i0)
    personal = dict(pub.personal_sources)
    production = {}
    for src in pub.production:
        members = [s for s in inv.series if s.kind is SeriesKind.PRODUCTION and s.unit == "W"
                   and producers.get(s.producer_id or "", "other") == src]  # fmt: skip
        figure = f"production:{src}"
        if src in personal:
            p = update(figure, members)
            if p is None:
                return False
            w = window(p)
            part, basis = ledger.publish(store, prefix + figure, base, wa, w, w.seen_in,
                                         state.bases.get(figure), PRODUCTION_RULE)  # fmt: skip
            state.bases[figure] = _merge_basis(state.bases.get(figure), basis, a, n)
            personal[src] = _merge_figure(_pad_figure(personal[src], n, a), part, i0)
            production[src] = personal[src].value
        else:
            p = update(f"open:{src}", members)
            if p is None:
                return False
            production[src] = p.total
    state.publication = Publication(a, b, base, consumption, production, personal, pub.verdicts)
    return True


def _window(values: np.ndarray, pub_a: int, base: int, a: int, n: int, fill: float) -> np.ndarray:
    """``values`` on the publication's grid, cut to the ``n`` base cells from ``a`` (``fill`` outside it)."""
    out = np.full(n, fill)
    shift = (pub_a - a) // base
    lo, hi = max(0, shift), min(n, shift + len(values))
    if hi > lo:
        out[lo:hi] = values[lo - shift : hi - shift]
    return out


def _screen(fig: ledger.Figure, g: BalanceGrid, pub: Publication) -> StepScreen:
    n = (g.b - g.a) // g.base
    hidden = fig.hidden
    few = np.asarray(fig.reason == secrecy.FEWER_THAN_10, dtype=bool) & hidden  # element-wise on the object array
    dominated = hidden & ~few
    w = lambda x, fill=0: _window(np.asarray(x, dtype=float), pub.a, g.base, g.a, n, fill)  # noqa: E731
    return StepScreen(g.a, g.base, w(fig.points).astype(np.int64), w(fig.largest), w(fig.total),
                      w(few).astype(bool), w(dominated).astype(bool), int(fig.points.max(initial=0)))  # fmt: skip


def public_balance(
    store: Store, start: datetime, end: datetime, step: Step, territory_id: str | None = None
) -> dict[str, Any]:
    """The balance of a territory (default: the store's default one) over [start, end) per ``step`` as anyone
    may see it: the same figures and ``masked`` reasons as :func:`regie.publication.masking.mask_balance`
    gives, every value a sum of published cells."""
    inv = store.load_inventory(territory_id)
    g = balance_grid(inv, start, end, step)
    pub = publication(store, inv.territory.id)
    n = (g.b - g.a) // g.base
    if pub is None:
        figures = balance_figures(g, np.zeros(n), {src: np.zeros(n) for src in g.by_source})
        return mask_balance(figures, None, production_verdicts(inv))
    cons = _window(pub.consumption.value, pub.a, g.base, g.a, n, 0.0)
    prod = {src: _window(pub.production.get(src, np.zeros(0)), pub.a, g.base, g.a, n, 0.0) for src in g.by_source}
    figures = balance_figures(g, np.nan_to_num(cons), {k: np.nan_to_num(v) for k, v in prod.items()})
    sources = {src: _screen(f, g, pub) for src, f in pub.personal_sources.items() if src in g.by_source}
    return mask_balance(figures, _screen(pub.consumption, g, pub), pub.verdicts, source_screens=sources)
