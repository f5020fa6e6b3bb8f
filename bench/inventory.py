"""Benchmark the inventory workbook on a territory of 2,000 delivery points.

Builds a synthetic inventory (2,000 homes with their delivery point, holder and membership, 20 transformers,
10 producers, an ACC operation of 30 consumers), imports it into an empty territory, then times, for XLSX,
ODS and a folder of CSV: writing the export, reading it back (python-calamine; for ODS also odfpy through
pandas when it is installed, the other reader on offer), and checking + diffing it against the store (an
import that changes nothing). Prints a table and writes ``bench/results/inventory.json``.

Run: ``.venv/bin/python bench/inventory.py [--points 2000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import tempfile
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from regie.governance.accounts import CLI_ADMIN
from regie.inventory import Book, apply_book, book_of, read_book, template, write_book
from regie.model import Inventory, Territory
from regie.store import open_store

RESULTS = Path(__file__).parent / "results" / "inventory.json"
TERRITORY = "bench"


def synthetic(points: int) -> Book:
    """A territory's workbook with ``points`` homes (one delivery point, one person, one membership each)."""
    book = template()
    book["about"][0].update(territory=TERRITORY, name="Bench", latitude="42.4", longitude="2.47", insee="66150")
    book["sites"], book["delivery_points"], book["persons"], book["memberships"] = [], [], [], []
    book["transformers"] = [{"id": f"tr-{t:02d}", "name": f"Poste {t}", "rated_kva": "400", "power_factor": "0.95"}
                            for t in range(20)]
    book["producers"] = []
    book["acc_participants"] = []
    for i in range(points):
        prm = f"{50100000000000 + i * 7919:014d}"
        lat, lon = 42.40 + (i % 50) * 0.0002, 2.47 + (i // 50) * 0.0002
        book["sites"].append({"id": f"home-{i:05d}", "name": f"Logement {i}", "latitude": f"{lat:.5f}",
                              "longitude": f"{lon:.5f}", "altitude_m": "750"})
        book["delivery_points"].append({"prm": prm, "site": f"home-{i:05d}", "segment": "C5", "subscribed_kva": "6",
                                        "usage": "residential", "transformer": f"tr-{i % 20:02d}"})
        book["persons"].append({"id": f"p{i:05d}", "name": f"Personne {i}", "email": f"p{i}@example.org"})
        book["memberships"].append({"holder": f"p{i:05d}", "prm": prm, "since": "2015-01-01"})
        if i < 10:
            book["producers"].append({"id": f"pv-{i}", "name": f"PV {i}", "source": "pv", "peak_power_w": "9000",
                                      "prm": prm, "site": f"home-{i:05d}", "commissioned": "2021-06-01"})
        role = "producer" if i < 2 else "consumer"
        if i < 32:
            book["acc_participants"].append({
                "operation": "acc-soleil", "prm": prm, "role": role, "entry": "2024-12-01",
                "type": "household", "priority": "1", "weight": "1", "peak_power_w": "9000" if i < 2 else None,
                "latitude": f"{lat:.5f}", "longitude": f"{lon:.5f}", "density": "rural",
                "name": f"Logement {i}", "static_share": None if i < 2 else "0.03"})
    return book


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="regie-bench-inventory-"))
    store = open_store(f"sqlite:///{tmp / 'bench.sqlite'}")
    store.save_inventory(Inventory(Territory(TERRITORY, "Bench", "Europe/Paris", 42.4, 2.47)))
    book = synthetic(args.points)
    t0 = time.perf_counter()
    apply_book(store, CLI_ADMIN, TERRITORY, book)
    first_import = time.perf_counter() - t0
    exported = book_of(store, TERRITORY)
    rows = sum(len(v) for v in exported.sheets.values())
    results = {"points": args.points, "rows": rows, "first_import_s": round(first_import, 3), "formats": {}}
    table = Table(title=f"inventory workbook, {args.points:,} delivery points, {rows:,} rows (best of {args.repeat})")
    for col in ("format", "size", "write s", "read s (calamine)", "read s (odfpy)", "check + diff s"):
        table.add_column(col, justify="right")
    for name in ("inventory.xlsx", "inventory.ods", "inventory-csv"):
        path = tmp / name
        t_write, _ = _best(lambda path=path: write_book(path, exported), args.repeat)
        t_read, read = _best(lambda path=path: read_book(path), args.repeat)
        t_check, changes = _best(lambda read=read: apply_book(store, CLI_ADMIN, TERRITORY, read, dry_run=True),
                                 args.repeat)
        assert changes.empty, changes.counts()
        t_odf = None
        if name.endswith(".ods") and importlib.util.find_spec("odf") is not None:  # odfpy, if installed
            import pandas as pd

            t_odf, _ = _best(lambda path=path: pd.read_excel(path, sheet_name=None, engine="odf", dtype=str), 1)
        size = sum(p.stat().st_size for p in path.glob("*")) if path.is_dir() else path.stat().st_size
        fmt = name.split(".")[-1] if "." in name else "csv folder"
        results["formats"][fmt] = {"bytes": size, "write_s": round(t_write, 3), "read_s": round(t_read, 3),
                                   "read_odfpy_s": round(t_odf, 3) if t_odf else None,
                                   "check_diff_s": round(t_check, 3)}
        table.add_row(fmt, f"{size / 1024:,.0f} KiB", f"{t_write:.3f}", f"{t_read:.3f}",
                      f"{t_odf:.3f}" if t_odf else "", f"{t_check:.3f}")
    store.close()
    results["machine"] = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()}
    results["at"] = datetime.now().isoformat(timespec="seconds")
    Console().print(table)
    Console().print(f"first import of the {rows:,} rows into an empty territory: {first_import:.2f} s")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
