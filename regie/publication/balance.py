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
import weakref
from dataclasses import dataclass
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
_LOCK = threading.Lock()


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
    key: tuple[Any, ...]
    publication: Publication | None
    bases: dict[str, ledger.Basis]


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


def _compute(store: Store, inv: Inventory, bases: dict[str, ledger.Basis], prefix: str = "") -> Publication | None:
    consumers = [s for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.unit == "W"]
    production = [s for s in inv.series if s.kind is SeriesKind.PRODUCTION and s.unit == "W"]
    base = base_step(consumers + production)
    period = _period(store, base)
    if period is None:
        return None
    a, b = period
    c = contrib.read(store, consumers, a, b, base)
    consumption, bases[CONSUMPTION] = ledger.publish(store, prefix + CONSUMPTION, base, a, c, c.values != 0,
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
            p = contrib.read(store, series, a, b, base)
            figure = f"production:{src}"
            fig, bases[figure] = ledger.publish(store, prefix + figure, base, a, p, p.seen, bases.get(figure),
                                                PRODUCTION_RULE)  # fmt: skip
            personal[src] = fig
            out[src] = fig.value
        else:
            out[src] = contrib.read(store, series, a, b, base).total
    return Publication(a, b, base, consumption, out, personal, verdicts)


def _sources_held_by_persons(inv: Inventory) -> set[str]:
    """Sources with a plant whose delivery point a person holds now (the rule of
    :func:`regie.publication.masking.production_verdicts`): the others are published by their owners' choice."""
    persons = {p.id for p in inv.persons}
    held = {m.prm for m in inv.memberships if m.until is None and m.holder_id in persons}
    return {p.source.value for p in inv.producers if p.prm in held}


def publication(store: Store, territory_id: str | None = None) -> Publication | None:
    """The publication of a territory (default: the store's default one), brought up to date with the store if
    it changed since the last call (None while nothing is stored). Raises
    :class:`regie.services.balance.BalanceRequestError` when no load curve has a fixed step."""
    inv = store.load_inventory(territory_id)
    tid = inv.territory.id
    key = (cells.fingerprint(store), len(inv.series), len(inv.memberships), len(inv.producers))
    with _LOCK:
        per_territory = _STATES.setdefault(store, {})
        state = per_territory.get(tid)
        if state is None or state.key != key:
            bases = state.bases if state else {}
            state = _State(key, _compute(store, inv, bases, figure_prefix(store, tid)), bases)
            per_territory[tid] = state
        return state.publication


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
    few = np.array([r == secrecy.FEWER_THAN_10 for r in fig.reason]) & hidden
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
