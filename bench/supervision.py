"""Benchmark grid supervision and the savings model on the demo year, on SQLite and on PostgreSQL.

Prints a table and writes ``bench/results/supervision.json``:
- the full supervision pass (every transformer: loading, duration curve, peaks, monthly losses, alerts;
  and the data health of every series) over the demo year,
- the transformers alone and the data health alone,
- a savings baseline fit (CalTRACK daily change-point grid search, HDD + CDD) on a demo building's year of
  daily energy against the village thermometer, with and without reading the store,
- the same fit on OpenEEmeter's sample meter (``tests/data/openeemeter_il_daily.csv.gz``).

Run: ``.venv/bin/python bench/supervision.py [--postgres URL] [--seed 42]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from rich.console import Console
from rich.table import Table

from regie.analytics import degree_days as dd
from regie.analytics import savings as sv
from regie.demo import build_prats, schools
from regie.demo.install import install
from regie.demo.schools import build_schools
from regie.services.supervision import data_health, supervision_report, transformer_report
from regie.store import open_store

RESULTS = Path(__file__).parent / "results" / "supervision.json"
SAMPLE = Path(__file__).parents[1] / "tests" / "data" / "openeemeter_il_daily.csv.gz"
BUILDING = "cons-commune-ecole"


def best_of(n: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def building_fit(store, zone, a: int, b: int):
    t, temp = store.read("temp-prats", a, b)
    days = dd.daily_temperature(t, temp, zone, a, b, step_s=1800)
    t, p = store.read(BUILDING, a, b)
    _, wh = sv.daily_energy(t, p, 1800, zone, a, b)
    return sv.fit_baseline(days.midrange, wh)


def run_backend(name: str, url: str, demo) -> dict:
    store = open_store(url)
    install(store, demo)
    zone = demo.inventory.territory.zone
    a, b = int(demo.t[0]), int(demo.t[-1]) + 1800
    start, end = datetime.fromtimestamp(a, zone), datetime.fromtimestamp(b, zone)
    supervision_report(store, start, end)  # warm the inventory cache
    full_s, report = best_of(3, lambda: supervision_report(store, start, end))
    tr_s, _ = best_of(3, lambda: [transformer_report(store, t.id, start, end) for t in demo.inventory.transformers])
    health_s, _ = best_of(3, lambda: data_health(store, start, end))
    fit_store_s, fit = best_of(5, lambda: building_fit(store, zone, a, b))
    store.close()
    over = {r["transformer"]: r["loading"]["hours_over_100"] for r in report["transformers"]}
    return {
        "backend": name,
        "transformers": len(report["transformers"]),
        "series_checked": len(report["health"]),
        "full_pass_s": full_s,
        "transformers_s": tr_s,
        "data_health_s": health_s,
        "building_read_and_fit_s": fit_store_s,
        "alerts": dict(Counter(a["kind"] for a in report["alerts"])),
        "hours_over_100_by_transformer": over,
        "max_loading": max(r["loading"]["max"] for r in report["transformers"]),
        "loss_ratio_by_transformer": {r["transformer"]: r["losses"]["total_ratio"] for r in report["transformers"]},
        "building_model": {"kind": fit.model.kind, "hdd_bp_c": fit.model.hdd_bp, "cdd_bp_c": fit.model.cdd_bp,
                           "cv_rmse": fit.model.cv_rmse, "candidates": fit.candidates},
    }


def fit_only() -> dict:
    demo_free = {}
    df = pd.read_csv(SAMPLE)
    d = df[(df["sample"] == "il-electricity-cdd-hdd-daily") & (df.period == "baseline")]
    temp, use = ((d.temperature_f - 32) / 1.8).to_numpy(), d.observed.to_numpy()
    s, fit = best_of(10, lambda: sv.fit_baseline(temp, use))
    demo_free["openeemeter_sample_fit_s"] = s
    demo_free["openeemeter_sample_candidates"] = fit.candidates
    rng = np.random.default_rng(0)
    t2 = rng.normal(12, 6, 730)
    y2 = 100 + 5 * sv.hdd(t2, 15) + 3 * sv.cdd(t2, 22) + rng.normal(0, 5, 730)
    s2, _ = best_of(10, lambda: sv.fit_baseline(t2, y2))
    demo_free["two_year_fit_s"] = s2
    demo_free.update(schools_renovation())
    return demo_free


def schools_renovation() -> dict:
    """The schools demo's renovated school: daily energy and degree days, baseline fit, avoided energy."""
    d = build_schools()
    zone = d.inventory.territory.zone
    t = d.hourly.t
    a, b = int(t[0]), int(t[-1]) + 3600
    w0, w1 = (int(datetime(x.year, x.month, x.day, tzinfo=zone).timestamp()) for x in d.works)

    first = datetime.fromtimestamp(a, zone).date()

    def run():
        days = dd.daily_temperature(t, d.hourly.values["temp-lorient"], zone, a, b, step_s=3600)
        starts, wh = sv.daily_energy(t, d.hourly.values["cons-ecole-merville"], 3600, zone, a, b)
        # the school calendar: one intercept per day type (term day, Wednesday, weekend, holiday)
        types = schools.day_types(first, first + timedelta(days=len(wh)))
        base, rep = starts[:-1] < w0, starts[:-1] >= w1
        fit = sv.fit_baseline(days.midrange[base], wh[base], day_type=types[base])
        return fit, sv.avoided_energy(fit.model, days.midrange[rep], wh[rep], day_type=types[rep]), rep

    s, (fit, sav, rep) = best_of(5, run)
    _, wh = sv.daily_energy(t, d.hourly.values["cons-ecole-merville"], 3600, zone, a, b)
    _, cf = sv.daily_energy(t, d.without_works["cons-ecole-merville"], 3600, zone, a, b)
    return {"schools_renovation_s": s, "schools_avoided_wh": sav.avoided,
            "schools_true_avoided_wh": float((cf - wh)[rep].sum()),
            "schools_uncertainty_68_wh": sav.uncertainty[0.68], "schools_uncertainty_90_wh": sav.uncertainty[0.90],
            "schools_cv_rmse": fit.model.cv_rmse}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    console = Console()
    demo = build_prats(seed=args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", demo))
    schema = f"regie_bench_{uuid.uuid4().hex[:8]}"
    raw = args.postgres.replace("postgresql+psycopg", "postgresql")
    try:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        console.print(f"[yellow]PostgreSQL not reachable, skipped: {exc}[/]")
    else:
        try:
            rows.append(run_backend("postgresql", f"{args.postgres}?options=-csearch_path%3D{schema}", demo))
        finally:
            with psycopg.connect(raw, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    fits = fit_only()

    r0 = rows[0]
    table = Table(title=f"supervision benchmark — demo year, {r0['transformers']} transformers, "
                        f"{r0['series_checked']} series")
    for col in ("backend", "full pass", "transformers", "data health", "building read + fit"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["backend"], f"{r['full_pass_s']:.2f} s", f"{r['transformers_s']:.2f} s",
                      f"{r['data_health_s']:.2f} s", f"{r['building_read_and_fit_s'] * 1000:.0f} ms")
    console.print(table)
    fit_table = Table(title="savings baseline fit (CalTRACK daily, HDD + CDD grid)")
    fit_table.add_column("data", justify="left")
    fit_table.add_column("candidates", justify="right")
    fit_table.add_column("time", justify="right")
    fit_table.add_row("OpenEEmeter sample, 365 days", str(fits["openeemeter_sample_candidates"]),
                      f"{fits['openeemeter_sample_fit_s'] * 1000:.1f} ms")
    fit_table.add_row("synthetic, 730 days", str(fits["openeemeter_sample_candidates"]),
                      f"{fits['two_year_fit_s'] * 1000:.1f} ms")
    fit_table.add_row("schools demo: days + fit + avoided", "", f"{fits['schools_renovation_s'] * 1000:.1f} ms")
    console.print(fit_table)
    console.print(f"renovated school: avoided {fits['schools_avoided_wh'] / 1e6:.2f} MWh "
                  f"± {fits['schools_uncertainty_68_wh'] / 1e6:.2f} (68 %), "
                  f"true {fits['schools_true_avoided_wh'] / 1e6:.2f} MWh, "
                  f"CV(RMSE) {fits['schools_cv_rmse']:.0%}")
    console.print(f"alerts on the demo year: {r0['alerts']}; max loading {r0['max_loading']:.0%}; "
                  f"hours over 100 %: { {k: v for k, v in r0['hours_over_100_by_transformer'].items() if v} }")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "supervision",
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": rows,
        "fits": fits,
    }, indent=2) + "\n")
    console.print(f"figures written to {RESULTS}")


if __name__ == "__main__":
    main()
