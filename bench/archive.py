"""`regie archive` on a bench-sized year: peak resident memory and time, the whole year in memory (before) against
the month files streamed a row group at a time (after, :data:`regie.lake.archive.FLUSH_POINTS`).

A PostgreSQL store of ``--curves`` households (30-minute load curves, each a member's, so read through the gate
and logged) holding 2023 and January 2024 is built once per variant (archiving drops the year), then 2023 is
archived to a fresh lake by a child process that imports regie from the variant's tree: this one (after) and
``main`` exported with ``git archive`` (before), unless ``--before`` names another tree. The child reports its
resident memory once the store is open and its peak (``ru_maxrss``) after the archive.

Prints a table and writes ``bench/results/archive.json``. The machine is shared: run it with ``nice -n 10`` and
read the load average written beside the figures.

Run: ``.venv/bin/python bench/archive.py --curves 1000 [--postgres URL] [--before DIR]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/signal.py bears the standard library's `signal` name: with bench/ first on the path (`python
# bench/archive.py`), `import subprocess` would get that script.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PARIS = ZoneInfo("Europe/Paris")
LATER = int(datetime(2026, 12, 1, tzinfo=PARIS).timestamp())

CHILD = """
import json, resource, sys, time
import regie.lake.archive
from regie.lake.archive import archive_year
from regie.store import open_store

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

store = open_store(sys.argv[1])
store.load_inventory("town")
base = rss_mb()
t0 = time.perf_counter()
report = archive_year(store, 2023, sys.argv[2], now=int(sys.argv[3]))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": regie.lake.archive.__file__, "points": report.points, "files": len(report.files),
                  "seconds": seconds, "base_rss_mb": base, "peak_rss_mb": peak}))
"""


def build(url: str, curves: int) -> int:
    """The town's households and their 2023 and January 2024, through ``Store.write``; returns the points."""
    sys.path.insert(0, str(ROOT))
    from regie.model import (
        DeliveryPoint,
        Inventory,
        Membership,
        Person,
        Readings,
        Series,
        SeriesKind,
        Site,
        Step,
        Territory,
    )
    from regie.store import open_store

    prms = [f"{30_000_000_000_000 + i:014d}" for i in range(curves)]
    inv = Inventory(
        Territory("town", "Town"),
        sites=[Site(f"home-{i}", f"Home {i}", "town") for i in range(curves)],
        delivery_points=[DeliveryPoint(p, f"home-{i}") for i, p in enumerate(prms)],
        persons=[Person(f"p{i}", f"Household {i}") for i in range(curves)],
        memberships=[Membership(f"p{i}", p, date(2020, 1, 1)) for i, p in enumerate(prms)],
        series=[Series(f"load-{i}", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=p)
                for i, p in enumerate(prms)],
    )  # fmt: skip
    store = open_store(url)
    store.save_inventory(inv)
    t = np.arange(int(datetime(2023, 1, 1, tzinfo=PARIS).timestamp()),
                  int(datetime(2024, 2, 1, tzinfo=PARIS).timestamp()), 1800, dtype=np.int64)  # fmt: skip
    rng = np.random.default_rng(3)
    shape = 400 + 300 * np.sin(2 * np.pi * (t % 86400) / 86400)
    for i in range(0, curves, 64):
        store.write([Readings(f"load-{k}", t, np.rint(np.abs(shape * rng.uniform(0.5, 1.5)
                                                             + rng.normal(0, 80, len(t)))))
                     for k in range(i, min(curves, i + 64))])  # fmt: skip
    store.close()
    return curves * len(t)


def run(code: Path, postgres: str, curves: int, scratch: Path) -> dict:
    schema = f"regie_archive_{uuid.uuid4().hex[:8]}"
    raw = postgres.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{postgres}?options=-csearch_path%3D{schema}"
    try:
        t0 = time.perf_counter()
        points = build(url, curves)
        write_s = time.perf_counter() - t0
        lake = scratch / f"lake-{schema}"
        env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
        # run from the scratch folder: `python -c` puts the working folder first on the path, before PYTHONPATH's tree
        out = subprocess.run([sys.executable, "-c", CHILD, url, str(lake), str(LATER)], env=env, check=True,
                             capture_output=True, text=True, cwd=scratch).stdout  # fmt: skip
        got = json.loads(out.strip().splitlines()[-1])
        got |= {"stored_points": points, "write_s": write_s,
                "lake_bytes": sum(p.stat().st_size for p in lake.rglob("*") if p.is_file())}  # fmt: skip
        return got
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--before", type=Path, help="a tree of regie to compare with (default: main, exported)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        before = args.before
        if before is None:
            before = scratch / "main"
            before.mkdir()
            tar = subprocess.run(["git", "-C", str(ROOT), "archive", "main", "regie"], check=True,
                                 capture_output=True).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", str(before)], input=tar, check=True)
        rows["before (whole year in memory)"] = run(before, args.postgres, args.curves, scratch)
        rows["after (streamed month files)"] = run(ROOT, args.postgres, args.curves, scratch)
    table = Table(title=f"regie archive 2023: {args.curves:,} half-hourly curves")
    for col in ("", "points", "archive [s]", "RSS open [MB]", "peak RSS [MB]", "peak − open [MB]", "lake [MB]"):
        table.add_column(col, justify="right")
    for name, r in rows.items():
        table.add_row(name, f"{r['points']:,}", f"{r['seconds']:.1f}", f"{r['base_rss_mb']:.0f}",
                      f"{r['peak_rss_mb']:.0f}", f"{r['peak_rss_mb'] - r['base_rss_mb']:.0f}",
                      f"{r['lake_bytes'] / 1e6:.1f}")  # fmt: skip
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "archive.json").write_text(json.dumps({
        "benchmark": "archive",
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "curves": args.curves,
        "results": rows,
    }, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
