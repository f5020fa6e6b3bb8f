"""Benchmark the time-series store with the demo year, on SQLite and on PostgreSQL.

Prints a table and writes ``bench/results/store.json``:
- bytes per stored point (database size / raw points; rollups and indexes included),
- write throughput through ``Store.write`` (points/s),
- time to read one household series for a year,
- time for the whole territory's daily balance over the year (``territory_balance`` at P1D).

Run: ``.venv/bin/python bench/store.py [--postgres URL] [--seed 42]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg
from rich.console import Console
from rich.table import Table

from regie.demo import build_prats
from regie.demo.install import install
from regie.model import Step
from regie.services.balance import territory_balance
from regie.store import Store, open_store

RESULTS = Path(__file__).parent / "results" / "store.json"


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def database_bytes(store: Store, sqlite_path: Path | None, schema: str | None) -> int:
    if sqlite_path is not None:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return sqlite_path.stat().st_size
    with store.engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT sum(pg_total_relation_size((quote_ident(schemaname) || '.' || quote_ident(tablename))"
                "::regclass)) FROM pg_tables WHERE schemaname = %(s)s",
                {"s": schema},
            ).scalar()
        )


def run_backend(name: str, url: str, demo, sqlite_path: Path | None = None, schema: str | None = None) -> dict:
    store = open_store(url)
    t0 = time.perf_counter()
    report = install(store, demo)
    write_s = time.perf_counter() - t0
    if sqlite_path is None:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    size = database_bytes(store, sqlite_path, schema)
    household = next(s.id for s in demo.inventory.series if s.id.startswith("cons-hh"))
    a, b = int(demo.t[0]), int(demo.t[-1]) + 1800
    read_s = best_of(5, lambda: store.read(household, a, b))
    zone = demo.inventory.territory.zone
    start, end = datetime.fromtimestamp(a, zone), datetime.fromtimestamp(b, zone)
    territory_balance(store, start, end, Step.parse("P1D"))  # warm the inventory cache
    balance_s = best_of(3, lambda: territory_balance(store, start, end, Step.parse("P1D")))
    _, v = store.read(household, a, b)
    assert np.array_equal(v, demo.values[household]), "the store must give back exactly what was written"
    store.close()
    return {
        "backend": name,
        "series": report.series,
        "points": report.points,
        "database_bytes": size,
        "bytes_per_point": size / report.points,
        "write_points_per_s": report.points / write_s,
        "write_s": write_s,
        "read_one_series_year_s": read_s,
        "territory_daily_balance_year_s": balance_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    console = Console()
    t0 = time.perf_counter()
    demo = build_prats(seed=args.seed)
    gen_s = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        rows.append(run_backend("sqlite", f"sqlite:///{path}", demo, sqlite_path=path))
    schema = f"regie_bench_{uuid.uuid4().hex[:8]}"
    raw = args.postgres.replace("postgresql+psycopg", "postgresql")
    try:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        console.print(f"[yellow]PostgreSQL not reachable, skipped: {exc}[/]")
    else:
        try:
            url = f"{args.postgres}?options=-csearch_path%3D{schema}"
            rows.append(run_backend("postgresql", url, demo, schema=schema))
        finally:
            with psycopg.connect(raw, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    table = Table(title=f"store benchmark — demo year, {rows[0]['series']} series, {rows[0]['points']:,} points")
    for col in ("backend", "bytes/point", "write pts/s", "write s", "read 1 series-year", "daily balance year"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r["backend"],
            f"{r['bytes_per_point']:.2f}",
            f"{r['write_points_per_s']:,.0f}",
            f"{r['write_s']:.1f}",
            f"{r['read_one_series_year_s'] * 1000:.1f} ms",
            f"{r['territory_daily_balance_year_s'] * 1000:.0f} ms",
        )
    console.print(table)
    console.print(f"demo generation: {gen_s:.1f} s; goals (embedded): ≤ 2 bytes/point, daily balance < 0.5 s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "store",
                "date": datetime.now().isoformat(timespec="seconds"),
                "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
                "demo_generation_s": gen_s,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"figures written to {RESULTS}")


if __name__ == "__main__":
    main()
