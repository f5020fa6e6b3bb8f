"""ACC allocation over the lake for many operations at once: one Spark task per operation.

An operation's key decides each step on that step's curves of *all* its participants, so one task holds an
operation's whole period. Inside, the embedded service's own functions run: the curves are put on the
operation's step by :func:`regie.services.acc.curves_from` (reading the lake's rows instead of the gate) and
allocated by :func:`regie.services.acc.allocate_in_force` (the key in force each day), whose numpy kernels are
:mod:`regie.analytics.acc`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from regie.cluster.tasks import lake_territories, read_rows, run_tasks
from regie.services.acc import allocate_in_force, curves_from, participant_series

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

OUT_SCHEMA = ("territory string, operation string, series_id string, role string, "
              "cons_wh double, autocons_wh double, prod_wh double, autoprod_wh double")  # fmt: skip


def operation_flows(rows: pd.DataFrame, inventory, stored, start: int, end: int) -> pd.DataFrame:
    """Each participant's totals [Wh] over [start, end) under the keys in force, from the operation's rows."""
    by_series = {sid: g for sid, g in rows.groupby("series_id", sort=False)}

    def reader(series_id: str, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        g = by_series.get(series_id)
        if g is None:
            return np.zeros(0, np.int64), np.zeros(0)
        t = g["t"].to_numpy(np.int64)
        keep = (t >= a) & (t < b)
        order = np.argsort(t[keep], kind="stable")
        return t[keep][order], g["value"].to_numpy(np.float64)[keep][order]

    result = allocate_in_force(curves_from(inventory, stored.operation, start, end, reader), stored)
    a = result.allocation
    out = []
    for j, p in enumerate(result.consumers):
        out.append((participant_series(inventory, p).id, p.role.value, a.cons[:, j].sum(), a.autocons[:, j].sum(),
                    0.0, 0.0))  # fmt: skip
    for j, p in enumerate(result.producers):
        out.append((participant_series(inventory, p).id, p.role.value, 0.0, 0.0, a.prod[:, j].sum(),
                    a.autoprod[:, j].sum()))  # fmt: skip
    return pd.DataFrame(out, columns=["series_id", "role", "cons_wh", "autocons_wh", "prod_wh", "autoprod_wh"])


def cluster_allocations(spark: SparkSession, lake: str, start: int, end: int, territories: list[str] | None = None,
                        storage_options: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Every operation of the lake allocated over [start, end) (UTC s): one row per participant."""
    found = lake_territories(lake, storage_options, territories, ("consumption", "production"), start, end)
    metas = {tid: m for tid, (m, _) in found.items()}
    tasks = []
    for tid, (m, mine) in found.items():
        inv = m.inventory()
        for stored in m.operations:
            series = [participant_series(inv, p).id for p in stored.operation.participants]
            tasks.append({"territory": tid, "operation": stored.operation.id, "parts": mine, "series": series})

    def per_operation(task: dict[str, Any]) -> pd.DataFrame:
        m = metas[task["territory"]]
        stored = next(o for o in m.operations if o.operation.id == task["operation"])
        rows = read_rows(lake, storage_options, task["parts"], task["series"])
        out = operation_flows(rows, m.inventory(), stored, start, end)
        return out.assign(territory=task["territory"], operation=task["operation"])[
            ["territory", "operation", "series_id", "role", "cons_wh", "autocons_wh", "prod_wh", "autoprod_wh"]
        ]

    if not tasks:
        return pd.DataFrame(columns=[c.split()[0] for c in OUT_SCHEMA.split(", ")])
    return run_tasks(spark, tasks, per_operation, OUT_SCHEMA).toPandas()
