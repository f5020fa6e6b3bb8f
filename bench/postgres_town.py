"""A town in PostgreSQL (issue 13, part 5): ~30,000 load curves for a year, written through the normal write
path (``Store.write``, one transaction per 64 series, as ``regie demo`` installs), then the yearly balance.

Prints a table and writes ``bench/results/postgres_town-<curves>x<months>.json``:
- write time and points/s through ``Store.write`` (chunks, rollups, the yearly partitions of ``chunk``),
- bytes per point: ``pg_total_relation_size`` of every relation of the store's schema (the chunk partitions,
  their indexes and TOAST included) over the raw points, after ``VACUUM ANALYZE``,
- the territory's daily balance over the period (``territory_balance`` at P1D, through the gate, as the
  publication computes it), first run and second run.

The town is the Prats demo (its ~700 series: households, trades, plants, weather) plus copies of its households
up to ``--curves`` series: each copy is a demo household's year shifted by a random number of days and scaled by
0.6–1.4, in whole watts, with its own site, delivery point, holder and membership. The machine is shared:
run it with ``nice -n 10`` and read the load average written beside the figures.

Run: ``.venv/bin/python bench/postgres_town.py --curves 3000 --months 12 [--postgres URL] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import uuid
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import psycopg
from rich.console import Console
from rich.table import Table

from regie.demo import build_prats
from regie.demo.install import SERIES_PER_TRANSACTION
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Meter,
    Person,
    Readings,
    Series,
    SeriesKind,
    Step,
)
from regie.services.balance import territory_balance
from regie.store import open_store

RESULTS = Path(__file__).parent / "results"
STEPS_PER_DAY = 48


def town_inventory(demo, curves: int) -> tuple[Inventory, list[tuple[str, str, int, float]]]:
    """The demo's inventory plus household copies up to ``curves`` series; the copies as (series id, demo
    household it copies, shift in days, scale)."""
    inv = demo.inventory
    households = [s for s in inv.series if s.id.startswith("cons-hh")]
    extra = max(0, curves - len(inv.series))
    rng = np.random.default_rng(13)
    since = min(m.since for m in inv.memberships)
    town = replace(inv, sites=list(inv.sites), delivery_points=list(inv.delivery_points), meters=list(inv.meters),
                   persons=list(inv.persons), memberships=list(inv.memberships), series=list(inv.series))  # fmt: skip
    copies = []
    base = next(s for s in inv.sites if s.id.startswith("home-"))
    for i in range(extra):
        src = households[i % len(households)]
        prm = f"{99_000_000_000_000 - 1 - i:014d}"[-14:]
        pid, sid, site_id = f"tp{i:05d}", f"cons-town-{i:05d}", f"town-home-{i:05d}"
        town.persons.append(Person(pid, f"Foyer {i}"))
        town.sites.append(replace(base, id=site_id, name=f"Logement {i}"))
        town.delivery_points.append(DeliveryPoint(prm, site_id, "C5", 9.0, "residential"))
        town.meters.append(Meter(f"linky-{prm}", "linky", prm=prm))
        town.memberships.append(Membership(pid, prm, since))
        town.series.append(Series(sid, SeriesKind.CONSUMPTION, "W", src.step, src.convention, 1.0, f"Foyer {i}",
                                  prm=prm, site_id=site_id))  # fmt: skip
        copies.append((sid, src.id, int(rng.integers(0, 365)), float(rng.uniform(0.6, 1.4))))
    return town, copies


def relation_bytes(url_schema: str, raw: str) -> tuple[int, int]:
    """(every relation of the schema, the chunk partitions only), ``pg_total_relation_size`` each."""
    with psycopg.connect(raw, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (url_schema,)
        ).fetchall()  # fmt: skip
    total = sum(int(b) for _, b in rows)
    chunks = sum(int(b) for name, b in rows if name.startswith("chunk_y") or name == "chunk_default")
    return total, chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--curves", type=int, default=30_000)
    parser.add_argument("--months", type=int, default=12, help="of the demo year, from January")
    parser.add_argument("--keep", action="store_true", help="leave the schema (to look at it); default: drop it")
    args = parser.parse_args()
    console = Console()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    demo = build_prats(seed=42)
    gen_s = time.perf_counter() - t0
    zone = demo.inventory.territory.zone
    first = datetime.fromtimestamp(int(demo.t[0]), zone)
    end_month = date(first.year + (first.month - 1 + args.months) // 12, (first.month - 1 + args.months) % 12 + 1, 1)
    b = int(datetime(end_month.year, end_month.month, 1, tzinfo=zone).timestamp())
    keep = demo.t < b
    t = demo.t[keep]
    town, copies = town_inventory(demo, args.curves)
    copy_of = {sid: (src, shift, scale) for sid, src, shift, scale in copies}

    def values(sid: str) -> np.ndarray:
        if sid not in copy_of:
            return demo.values[sid][keep]
        src, shift, scale = copy_of[sid]
        return np.rint(np.roll(demo.values[src], shift * STEPS_PER_DAY) * scale)[keep]

    schema = f"regie_town_{uuid.uuid4().hex[:8]}"
    raw = args.postgres.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    try:
        store = open_store(url)
        t1 = time.perf_counter()
        store.save_inventory(town)
        inventory_s = time.perf_counter() - t1
        ids = [s.id for s in town.series]
        points = 0
        t1 = time.perf_counter()
        for i in range(0, len(ids), SERIES_PER_TRANSACTION):
            points += store.write([Readings(sid, t, values(sid)) for sid in ids[i : i + SERIES_PER_TRANSACTION]])
            if (i // SERIES_PER_TRANSACTION) % 50 == 0:
                done = min(len(ids), i + SERIES_PER_TRANSACTION)
                console.print(f"  {done:,} / {len(ids):,} series, {time.perf_counter() - t1:.0f} s")
        write_s = time.perf_counter() - t1
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        total_bytes, chunk_bytes = relation_bytes(schema, raw)
        start, stop = datetime.fromtimestamp(int(t[0]), zone), datetime.fromtimestamp(b, zone)
        t1 = time.perf_counter()
        figures = territory_balance(store, start, stop, Step.parse("P1D"))
        balance_first_s = time.perf_counter() - t1
        t1 = time.perf_counter()
        territory_balance(store, start, stop, Step.parse("P1D"))
        balance_second_s = time.perf_counter() - t1
        with store.engine.connect() as conn:
            years = sorted(r[0] for r in conn.exec_driver_sql("SELECT DISTINCT year FROM chunk"))
        store.close()
    finally:
        if not args.keep:
            with psycopg.connect(raw, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    row = {
        "curves": len(ids), "household_copies": len(copies), "months": args.months, "points": points,
        "write_s": write_s, "write_points_per_s": points / write_s, "inventory_s": inventory_s,
        "database_bytes": total_bytes, "bytes_per_point": total_bytes / points,
        "chunk_bytes": chunk_bytes, "chunk_bytes_per_point": chunk_bytes / points,
        "daily_balance_s_first": balance_first_s, "daily_balance_s_second": balance_second_s,
        "balance_points_per_s": points / min(balance_first_s, balance_second_s),
        "consumption_gwh": float(figures["totals"]["consumption_wh"]) / 1e9 if "totals" in figures else None,
        "chunk_years": years,
    }  # fmt: skip
    table = Table(title=f"PostgreSQL town — {row['curves']:,} series × {args.months} months, {points:,} points")
    for col in ("write s", "write pts/s", "bytes/point (all)", "bytes/point (chunks)", "daily balance 1st / 2nd"):
        table.add_column(col, justify="right")
    table.add_row(f"{write_s:.0f}", f"{row['write_points_per_s']:,.0f}", f"{row['bytes_per_point']:.2f}",
                  f"{row['chunk_bytes_per_point']:.2f}",
                  f"{balance_first_s:.1f} s / {balance_second_s:.1f} s")  # fmt: skip
    console.print(table)
    out = RESULTS / f"postgres_town-{len(ids)}x{args.months}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "postgres_town", "date": datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "demo_generation_s": gen_s, "results": [row],
    }, indent=2) + "\n")  # fmt: skip
    console.print(f"demo generation {gen_s:.0f} s; figures written to {out}")


if __name__ == "__main__":
    main()
