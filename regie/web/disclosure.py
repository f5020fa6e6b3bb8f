"""What the public may see of the territory's aggregates: statistical secrecy applied (décret n° 2020-196).

The rule (see :mod:`regie.governance.secrecy` for its sources): an aggregate of delivery points is
published when it counts at least 10 points and no single point makes more than 85 % of it; otherwise the
cell is masked, with the reason, and further cells are masked so that no masked cell can be recovered from
the published totals (secondary suppression).

How regie applies it to the public face:

- **Consumption by usage and month** (``/api/territory/consumption-by-usage``): a table of residential,
  professional and public consumption per month whose cells are frozen and versioned on the publication's
  ledger (:mod:`regie.publication.usage`); a margin is shown only when every cell in it is.
- **The territory balance** (the territory page ``/`` and ``/api/balance``): served by the publication
  (:func:`regie.publication.balance.public_balance`, ``docs/publication.md``): every figure a sum of frozen,
  versioned metering-step cells, masked by :func:`regie.publication.masking.mask_balance` (whose
  :class:`StepScreen` judges each step; re-exported here). This module gives the verdicts behind the page's
  headline figures (``/api/territory/disclosure``).
- **Production by source**: a plant held by the régie, the commune or another public body is published by
  its owner's own choice (the régie publishes its own hydro plant's output; no one's privacy is at stake).
  A source with any plant held by a *person* (rooftop PV) is personal data: its row obeys the count rule.
  When a source is hidden, so are the production total and the rates, which would give it back.

The per-point figures behind these rules are personal data: each consumption series is read once through the
gate (:func:`regie.governance.gate.read_personal`, at 30 minutes — the step the balance is judged at) by the
régie's statistics account, with the purpose "territorial energy planning" and a stated reason, so each data
subject sees in their access log that the régie computed aggregates from their data. They are computed once
per process and state of the store, reduced at once to monthly totals per point (the usage table) and to
per-step counts, largest point and total (the screen), and never leave this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from regie.governance import secrecy
from regie.governance.gate import FINEST, personal_prms, read_open, read_personal
from regie.governance.system_accounts import STATISTICS
from regie.model import Inventory, Series, SeriesKind
from regie.model.calendar import period_starts
from regie.publication import usage
from regie.publication.balance import figure_prefix
from regie.publication.masking import (  # noqa: F401 - re-exported: the page and its tests use them here
    DERIVED,
    PUBLIC_OWNERS,
    RULE,
    StepScreen,
    Verdict,
    mask_balance,
    production_verdicts,
)
from regie.store import Store
from regie.store.published import fingerprint
from regie.web import queries, territory_choice
from regie.web.deps import StoreDep
from regie.web.territory_choice import TerritoryQ

router = APIRouter(prefix="/api/territory", tags=["territory"])

PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning
REASON = "statistical secrecy of published aggregates (décret 2020-196, INSEE dominance rule)"
USAGES = ("residential", "professional", "public")
HALF_HOUR = 1800
_LOCK = threading.Lock()


def _inventory(request: Request, store: Store) -> Inventory:
    """The inventory of the territory asked for (``?territory=``, :func:`regie.web.territory_choice.choose`), or
    a 404 (``api.chosen_inventory``'s twin: ``api`` imports this module)."""
    try:
        return store.load_inventory(territory_choice.choose(request).id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@dataclass(frozen=True, slots=True)
class Statistics:
    """What the régie derives from every point's consumption, once: the usage table's lines and the screen."""

    per_point: pd.DataFrame  # one line per (month, usage, delivery point): its consumption [Wh]
    screen: StepScreen | None  # None while nothing is stored or no load curve has a fixed step
    table: UsageTableOut | None = None  # the published usage table, once asked for (``usage.publish``)


def _point_key(store: Store, s: Series) -> tuple[str, bool]:
    """(the delivery point(s) a series counts as in a cell, whether it is personal)."""
    prms = personal_prms(store, s)
    return ("+".join(prms) if prms else s.id), bool(prms)


def collect(store: Store, inv: Inventory, rule: secrecy.SecrecyRule = RULE) -> Statistics:
    """Read every consumption series once (through the gate when personal) and reduce it to :class:`Statistics`.

    The load curves (W) the balance sums are read at 30 minutes (raw points when the metering step is not a
    multiple of 30 minutes) and averaged on the metering step as :meth:`Store.sum_on_grid` does; energy
    series (Wh) only feed the usage table and are read by months.
    """
    columns = ["month", "usage", "prm", "value"]
    period = queries.data_period(store, inv)
    metering = queries.metering_step(inv)
    if period is None:
        return Statistics(pd.DataFrame(columns=columns), None)
    zone = inv.territory.zone
    a, b = int(period.first.timestamp()), int(period.end.timestamp())
    months = period_starts(a, b - 1, "month", zone)
    labels = [datetime.fromtimestamp(int(x), zone).strftime("%Y-%m") for x in months[:-1]]
    usage = {d.prm: d.usage for d in inv.delivery_points}
    base = metering.seconds if metering else 0
    n = (b - a) // base if base else 0
    gran = "PT30M" if base and base % HALF_HOUR == 0 else FINEST
    rows: list[tuple[str, str, str, float]] = []
    curves: dict[str, list[tuple[Series, bool]]] = {}  # by delivery point: its load curves, whether personal
    for s in inv.series:
        if s.kind is not SeriesKind.CONSUMPTION:
            continue
        if base and s.unit == "W":
            key, personal = _point_key(store, s)
            curves.setdefault(key, []).append((s, personal))
        elif s.unit == "Wh" and s.prm is not None and usage.get(s.prm) in USAGES:
            d = read_personal(store, STATISTICS, s.id, a, b, "P1M", PURPOSE, reason=REASON)
            rows += [(datetime.fromtimestamp(int(t), zone).strftime("%Y-%m"), usage[s.prm], s.prm, max(v, 0.0))
                     for t, v in zip(d.t.tolist(), d.values.tolist(), strict=True) if np.isfinite(v)]  # fmt: skip
    points, present = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    largest, total = np.zeros(n), np.zeros(n)
    contributors = 0
    for series in curves.values():
        power, seen = np.zeros(n), np.zeros(n, dtype=bool)
        for s, personal in series:
            if personal:
                d = read_personal(store, STATISTICS, s.id, a, b, gran, PURPOSE, reason=REASON)
                t, v, c = np.asarray(d.t, dtype=np.int64), np.asarray(d.values, dtype=float), np.asarray(d.count)
            else:
                t, v = read_open(store, s.id, a, b)
                t, v, c = np.asarray(t, dtype=np.int64), np.asarray(v, dtype=float), np.ones(len(t))
            ok = np.isfinite(v)
            t, energy, c = t[ok], (v * c)[ok], c[ok].astype(float)  # energy: Σ of the raw values in each point
            idx = (t - a) // base
            inside = (idx >= 0) & (idx < n)
            weight = np.bincount(idx[inside], weights=c[inside], minlength=n)
            sums = np.bincount(idx[inside], weights=energy[inside], minlength=n)
            power += np.abs(np.divide(sums, weight, out=np.zeros(n), where=weight > 0))  # each series' mean
            seen |= weight > 0
            if s.prm is not None and usage.get(s.prm) in USAGES and s.step is not None and not s.step.is_calendar:
                m = np.searchsorted(months, t, side="right") - 1
                wh = np.bincount(m, weights=energy, minlength=len(labels))[: len(labels)] * s.step.seconds / 3600
                got = np.bincount(m, minlength=len(labels))[: len(labels)] > 0
                rows += [(labels[k], usage[s.prm], s.prm, max(float(wh[k]), 0.0)) for k in np.flatnonzero(got)]
        points += power > 0
        present += seen
        largest = np.maximum(largest, power)
        total += power
        contributors += bool((power > 0).any())
    screen = None
    if base:
        few = (present > 0) & (points < rule.min_points)
        dominated = (total > 0) & (largest > rule.max_share * total)
        screen = StepScreen(a, base, points, largest, total, few, dominated, contributors)
    return Statistics(pd.DataFrame(rows, columns=columns), screen)


def _cached(request: Request, store: Store, inv: Inventory) -> Statistics:
    """The statistics, computed once per process and state of the store (each computation is logged).

    The key changes with any stored byte (:func:`regie.store.published.fingerprint`: a correction may keep the
    number of points), the series and the memberships, so an ingest, a correction or an erasure computes them
    again.
    """
    state = (fingerprint(store), len(inv.series), len(inv.memberships))
    with _LOCK:
        cache: dict[Any, Statistics] = getattr(request.app.state, "disclosure_cache", {})
        if (inv.territory.id, state) not in cache:  # one entry per territory, for the store's current state
            cache = {k: v for k, v in cache.items() if k[1] == state and k[0] != inv.territory.id}
            cache[(inv.territory.id, state)] = collect(store, inv)
            request.app.state.disclosure_cache = cache
        return cache[(inv.territory.id, state)]


# ---------------------------------------------------------------- consumption by usage


class CellOut(BaseModel):
    value_wh: float | None = Field(description="None when masked")
    points: int = Field(description="delivery points in the cell")
    masked: str | None = Field(description="why the cell is hidden: fewer_than_10, dominance or secondary")


class UsageTableOut(BaseModel):
    months: list[str] = Field(description="YYYY-MM, in the territory's zone")
    usages: list[str]
    cells: dict[str, list[CellOut]] = Field(description="by usage, one cell per month")
    month_totals_wh: list[float | None] = Field(description="None where a total had to be hidden")
    usage_totals_wh: dict[str, float | None]
    total_wh: float | None
    min_points: int
    max_share: float


def usage_table(per_point: pd.DataFrame, rule: secrecy.SecrecyRule = RULE) -> UsageTableOut:
    """The month × usage table as a first publication would show it (pure: today's cells, judged by the rule)."""
    return table_out(usage.judge(per_point, USAGES, rule), rule)


def table_out(c: usage.UsageCells, rule: secrecy.SecrecyRule = RULE) -> UsageTableOut:
    """The table from its judged cells. A margin (a month's, a usage's, the table's total) is the sum of its
    cells, shown only when every one of them is: it then gives nothing that the cells do not, and nothing
    hidden by subtraction (:mod:`regie.publication.usage`)."""

    def num(x: float) -> float | None:
        return None if np.isnan(x) else float(x)

    def margin(values: list[float]) -> float | None:
        return None if not values or any(np.isnan(v) for v in values) else float(sum(values))

    n = len(c.months)
    cells = {u: [CellOut(value_wh=num(c.value[u][i]), points=int(c.points[u][i]), masked=c.reason[u][i])
                 for i in range(n)] for u in c.usages}  # fmt: skip
    every = [c.value[u][i] for u in c.usages for i in range(n)]
    return UsageTableOut(
        months=c.months, usages=c.usages, cells=cells,
        month_totals_wh=[margin([c.value[u][i] for u in c.usages]) for i in range(n)],
        usage_totals_wh={u: margin(list(c.value[u])) for u in c.usages},
        total_wh=margin(every) if n else None,
        min_points=rule.min_points, max_share=rule.max_share,
    )  # fmt: skip


@router.get(
    "/consumption-by-usage",
    response_model=UsageTableOut,
    summary="Monthly consumption by usage (residential, professional, public), under statistical secrecy",
    responses={404: {"description": "no territory"}},
)
def get_consumption_by_usage(request: Request, store: StoreDep, territory: TerritoryQ = None) -> UsageTableOut:
    inv = _inventory(request, store)
    stats = _cached(request, store, inv)
    prefix = figure_prefix(store, inv.territory.id)  # two territories never share a published cell
    with _LOCK:  # the ledger is brought up to date once per state of the store (the key of ``_cached``)
        if stats.table is None:
            object.__setattr__(stats, "table", table_out(usage.publish(store, stats.per_point, USAGES, prefix=prefix)))
        return stats.table


# ---------------------------------------------------------------- the territory page's figures


class VerdictOut(BaseModel):
    figure: str = Field(description="consumption, or production:<source>")
    points: int = Field(description="delivery points (consumption) or plants (production)")
    publishable: bool
    reason: str = Field(description="why it may or may not be published")


def consumption_verdict(per_point: pd.DataFrame, rule: secrecy.SecrecyRule = RULE) -> Verdict:
    """Whether the whole territory's consumption may be published: count and dominance over the period."""
    totals = per_point.groupby("prm")["value"].sum() if not per_point.empty else pd.Series(dtype=float)
    n, total = int((totals > 0).sum()), float(totals.sum())
    if n < rule.min_points:
        return Verdict("consumption", n, False, secrecy.FEWER_THAN_10)
    if total > 0 and float(totals.max()) > rule.max_share * total:
        return Verdict("consumption", n, False, secrecy.DOMINANCE)
    return Verdict("consumption", n, True, "at least 10 delivery points, none above 85 %")


def screen_verdict(screen: StepScreen, rule: secrecy.SecrecyRule = RULE) -> Verdict:
    """Whether the whole data period's consumption may be shown: no metering step of it fails the rule."""
    reason = screen.judge([screen.start], [screen.start + screen.step * len(screen.total)], rule)[0]
    if reason is None:
        return Verdict("consumption", screen.contributors, True,
                       "at least 10 delivery points at every metering step, none above 85 %")  # fmt: skip
    return Verdict("consumption", screen.contributors, False, reason)


def territory_disclosure(request: Request, store: Store, inv: Inventory) -> list[Verdict]:
    """The verdicts behind the territory page's headline figures (its whole data period)."""
    stats = _cached(request, store, inv)
    consumption = screen_verdict(stats.screen) if stats.screen else consumption_verdict(stats.per_point)
    return [consumption, *production_verdicts(inv)]


# ---------------------------------------------------------------- the territory balance, as the public sees it

@router.get(
    "/disclosure",
    response_model=list[VerdictOut],
    summary="Whether each headline figure of the territory may be published under statistical secrecy",
    responses={404: {"description": "no territory"}},
)
def get_disclosure(request: Request, store: StoreDep, territory: TerritoryQ = None) -> list[VerdictOut]:
    inv = _inventory(request, store)
    return [
        VerdictOut(figure=v.figure, points=v.points, publishable=v.publishable, reason=v.reason)
        for v in territory_disclosure(request, store, inv)
    ]
