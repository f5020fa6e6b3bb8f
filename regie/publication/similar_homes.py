""""Compared with similar homes" on a member's dashboard, on the ledger: frozen, versioned monthly cells.

Issue 12 (a trust defect): the comparison was a sum over the homes of the member's size class computed on each
request through the gate, for whatever period the picker asked. Two reads that differ by one home — before and
after a home joins or leaves the class, or a correction of one household — subtracted, gave that household's
consumption; so did two periods chosen to differ by the part that one home's data covers. Each read passed
statistical secrecy on its own; their difference was one point.

Each group is now a figure of the publication's ledger (:mod:`regie.publication.ledger`), like the usage table
(:mod:`regie.publication.usage`): ``<territory prefix>similar:<class slug>:P1M``, one cell per calendar month of
the territory's zone (step :data:`MONTH`, ``t`` the month's ordinal), whose value is the Σ of the group's
homes' consumption [Wh] that month. A group is the residential delivery points held by a person (a current
membership) of one subscribed-power class (:data:`regie.analytics.household.SIZE_CLASSES`; the inventory
records no heating type, so none is used). Then:

- **the rule when a cell is frozen**: shown when at least 10 homes drew energy that month and none made more
  than 85 % of it (décret n° 2020-196, art. D. 111-52 ff. of the Code de l'énergie; the INSEE dominance rule:
  :mod:`regie.governance.secrecy`), else hidden with the reason;
- **value and membership frozen**: once stored, a cell changes only by a revision whose *difference* passes
  the same rule (:func:`regie.publication.rule.change_reasons`). A home that joins or leaves the class, an
  erasure, a correction of one household: one point moved, never published; the cell keeps its value and the
  number of homes it was published with (``points``), so "the mean per home" is frozen too;
- **the picker only combines published cells**: a month is one cell, a year the sum of its twelve monthly
  means, shown only when all twelve are (:func:`compare`); no other period is compared;
- **secondary suppression across classes**: the classes partition the residential homes whose Σ the usage
  table publishes per month (``usage:residential:P1M``), so that total minus the shown classes gives the
  hidden classes' sum back. When a month's hidden classes together fail the rule, the smallest classes not yet
  shown are hidden too (``secondary``) until they pass or none is left (:func:`_secondary`). Cells already
  shown stay shown: they are frozen, and a home that arrives later in a class is in no frozen figure.

Each home's consumption is read through the gate by the publication's account
(:func:`regie.publication.contributions.read`: logged in each household's access log, purpose
``dpv:CombatClimateChange``, stated reason), once per series and state of the store, and reduced at once to
months; the ledger keeps each home's monthly contribution at the published version in memory only.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from regie.analytics import household as hh
from regie.governance import secrecy
from regie.model import Inventory, Series, SeriesKind
from regie.publication import contributions as contrib
from regie.publication import ledger
from regie.publication import rule as secrecy_rule
from regie.publication.balance import figure_prefix
from regie.publication.usage import MONTH
from regie.store import Store
from regie.store import published as cells

_LOCK = threading.Lock()
_BASES: weakref.WeakKeyDictionary[Store, dict[str, ledger.Basis]] = weakref.WeakKeyDictionary()
#: Per store, the last publication per territory: (key of the state it was computed on, the cells).
_KNOWN: weakref.WeakKeyDictionary[Store, dict[str, tuple[tuple[Any, ...], SimilarHomes]]] = (
    weakref.WeakKeyDictionary()
)


def slug(size_class: str) -> str:
    """A class's name in a figure name: ``up to 6 kVA`` → ``up-to-6-kva``."""
    return re.sub(r"[^a-z0-9]+", "-", size_class.lower()).strip("-")


def figure_name(prefix: str, size_class: str) -> str:
    return f"{prefix}similar:{slug(size_class)}:P1M"


def groups(inv: Inventory) -> dict[str, list[Series]]:
    """Per size class, the consumption load curves of its homes: residential delivery points held by a person
    (a current membership) whose subscribed power gives the class."""
    persons = {p.id for p in inv.persons}
    held = {m.prm for m in inv.memberships if m.until is None and m.holder_id in persons}
    cls_of = {d.prm: hh.size_class(d.subscribed_kva) for d in inv.delivery_points
              if d.prm in held and d.usage == "residential"}  # fmt: skip
    out: dict[str, list[Series]] = {}
    for s in inv.series:
        cls = cls_of.get(s.prm or "")
        if cls and s.kind is SeriesKind.CONSUMPTION and s.unit == "W" and s.step is not None \
                and not s.step.is_calendar:  # fmt: skip
            out.setdefault(cls, []).append(s)
    return out


