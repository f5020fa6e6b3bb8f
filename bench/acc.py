"""Benchmark the ACC allocation keys on a year at 15-minute steps for 1,000 consumers.

Prints a table and writes ``bench/results/acc.json``:
- time per key for 35,040 steps × 1,000 consumers (one PV producer), best of N runs;
- effective bandwidth = (bytes of consumption read + bytes of allocation written) / time, against a plain
  numpy copy of the same array (which moves the same bytes): the memory-bandwidth reference;
- goals (issue 5): priority key (3 levels) under 1 s; default key near memory-bandwidth speed.

Run: ``.venv/bin/python bench/acc.py [--seed 42] [--consumers 1000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from regie.analytics import acc

RESULTS = Path(__file__).parent / "results" / "acc.json"
STEPS_PER_YEAR = 365 * 96  # 15-minute steps


def best_of(n: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def scenario(seed: int, n_consumers: int, n_steps: int = STEPS_PER_YEAR) -> dict[str, np.ndarray]:
    """A PV park sized so that midday production is about the operation's consumption, plus households.

    Energy per 15-min step [Wh]. Some cells are NaN (meter gaps) and 2 % of consumers join mid-year.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)
    hour = (t % 96) / 4
    day = t // 96
    season = 0.65 + 0.35 * np.sin(2 * np.pi * (day - 80) / 365)
    sun = np.clip(np.sin(np.pi * (hour - 6) / 14), 0, None) * season
    clouds = np.clip(rng.normal(0.8, 0.25, n_steps), 0.05, 1.0)
    base = rng.lognormal(mean=np.log(120), sigma=0.5, size=n_consumers)  # Wh per 15 min ≈ 480 W average
    shape = 0.6 + 0.4 * np.sin(2 * np.pi * (hour - 14) / 24) ** 2
    cons = (base[None, :] * shape[:, None]) * rng.gamma(4.0, 0.25, (n_steps, n_consumers))
    cons[rng.random(cons.shape) < 1e-4] = np.nan
    production = sun * clouds * base.sum() * 1.6
    production[rng.random(n_steps) < 1e-3] = np.nan  # producer gaps
    active = np.ones(cons.shape, dtype=bool)
    late = rng.choice(n_consumers, size=max(1, n_consumers // 50), replace=False)
    active[: n_steps // 2, late] = False
    levels = rng.integers(1, 4, n_consumers)  # 3 levels, interleaved (not sorted by level)
    weights = rng.uniform(0.5, 2.0, n_consumers)
    shares = rng.dirichlet(np.ones(n_consumers)) * 0.99
    return {"production": production, "consumption": cons, "active": active, "levels": levels,
            "weights": weights, "shares": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--consumers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    console = Console(width=120)
    s = scenario(args.seed, args.consumers)
    p, c, active = s["production"], s["consumption"], s["active"]
    clean = np.nan_to_num(c)  # data already checked at ingest: the fast path (no copy, no mask)
    moved = 2 * c.nbytes  # read consumption once, write the allocation once
    copy_s, _ = best_of(args.repeat, lambda: c.copy())
    cases = {
        "numpy copy (reference)": None,
        "default_dynamic": lambda: acc.default_dynamic(p, c, active),
        "default_dynamic (no mask)": lambda: acc.default_dynamic(p, c),
        "default_dynamic (clean, no mask)": lambda: acc.default_dynamic(p, clean),
        "static": lambda: acc.static(p, c, s["shares"], active),
        "priority, 3 levels, weights": lambda: acc.priority(p, c, s["levels"], s["weights"], active=active),
        "priority, 3 levels, equal": lambda: acc.priority(p, c, s["levels"], active=active),
        "priority, 3 levels, by consumption": lambda: acc.priority(p, c, s["levels"], share="consumption",
                                                                   active=active),
    }
    rows = [{"case": "numpy copy (reference)", "seconds": copy_s, "gb_per_s": moved / copy_s / 1e9,
             "vs_copy": 1.0}]
    for name, fn in cases.items():
        if fn is None:
            continue
        secs, alloc = best_of(args.repeat, fn)
        rows.append({"case": name, "seconds": secs, "gb_per_s": moved / secs / 1e9, "vs_copy": copy_s / secs,
                     "self_consumption_rate": alloc.self_consumption_rate,
                     "self_production_rate": alloc.self_production_rate})
    keys_s, _ = best_of(max(1, args.repeat // 2),
                        lambda: acc.dynamic_keys(acc.priority(p, c, s["levels"], s["weights"], active=active)))
    table = Table(title=f"ACC allocation — {c.shape[0]:,} steps (PT15M, one year) × {c.shape[1]:,} consumers, "
                        f"{c.nbytes / 1e6:,.0f} MB per array")
    table.add_column("case", no_wrap=True)
    for col in ("time", "GB/s", "× copy", "autocons.", "autoprod."):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        rate = r.get("self_consumption_rate")
        prod_rate = r.get("self_production_rate")
        table.add_row(r["case"], f"{r['seconds'] * 1000:.0f} ms", f"{r['gb_per_s']:.2f}", f"{r['vs_copy']:.2f}",
                      "" if rate is None else f"{rate:.1%}", "" if prod_rate is None else f"{prod_rate:.1%}")
    console.print(table)
    prio = next(r for r in rows if r["case"] == "priority, 3 levels, weights")["seconds"]
    verdict = "[green]met[/]" if prio < 1 else "[red]missed[/]"
    console.print(f"goal: priority key under 1 s → {prio:.2f} s, {verdict}; "
                  f"priority + key file (dynamic_keys): {keys_s:.2f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "acc",
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count()},
        "steps": c.shape[0], "consumers": c.shape[1], "array_bytes": c.nbytes, "seed": args.seed,
        "results": rows,
        "priority_plus_keys_s": keys_s,
    }, indent=2) + "\n")
    console.print(f"figures written to {RESULTS}")


if __name__ == "__main__":
    main()
