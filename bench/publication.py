"""Benchmark the public face on the demo year: the territory page and ``/api/balance``, cold and warm.

Prints a table and writes ``bench/results/publication.json`` (one entry per ``--label``, so a run of the code
before the publication, ``--label before`` with that tree first on PYTHONPATH, sits next to ``after``):

- the territory page ``/``, cold (the first request after the store was filled: it reads every point through
  the gate and freezes the year's cells) and warm (best of 5);
- ``/api/balance`` over the whole year at P1M and P1D, and over one day at PT30M (warm, best of 5);
- the cold request again after one household's correction (the publication brought up to date);
- the peak resident memory of the process;
- side by side, in the same run, DuckDB over the same raw points (every consumption and production reading of
  the year, loaded into an in-memory DuckDB table): the yearly daily balance (consumption, production by source,
  self-consumed energy per metering step) — what a column engine needs without secrecy or frozen cells;
- the refresh after a 10-minute ingest batch at the live edge (issue 15: ≤ 1 s): one reading for each plant
  and for a tenth of the households (the instrumented ones: a typical live feed), and for every household (the
  worst case); five batches in a row, the time the publication's listener takes after each committed write
  (the first one grows the kept matrices by a week of steps), and the page served afterwards (it reads
  nothing: checked on the access log).

Only the web app is used, so the same script measures any version of regie. SQLite in a temporary folder.
Run: ``.venv/bin/python bench/publication.py --label after [--seed 42]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from regie.demo import build_prats
from regie.demo.install import install
from regie.governance import audit
from regie.model import Readings, SeriesKind
from regie.publication import balance as publication_balance
from regie.store import open_store
from regie.web.app import create_app

RESULTS = Path(__file__).parent / "results" / "publication.json"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_of(n: int, fn) -> float:
    return min(timed(fn) for _ in range(n))


def live_batch(inv, t: int, every: int) -> list[Readings]:
    """One reading at ``t`` for every plant and every ``every``-th household (a 10-minute live batch)."""
    out = []
    homes = [s for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.id.startswith("cons-")]
    plants = [s for s in inv.series if s.kind is SeriesKind.PRODUCTION]
    for s in plants + homes[::every]:
        out.append(Readings(s.id, np.array([t], dtype=np.int64), np.array([500.0])))
    return out


def duckdb_balance(store, inv, zone: str) -> tuple[float, pd.DataFrame]:
    """The yearly daily balance by DuckDB over the raw points (read from the store, outside any gate: a
    benchmark of the engine, not a way to serve the public)."""
    producers = {p.id: p.source.value for p in inv.producers}
    frames = []
    for s in inv.series:
        if s.unit != "W" or s.kind not in (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION):
            continue
        t, v = store.read(s.id, 0, 2**40)
        fig = "consumption" if s.kind is SeriesKind.CONSUMPTION else producers.get(s.producer_id or "", "other")
        frames.append(pd.DataFrame({"figure": fig, "t": np.asarray(t, dtype=np.int64), "w": np.asarray(v)}))
    points = pd.concat(frames, ignore_index=True)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.register("points", points)
    con.execute("CREATE TABLE raw AS SELECT * FROM points")
    query = """
        WITH step AS (
            SELECT t, SUM(w) FILTER (WHERE figure = 'consumption') * 0.5 AS cons,
                      SUM(w) FILTER (WHERE figure <> 'consumption') * 0.5 AS prod
            FROM raw WHERE w = w GROUP BY t)
        SELECT date_trunc('day', to_timestamp(t)) AS day, SUM(cons) AS consumption_wh, SUM(prod) AS production_wh,
               SUM(least(coalesce(cons, 0), coalesce(prod, 0))) AS self_consumed_wh
        FROM step GROUP BY day ORDER BY day"""
    best, out = float("inf"), None
    for _ in range(5):
        t0 = time.perf_counter()
        out = con.execute(query).df()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after", help="name of this run in the results (before / after)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    demo = build_prats(seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/demo.sqlite")
        install(store, demo)
        zone = demo.inventory.territory.zone
        first = int(demo.t[0])
        day = time.strftime("%Y-%m-%d", time.gmtime(first + 40 * 86_400))
        next_day = time.strftime("%Y-%m-%d", time.gmtime(first + 41 * 86_400))
        with TestClient(create_app(store)) as client:
            def get(url: str, **params: str) -> None:
                r = client.get(url, params=params)
                assert r.status_code == 200, (url, r.status_code, r.text[:300])

            rows = {"page cold": timed(lambda: get("/"))}
            rows["page warm (best of 5)"] = best_of(5, lambda: get("/"))
            rows["/api/balance year P1M"] = best_of(5, lambda: get("/api/balance", step="P1M"))
            rows["/api/balance year P1D"] = best_of(5, lambda: get("/api/balance", step="P1D"))
            rows["/api/balance day PT30M"] = best_of(5, lambda: get("/api/balance", start=day, end=next_day,
                                                                      step="PT30M"))  # fmt: skip
            rows["/api/balance year P1D (best of 20)"] = best_of(20, lambda: get("/api/balance", step="P1D"))
            duck, duck_rows = duckdb_balance(store, demo.inventory, zone.key)
            rows["DuckDB year P1D, same raw points (best of 5)"] = duck
            answer = client.get("/api/balance", params={"step": "P1D"}).json()
            cons = np.array([x or 0.0 for x in answer["periods"]["consumption_wh"]])
            rows_checked = np.allclose(cons, duck_rows["consumption_wh"].to_numpy(), rtol=0, atol=1e-3)
            last = int(store.data_period()[1].timestamp())
            refresh: list[float] = []
            listener = publication_balance._on_change

            def timed_listener(*a: object) -> None:
                t0 = time.perf_counter()
                listener(*a)
                refresh.append(time.perf_counter() - t0)

            store._listeners[:] = [timed_listener]  # the publication's own listener, timed
            for label, every in (("typical: plants + 1/10 households", 10), ("every household + plants", 1)):
                refresh.clear()
                for _ in range(5):  # five successive batches at the live edge
                    last += 1800
                    store.write(live_batch(demo.inventory, last, every))
                rows[f"refresh, 10-min batch, {label}: first (the period grows)"] = refresh[0]
                rows[f"refresh, 10-min batch, {label}: median of the next 4"] = float(np.median(refresh[1:]))
                before = len(audit.entries(store, kind="access"))
                rows[f"page after those batches ({label})"] = timed(lambda: get("/"))
                assert len(audit.entries(store, kind="access")) == before, "a page view read personal data"
            series = next(s for s in demo.inventory.series if s.id.startswith("cons-"))
            t, v = store.read(series.id, first, first + 86_400)
            store.write([Readings(series.id, t, np.asarray(v) * 1.01)])  # one household's correction
            rows["page cold after a correction"] = timed(lambda: get("/"))
        store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title=f"publication bench ({args.label}), demo year, SQLite, {zone}")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.3f}")
    table.add_row("peak RSS [MB]", f"{peak_mb:.0f}")
    table.add_row("DuckDB daily consumption = /api/balance to the mWh", str(rows_checked))
    Console().print(table)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {"seconds": {k: round(v, 4) for k, v in rows.items()}, "peak_rss_mb": round(peak_mb),
                           "duckdb_equal_to_the_mwh": bool(rows_checked),
                           "series": len(demo.inventory.series), "machine": platform.machine(),
                           "python": platform.python_version()}  # fmt: skip
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