def month_label(k: int) -> str:
    """A month's ordinal → ``YYYY-MM``."""
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


@dataclass(frozen=True, slots=True)
class ClassCells:
    """One class's published monthly cells on the grid of months ``first + i``: ``value`` the Σ [Wh] (NaN where
    hidden), ``homes`` the homes it was published with, ``reason`` why hidden (None where shown)."""

    size_class: str
    figure: str
    first: int  # month ordinal of cell 0
    value: np.ndarray
    homes: np.ndarray
    reason: tuple[str | None, ...]
    version: np.ndarray

    def months(self) -> list[str]:
        return [month_label(self.first + i) for i in range(len(self.value))]


@dataclass(frozen=True, slots=True)
class SimilarHomes:
    """Every class's published cells for one territory."""

    territory: str
    classes: dict[str, ClassCells]


@dataclass(frozen=True, slots=True)
class Comparison:
    """What a member is shown for a period: the mean consumption of a home of their class [Wh] (None when
    hidden), the most homes a month counted, and why it is hidden; per month, the published cells used."""

    size_class: str
    homes: int
    mean_wh: float | None
    reason: str | None
    months: tuple[dict[str, Any], ...]


def _month_grid(store: Store, inv: Inventory) -> tuple[int, int] | None:
    """(first, last) month ordinals of the data period in the territory's zone."""
    p = store.data_period()
    if p is None:
        return None
    zone = inv.territory.zone
    lo = p[0].astimezone(zone)
    hi = datetime.fromtimestamp(int(p[1].timestamp()) - 1, zone) if p[1] > p[0] else lo
    return lo.year * 12 + lo.month - 1, hi.year * 12 + hi.month - 1


