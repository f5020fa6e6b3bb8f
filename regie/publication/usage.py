"""The public table of consumption by usage and month, on the ledger: frozen, versioned cells.

Issue 18 ("secrecy over time"): the table (``/api/territory/consumption-by-usage``) used to be computed from
today's data, so the residential month before and after a member's erasure differed by the member's month.
Each cell (a usage over a calendar month) is now a cell of the publication's ledger
(:mod:`regie.publication.ledger`), under the same rule as the balance's half-hours
(:mod:`regie.publication.rule`): shown when at least 10 delivery points consumed in it and none above 85 %;
frozen once shown; revised only when the difference itself passes the rule.

Calendar months have no fixed length, and the ledger's grid is ``t = a + i·step``: a month's cell is stored
under figure ``usage:<usage>:P1M`` at ``step`` :data:`MONTH` (1) and ``t`` = its *ordinal* in the
territory's zone (``year × 12 + month − 1``), not a UTC instant.

The margins (a month's total over usages, a usage's total over months, the table's total) are sums of
published cells, shown only when every cell in them is: so any published figure is a combination of frozen
cells, and no margin minus shown cells gives a hidden cell back, today or across two states. This replaces a
secondary-suppression pattern that was recomputed from today's data (a margin of one state minus cells shown
in another would give a masked cell back).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regie.governance import secrecy
from regie.publication import ledger
from regie.publication import rule as secrecy_rule
from regie.publication.contributions import Contributions
from regie.store import Store

MONTH = 1  #: the ledger's ``step`` of a calendar-month cell (its ``t`` is the month's ordinal)
_LOCK = threading.Lock()
_BASES: weakref.WeakKeyDictionary[Store, dict[str, ledger.Basis]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class UsageCells:
    """The published cells of the usage table: per usage, one value per month (NaN where hidden), the reason
    (None where shown) and the points counted today."""

    months: list[str]  # YYYY-MM
    usages: list[str]
    value: dict[str, np.ndarray]
    reason: dict[str, list[str | None]]
    points: dict[str, np.ndarray]


def ordinal(month: str) -> int:
    """``YYYY-MM`` → months since year 0 (the ledger's ``t`` of a month's cell)."""
    year, m = month.split("-")
    return int(year) * 12 + int(m) - 1


def judge(per_point: pd.DataFrame, usages: tuple[str, ...],
          rule: secrecy.SecrecyRule = secrecy_rule.RULE) -> UsageCells:  # fmt: skip
    """Today's cells judged by the cell rule alone (no ledger): what a first publication would show."""
    return _cells(per_point, usages, lambda u, c: _today(c, rule))


def publish(store: Store, per_point: pd.DataFrame, usages: tuple[str, ...],
            rule: secrecy.SecrecyRule = secrecy_rule.RULE, *, prefix: str = "") -> UsageCells:  # fmt: skip
    """Bring the usage table's cells up to date in the ledger (see the module docstring) and return them;
    ``prefix`` names a territory's cells (:func:`regie.publication.balance.figure_prefix`).

    The basis (each point's monthly contribution at the published version) stays in this process's memory,
    as the balance's does; a process without it never publishes a revision it cannot explain."""
    with _LOCK:
        bases = _BASES.setdefault(store, {})

        def one(u: str, c: Contributions) -> ledger.Figure:
            figure = f"{prefix}usage:{u}:P1M"
            a = ordinal(_first(per_point))
            fig, bases[figure] = ledger.publish(store, figure, MONTH, a, c, c.values > 0, bases.get(figure), rule)
            return fig

        return _cells(per_point, usages, lambda u, c: _from_figure(one(u, c)))


def _first(per_point: pd.DataFrame) -> str:
    return str(min(per_point["month"]))


def _contributions(per_point: pd.DataFrame, usage: str) -> Contributions:
    """Each delivery point's consumption [Wh] per month of the contiguous grid from the first month."""
    first, last = (ordinal(str(f(per_point["month"]))) for f in (min, max))
    lines = per_point[per_point["usage"] == usage]
    wide = lines.assign(k=[ordinal(str(m)) - first for m in lines["month"]]).pivot_table(
        index="prm", columns="k", values="value", aggfunc="sum", fill_value=0.0)
    keys = tuple(str(k) for k in wide.index)
    values = np.zeros((len(keys), last - first + 1))
    if len(keys):
        values[:, wide.columns.to_numpy(dtype=int)] = wide.to_numpy(dtype=float)
    return Contributions.of(keys, values, values > 0)


def _cells(per_point: pd.DataFrame, usages: tuple[str, ...], judged) -> UsageCells:
    if per_point.empty:
        return UsageCells([], [], {}, {}, {})
    months = sorted({str(m) for m in per_point["month"]})
    first = ordinal(months[0])
    idx = np.array([ordinal(m) - first for m in months])
    present = [u for u in usages if (per_point["usage"] == u).any()]
    value, reason, points = {}, {}, {}
    for u in present:
        c = _contributions(per_point, u)
        v, why = judged(u, c)
        value[u] = v[idx]
        reason[u] = [why[i] for i in idx.tolist()]
        points[u] = (c.values > 0).sum(axis=0)[idx]
    return UsageCells(months, present, value, reason, points)


def _today(c: Contributions, rule: secrecy.SecrecyRule) -> tuple[np.ndarray, list[str | None]]:
    why = secrecy_rule.cell_reasons(c.values, c.values > 0, rule, c.seen)
    return np.where(why == None, c.total, np.nan), list(why)  # noqa: E711 - element-wise


def _from_figure(fig: ledger.Figure) -> tuple[np.ndarray, list[str | None]]:
    return fig.value, list(fig.reason)
