"""Benchmark the public face on the demo year: the territory page and ``/api/balance``, cold and warm.

Prints a table and writes ``bench/results/publication.json`` (one entry per ``--label``, so a run of the code
before the publication, ``--label before`` with that tree first on PYTHONPATH, sits next to ``after``):

- the territory page ``/``, cold (the first request after the store was filled: it reads every point through
  the gate and freezes the year's cells) and warm (best of 5);
- ``/api/balance`` over the whole year at P1M and P1D, and over one day at PT30M (warm, best of 5);
- the cold request again after one household's correction (the publication brought up to date);
- the peak resident memory of the process.

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

import numpy as np
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from regie.demo import build_prats
from regie.demo.install import install
from regie.model import Readings
from regie.store import open_store
from regie.web.app import create_app

RESULTS = Path(__file__).parent / "results" / "publication.json"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_of(n: int, fn) -> float:
    return min(timed(fn) for _ in range(n))


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
    Console().print(table)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {"seconds": {k: round(v, 4) for k, v in rows.items()}, "peak_rss_mb": round(peak_mb),
                           "series": len(demo.inventory.series), "machine": platform.machine(),
                           "python": platform.python_version()}  # fmt: skip
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