def _month_start(k: int, inv: Inventory) -> int:
    return int(datetime(k // 12, k % 12 + 1, 1, tzinfo=inv.territory.zone).timestamp())


def monthly(store: Store, inv: Inventory, series: Sequence[Series], first: int, last: int) -> contrib.Contributions:
    """Each home's consumption [Wh] per month ``first`` … ``last`` (ordinals), read through the gate by the
    publication's account (one logged read per series), reduced at once to months."""
    starts = np.array([_month_start(k, inv) for k in range(first, last + 2)], dtype=np.int64)
    a, b = int(starts[0]), int(starts[-1])
    n = last - first + 1
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in series:
        step = s.step.seconds
        c = contrib.read(store, [s], a, b, step)
        t = a + step * np.arange(c.values.shape[1], dtype=np.int64)
        month = np.searchsorted(starts, t, side="right") - 1
        for key, v, seen in zip(c.keys, c.values, c.seen, strict=True):
            wh = np.bincount(month, weights=v * step / 3600.0, minlength=n)[:n]
            any_seen = np.bincount(month, weights=seen.astype(float), minlength=n)[:n] > 0
            total, was = rows.get(key, (np.zeros(n), np.zeros(n, dtype=bool)))
            rows[key] = (total + wh, was | any_seen)
    keys = tuple(sorted(rows))
    if not keys:
        return contrib.Contributions.of((), np.zeros((0, n)), np.zeros((0, n), dtype=bool))
    return contrib.Contributions.of(keys, np.vstack([rows[k][0] for k in keys]), np.vstack([rows[k][1] for k in keys]))


def _secondary(by_class: dict[str, contrib.Contributions], shown: dict[str, np.ndarray],
               rule: secrecy.SecrecyRule) -> dict[str, np.ndarray]:  # fmt: skip
    """Per class, ``secondary`` on the months where it must be hidden so that the hidden classes of the month
    together pass the rule (their Σ is the usage table's residential month minus the shown classes), None
    elsewhere. Only cells not yet shown may be hidden; the smallest are chosen first."""
    names = sorted(by_class)
    n = next(iter(by_class.values())).values.shape[1] if by_class else 0
    out = {c: np.full(n, None, dtype=object) for c in names}
    primary = {c: secrecy_rule.cell_reasons(x.values, x.values > 0, rule, x.seen) for c, x in by_class.items()}
    for m in range(n):
        hidden = [c for c in names if not shown[c][m] and primary[c][m] is not None]
        if not hidden:
            continue
        candidates = sorted((c for c in names if not shown[c][m] and primary[c][m] is None
                             and (by_class[c].values[:, m] > 0).any()),
                            key=lambda c: float(by_class[c].values[:, m].sum()))  # fmt: skip
        while True:
            v = np.concatenate([np.abs(by_class[c].values[:, m]) for c in hidden])
            verdict = secrecy_rule.judge(np.array([(v > 0).sum()]), np.array([v.max(initial=0.0)]),
                                         np.array([v.sum()]), rule)[0]  # fmt: skip
            if verdict is None or not candidates:
                break
            extra = candidates.pop(0)
            hidden.append(extra)
            out[extra][m] = secrecy.SECONDARY
    return out


def _compute(store: Store, inv: Inventory, prefix: str, rule: secrecy.SecrecyRule) -> SimilarHomes:
    grid = _month_grid(store, inv)
    by_group = groups(inv)
    if grid is None or not by_group:
        return SimilarHomes(inv.territory.id, {})
    first, last = grid
    n = last - first + 1
    by_class = {c: monthly(store, inv, series, first, last) for c, series in by_group.items()}
    shown: dict[str, np.ndarray] = {}
    for c in by_class:
        stored = cells.latest(store, figure_name(prefix, c), MONTH, first, first + n)
        s = np.zeros(n, dtype=bool)
        s[(stored.t - first)[~np.isnan(stored.value)]] = True
        shown[c] = s
    withhold = _secondary(by_class, shown, rule)
    bases = _BASES.setdefault(store, {})
    out: dict[str, ClassCells] = {}
    for c, x in sorted(by_class.items()):
        figure = figure_name(prefix, c)
        fig, bases[figure] = ledger.publish(store, figure, MONTH, first, x, x.values > 0, bases.get(figure), rule,
                                            withhold=withhold[c])  # fmt: skip
        stored = cells.latest(store, figure, MONTH, first, first + n)
        homes = np.zeros(n, dtype=np.int64)
        homes[stored.t - first] = stored.points
        out[c] = ClassCells(c, figure, first, fig.value, homes, tuple(fig.reason), fig.version)
    return SimilarHomes(inv.territory.id, out)


def publication(store: Store, inv: Inventory, rule: secrecy.SecrecyRule = secrecy_rule.RULE) -> SimilarHomes:
    """Every class's cells brought up to date in the ledger for the territory of ``inv``, once per state of the
    homes' readings and of the groups (see the module docstring)."""
    by_group = tuple((c, tuple(s.id for s in ss)) for c, ss in sorted(groups(inv).items()))
    homes = [sid for _, ids in by_group for sid in ids]
    key = (cells.fingerprint(store, homes), by_group, rule)  # the homes' readings only: see cells.fingerprint
    with _LOCK:
        known = _KNOWN.setdefault(store, {})
        was = known.get(inv.territory.id)
        if was is None or was[0] != key:
            known[inv.territory.id] = (key, _compute(store, inv, figure_prefix(store, inv.territory.id), rule))
        return known[inv.territory.id][1]


def months_of(first: date, end: date) -> list[int]:
    """The month ordinals of a period made of whole calendar months [first, end)."""
    return list(range(first.year * 12 + first.month - 1, end.year * 12 + end.month - 1))


def compare(pub: SimilarHomes, size_class: str, months: Sequence[int]) -> Comparison:
    """The comparison over ``months`` (ordinals) from the published cells only: the Σ over months of each
    month's published value over the homes it was published with, shown only when every month is."""
    cc = pub.classes.get(size_class)
    rows: list[dict[str, Any]] = []
    reason: str | None = None
    mean = 0.0
    homes = 0
    for k in months:
        i = k - cc.first if cc is not None else -1
        if cc is None or not 0 <= i < len(cc.value):
            why, value, n = secrecy.FEWER_THAN_10, float("nan"), 0  # nothing published: no home has data
        else:
            why, value, n = cc.reason[i], float(cc.value[i]), int(cc.homes[i])
            if why is None and n == 0:
                why = secrecy.FEWER_THAN_10  # a month no home reported: nothing to compare with
        rows.append({"month": month_label(k), "homes": None if why else n,
                     "mean_wh": None if why else round(value / n, 3), "masked": why})  # fmt: skip
        reason = reason or why
        if why is None:
            mean += value / n
            homes = max(homes, n)
    if reason is not None:
        return Comparison(size_class, homes, None, reason, tuple(rows))
    return Comparison(size_class, homes, mean, None, tuple(rows))
