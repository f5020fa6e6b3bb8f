"""Transformer loading and monthly losses over the lake: one Spark task per transformer.

A task reads the transformer's load series and the curves of the delivery points it feeds, puts them on the
load series' step as the supervision service does (:class:`regie.services.supervision._Grid` for the load,
the gate's per-cell sums for the downstream points, complete steps only), and runs the same kernels:
:func:`regie.analytics.grid.loading`, :func:`~regie.analytics.grid.loading_stats` and
:func:`~regie.analytics.grid.losses`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regie.analytics import grid
from regie.cluster.cells import sum_of_means
from regie.cluster.tasks import lake_territories, read_rows, run_tasks
from regie.model import SeriesKind
from regie.model.calendar import period_starts
from regie.services.supervision import _Grid, _load_series

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

OUT_SCHEMA = ("territory string, transformer string, max double, mean double, p95 double, p99 double, "
              "hours_over_100 double, steps long, missing_steps long, month_start array<long>, "
              "transformer_wh array<double>, downstream_wh array<double>, loss_wh array<double>")  # fmt: skip
KINDS = ("consumption", "production", "transformer_load")


def _plan(inv, tr) -> dict[str, Any]:
    load = _load_series(inv.series, tr)
    feeds = set(tr.prms)
    down = [s for s in inv.series if s.prm in feeds and s.unit == "W"
            and s.kind in (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION)]  # fmt: skip
    return {"load": load.id, "step": load.step.seconds, "down": [s.id for s in down],
            "sign": [-1.0 if s.kind is SeriesKind.PRODUCTION else 1.0 for s in down]}  # fmt: skip


def transformer_figures(rows: pd.DataFrame, tr, plan: dict[str, Any], a: int, b: int, zone) -> dict[str, Any]:
    """Loading stats and monthly losses of one transformer over [a, b) from its rows (load and downstream)."""
    step = plan["step"]
    a, b = a - a % step, b - b % step
    g = _Grid(a, b, step)
    load_rows = rows[rows["series_id"] == plan["load"]]
    p_tr = g.place(load_rows["t"].to_numpy(np.int64), load_rows["value"].to_numpy(np.float64))
    down = rows[rows["series_id"].isin(plan["down"])]
    code = {sid: i for i, sid in enumerate(plan["down"])}
    if plan["down"]:
        total, present = sum_of_means(down.assign(code=down["series_id"].map(code).astype("int64")), a, step, g.n,
                                      np.array(plan["sign"]), len(plan["down"]))  # fmt: skip
        downstream = np.where(present == len(plan["down"]), total, np.nan)
    else:
        downstream = np.full(g.n, np.nan)
    load = grid.loading(p_tr, tr.rated_kva, tr.power_factor)
    stats = grid.loading_stats(load, step)
    months = period_starts(a, b - 1, "month", zone)
    grp = np.searchsorted(months, g.t, side="right") - 1
    lo = grid.losses(p_tr, downstream, step, grp, len(months) - 1)
    return {"max": stats.max, "mean": stats.mean, "p95": stats.p95, "p99": stats.p99,
            "hours_over_100": stats.hours_over_100, "steps": stats.steps, "missing_steps": stats.missing_steps,
            "month_start": [int(x) for x in months[:-1]], "transformer_wh": lo.transformer_wh.tolist(),
            "downstream_wh": lo.downstream_wh.tolist(), "loss_wh": lo.loss_wh.tolist()}  # fmt: skip


def cluster_transformers(spark: SparkSession, lake: str, start: int, end: int, territories: list[str] | None = None,
                         storage_options: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Every transformer of the lake over [start, end) (UTC s): one row of loading stats and monthly losses."""
    found = lake_territories(lake, storage_options, territories, KINDS, start, end)
    metas = {tid: m for tid, (m, _) in found.items()}
    tasks = []
    for tid, (m, mine) in found.items():
        inv = m.inventory()
        for tr in m.transformers:
            plan = _plan(inv, tr)
            tasks.append({"territory": tid, "transformer": tr.id, "parts": mine, "plan": plan})

    def per_transformer(task: dict[str, Any]) -> pd.DataFrame:
        m = metas[task["territory"]]
        tr = next(x for x in m.transformers if x.id == task["transformer"])
        plan = task["plan"]
        rows = read_rows(lake, storage_options, task["parts"], [plan["load"], *plan["down"]])
        fig = transformer_figures(rows, tr, plan, start, end, m.territory.zone)
        return pd.DataFrame([{"territory": task["territory"], "transformer": tr.id, **fig}])

    return run_tasks(spark, tasks, per_transformer, OUT_SCHEMA).toPandas()
