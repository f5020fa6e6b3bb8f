"""Data health over the lake: one Spark task per territory and kind of series, the embedded checks inside.

Each task reads its series' rows (the window, the lookback before it, and the first reading ever, which the
lake holds as the store does) and runs :func:`regie.analytics.health.check_series` with the configuration
:func:`regie.services.supervision.health_config` gives. As in :func:`regie.services.supervision.data_health`,
values of a personal series are not judged (only when readings came): the embedded path never reads them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from regie.analytics import health
from regie.cluster.tasks import partitions, read_rows, run_tasks
from regie.lake import layout
from regie.lake.read import read_metas
from regie.services.supervision import LOOKBACK_S, health_config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

OUT_SCHEMA = ("territory string, series_id string, received long, expected long, missing_s long, status string, "
              "gaps long, alerts long")  # fmt: skip


def series_health(rows: pd.DataFrame, series, personal: set[str], a: int, b: int, at: int) -> pd.DataFrame:
    """Each series' health over [a, b) judged at ``at`` from its rows in the lake (all of them)."""
    by_series = {sid: g for sid, g in rows.groupby("series_id", sort=False, observed=True)}
    out = []
    for s in series:
        cfg = health_config(s)
        if cfg is None:
            continue
        g = by_series.get(s.id)
        t_all = np.zeros(0, np.int64) if g is None else g["t"].to_numpy(np.int64)
        v_all = np.zeros(0) if g is None else g["value"].to_numpy(np.float64)
        order = np.argsort(t_all, kind="stable")
        t_all, v_all = t_all[order], v_all[order]
        inside = (t_all >= a) & (t_all < b)
        t, v = t_all[inside], v_all[inside]
        if s.id in personal:
            v = np.full(len(t), np.nan)
            cfg = replace(cfg, stuck_steps=0, limits=None)
        before = t_all[(t_all >= a - LOOKBACK_S) & (t_all < a)]
        t_last = (int(before[-1]) if len(before) else None) if (len(t) == 0 or t[0] > a + cfg.step_s) else None
        first = int(t_all[0]) if len(t_all) else health.NO_READING_YET
        r = health.check_series(s.id, t, v, a, b, at, cfg, t_last, t_first=first)
        out.append((s.id, r.received, r.expected, r.missing_seconds, r.status.value, len(r.gaps), len(r.alerts)))
    return pd.DataFrame(out, columns=["series_id", "received", "expected", "missing_s", "status", "gaps", "alerts"])


def cluster_health(spark: SparkSession, lake: str, start: int, end: int, now: int | None = None,
                   territories: list[str] | None = None,
                   storage_options: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Every series' health over [start, end) (UTC s) judged at ``now`` (default ``end``): one row per series."""
    metas = read_metas(lake, storage_options, territories)
    parts = partitions(lake, storage_options)
    at = end if now is None else now
    fs, root = layout.open_lake(lake, storage_options)
    tasks = []
    for tid, m in metas.items():
        table = pq.read_table(f"{root}/{layout.series_path(tid)}", filesystem=fs, columns=["series_id", "personal"])
        personal = [sid for sid, p in zip(*(table[c].to_pylist() for c in ("series_id", "personal")), strict=True)
                    if p]  # fmt: skip
        for kind in sorted({s.kind.value for s in m.series}):
            mine = sorted(p for p in parts if p.startswith(f"readings/territory={tid}/kind={kind}/"))
            tasks.append({"territory": tid, "kind": kind, "parts": mine, "personal": personal})

    def per_kind(task: dict[str, Any]) -> pd.DataFrame:
        m = metas[task["territory"]]
        series = [s for s in m.series if s.kind.value == task["kind"]]
        rows = read_rows(lake, storage_options, task["parts"])
        out = series_health(rows, series, set(task["personal"]), start, end, at)
        return out.assign(territory=task["territory"])[[c.split()[0] for c in OUT_SCHEMA.split(", ")]]

    return run_tasks(spark, tasks, per_kind, OUT_SCHEMA).toPandas()
