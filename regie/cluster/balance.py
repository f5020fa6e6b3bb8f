"""The territory balance over the lake: one Python task per territory-month, the embedded kernels inside.

Each territory-month (its consumption and production partitions) goes whole to one worker: all of a
month's series, so that min(P, C) is taken per metering step before any grouping (docs/architecture.md).
The worker puts the points onto the metering step as the gate does (:mod:`regie.cluster.cells`), runs
:func:`regie.analytics.balance.grouped` on its month and emits each period's energies; Spark sums them per
period (a day or a month may straddle two partitions only at its edges: the sums are additive), and the
driver lands in :func:`regie.services.balance.figures_of`, the embedded path's own last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regie.analytics import balance as bal
from regie.cluster.cells import sum_of_means
from regie.cluster.tasks import chosen, partitions, read_rows, run_tasks
from regie.lake.read import read_metas
from regie.model import Step
from regie.services.balance import BalanceGrid, balance_grid, figures_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

OUT_SCHEMA = "territory string, period long, measure string, wh double"
CONSUMPTION = "consumption"


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a worker needs of one territory's grid (small: it travels with the task)."""

    a: int
    b: int
    base: int
    starts: np.ndarray
    sources: tuple[str, ...]
    labels: dict[str, str]  # series id -> "consumption" or the production source


def _plan(g: BalanceGrid) -> _Plan:
    labels = {s.id: CONSUMPTION for s in g.consumers}
    labels |= {s.id: src for src, ss in g.by_source.items() for s in ss}
    return _Plan(g.a, g.b, g.base, np.asarray(g.starts, dtype=np.int64), tuple(g.by_source), labels)


def month_energies(pdf: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """One territory-month's per-period energies (long format: period, measure, wh) with the embedded kernels."""
    pdf = pdf[pdf["series_id"].isin(plan.labels.keys())]
    t = pdf["t"].to_numpy(np.int64)
    inside = (t >= plan.a) & (t < plan.b)
    pdf = pdf[inside]
    if pdf.empty:
        return pd.DataFrame({"period": np.zeros(0, np.int64), "measure": np.zeros(0, str), "wh": np.zeros(0)})
    t = pdf["t"].to_numpy(np.int64)
    lo = (int(t.min()) - plan.a) // plan.base
    n = (int(t.max()) - plan.a) // plan.base + 1 - lo
    start = plan.a + lo * plan.base
    label = pdf["series_id"].map(plan.labels)
    power: dict[str, np.ndarray] = {}
    for name in (CONSUMPTION, *plan.sources):
        part = pdf[label == name]
        codes = pd.Categorical(part["series_id"]).codes
        power[name], _ = (
            sum_of_means(part.assign(code=codes), start, plan.base, n) if len(part) else (np.zeros(n), None)
        )
    cells_t = start + plan.base * np.arange(n, dtype=np.int64)
    idx = np.searchsorted(plan.starts, cells_t, side="right") - 1
    first = int(idx.min())
    n_periods = int(idx.max()) - first + 1
    prod = {src: power[src] for src in plan.sources}
    g = bal.grouped(power[CONSUMPTION], prod, plan.base, idx - first, n_periods)
    measures = {
        "consumption_wh": g["consumption_wh"],
        "production_total_wh": g["production_total_wh"],
        "self_consumed_wh": g["self_consumed_wh"],
    }
    measures |= {f"production_wh:{src}": v for src, v in g["production_wh"].items()}
    periods = np.arange(first, first + n_periods, dtype=np.int64)
    return pd.DataFrame({
        "period": np.tile(periods, len(measures)),
        "measure": np.repeat(list(measures), n_periods),
        "wh": np.concatenate(list(measures.values())),
    })  # fmt: skip


def cluster_balance(spark: SparkSession, lake: str, start: datetime, end: datetime, step: Step,
                    territories: list[str] | None = None, storage_options: dict | None = None,
                    ) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each territory's balance over [start, end) per ``step``: the dict
    :func:`regie.services.balance.territory_balance` returns, computed by Spark over the lake."""
    from pyspark.sql import functions as F

    metas = read_metas(lake, storage_options, territories)
    grids = {tid: balance_grid(m.inventory(), start, end, step) for tid, m in metas.items()}
    plans = {tid: _plan(g) for tid, g in grids.items()}
    parts = partitions(lake, storage_options)
    months: dict[tuple[str, str], list[str]] = {}
    for tid, p in plans.items():
        for path in chosen(parts, tid, ("consumption", "production"), p.a, p.b):
            months.setdefault((tid, path.rsplit("month=", 1)[1]), []).append(path)
    tasks = [{"territory": tid, "parts": parts} for (tid, _), parts in sorted(months.items())]

    def per_month(task: dict[str, Any]) -> pd.DataFrame:
        rows = read_rows(lake, storage_options, task["parts"])
        out = month_energies(rows, plans[task["territory"]])
        return out.assign(territory=task["territory"])[["territory", "period", "measure", "wh"]]

    sums = (
        run_tasks(spark, tasks, per_month, OUT_SCHEMA)
        .groupBy("territory", "period", "measure").agg(F.sum("wh").alias("wh"))
        .toPandas()
    )  # fmt: skip
    return {tid: _figures(grids[tid], plans[tid], sums[sums["territory"] == tid]) for tid in grids}


def _figures(g: BalanceGrid, plan: _Plan, sums: pd.DataFrame) -> dict[str, Any]:
    n = len(g.starts)

    def measure(name: str) -> np.ndarray:
        out = np.zeros(n)
        part = sums[sums["measure"] == name]
        np.add.at(out, part["period"].to_numpy(np.int64), part["wh"].to_numpy(np.float64))
        return out

    grouped: dict[str, Any] = {
        "consumption_wh": measure("consumption_wh"),
        "production_wh": {src: measure(f"production_wh:{src}") for src in plan.sources},
        "production_total_wh": measure("production_total_wh"),
        "self_consumed_wh": measure("self_consumed_wh"),
    }
    by_source = {src: float(v.sum()) for src, v in grouped["production_wh"].items()}
    total = bal.BalanceTotals(float(grouped["consumption_wh"].sum()), float(sum(by_source.values())), by_source,
                              float(grouped["self_consumed_wh"].sum()))  # fmt: skip
    return figures_of(g, total, grouped)
