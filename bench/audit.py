"""Benchmark the access log: appends per second with and without automatic signed checkpoints, the cost of
one checkpoint, and the bytes an aggregate read adds to the log when it names the members it covered.

Prints a table and writes ``bench/results/audit.json``:
- appends/s through ``audit.append`` (one transaction each, as the gate does), on SQLite (WAL) and, with
  ``--postgres URL``, on PostgreSQL: without a notary, and with the automatic checkpoints on;
- the median time of one checkpoint (re-hash the entries since the last head, sign, write the head file);
- per aggregate read covering ``--points`` members: log bytes (SQLite file growth / reads) with the
  covered subjects named (content-addressed subject sets), against the same reads without them.

Run: ``.venv/bin/python bench/audit.py [--entries 3000] [--points 200] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from regie.governance import audit, keys
from regie.store import Store, open_store

try:  # absent before the automatic checkpoints: the bench then measures the plain log only
    from regie.governance import log_head
except ImportError:  # pragma: no cover - baseline run on the old tree
    log_head = None

RESULTS = Path(__file__).parent / "results" / "audit.json"


def _event(i: int) -> audit.AccessEvent:
    return audit.AccessEvent(
        "op", "operator", f"p{i % 500:04d}", f"cons-hh-{i % 500:04d}", "…1234", 1735689600, 1735776000,
        "P1D", "dpv:ServiceProvision", "allowed", "grant g-123", "g-123", 48,
    )  # fmt: skip


def appends_per_second(store: Store, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        audit.append(store, _event(i))
    return n / (time.perf_counter() - t0)


def sqlite_bytes(store: Store, path: Path) -> int:
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def postgres_store(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"regie_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure_backend(url_for, n: int, tmp: Path, rounds: int = 3) -> dict:
    """Best of ``rounds`` interleaved runs of each variant, so that a busy machine hurts both alike."""
    plain, signed, made = [], [], 0
    for _ in range(rounds):
        url, cleanup = url_for("plain")
        store = open_store(url)
        plain.append(appends_per_second(store, n))
        store.close()
        cleanup()
        if log_head is None:
            continue
        url, cleanup = url_for("notary")
        store = open_store(url)
        key = keys.load_or_create_signing_key(tmp / "data")
        notary = log_head.Notary(key, tmp / "data" / f"head-{uuid.uuid4().hex}.json")
        log_head.attach(store, notary)
        signed.append(appends_per_second(store, n))
        made = len(audit.checkpoints(store))
        store.close()
        cleanup()
    out: dict = {"appends_per_s_plain": round(max(plain))}
    if log_head is None:
        return out
    out["appends_per_s_checkpointed"] = round(max(signed))
    out["checkpoints_made"] = made
    url, cleanup = url_for("timing")
    store = open_store(url)
    head = tmp / "data" / f"head-{uuid.uuid4().hex}.json"
    times = []
    for i in range(20):
        for j in range(log_head.EVERY_ENTRIES // 10):
            audit.append(store, _event(i * 1000 + j))
        t0 = time.perf_counter()
        log_head.checkpoint_and_publish(store, key, head)
        times.append(time.perf_counter() - t0)
    out["checkpoint_ms"] = round(1000 * statistics.median(times), 2)
    out["checkpoint_every_entries"] = log_head.EVERY_ENTRIES
    out["checkpoint_every_seconds"] = log_head.EVERY_SECONDS
    store.close()
    cleanup()
    return out


def measure_subject_sets(tmp: Path, reads: int, points: int) -> dict:
    """Log bytes per aggregate read, with the covered members named and without (SQLite, file growth)."""
    out = {}
    subjects = [f"p{i:04d}" for i in range(points)]
    event = audit.AccessEvent(
        "op", "operator", None, "aggregate:transformer", None, 1735689600, 1738368000, "PT1800S",
        "dpv:ServiceProvision", "allowed", "sums", None, points,
    )  # fmt: skip
    for label, named in (("without_subjects", False), ("with_subjects", True)):  # 4 distinct sets of covered members
        path = tmp / f"sets-{label}.sqlite"
        store = open_store(f"sqlite:///{path}")
        before = sqlite_bytes(store, path)
        for i in range(reads):
            covered = subjects[: points - (i % 4)] if named else None
            audit.append(store, event, subjects=covered) if named else audit.append(store, event)
        out[f"bytes_per_read_{label}"] = round((sqlite_bytes(store, path) - before) / reads)
        store.close()
    out["reads"], out["points"] = reads, points
    out["set_rows_if_one_row_per_subject_and_read"] = reads * points
    out["set_rows_stored"] = sum(points - k for k in range(4))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--postgres", default=None, help="postgresql+psycopg://... to measure PostgreSQL too")
    args = parser.parse_args()
    results: dict = {"when": datetime.now().isoformat(timespec="seconds"), "machine": platform.platform()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)

        def sqlite_url(label: str):
            return f"sqlite:///{tmp / f'{label}-{uuid.uuid4().hex[:6]}.sqlite'}", lambda: None

        results["sqlite"] = measure_backend(sqlite_url, args.entries, tmp)
        if args.postgres:

            def pg_url(label: str):
                url, schema = postgres_store(args.postgres)
                return url, lambda: drop_schema(args.postgres, schema)

            results["postgresql"] = measure_backend(pg_url, args.entries, tmp)
        if log_head is not None:
            results["subject_sets"] = measure_subject_sets(tmp, args.reads, args.points)
    table = Table(title=f"access log ({args.entries} appends)")
    table.add_column("measure")
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            table.add_column(backend, justify="right")
    for name in results["sqlite"]:
        table.add_row(name, *(str(results[b].get(name, "")) for b in ("sqlite", "postgresql") if b in results))
    Console().print(table)
    if "subject_sets" in results:
        sets = Table(title="aggregate reads naming the members they covered (SQLite)")
        sets.add_column("measure")
        sets.add_column("value", justify="right")
        for name, value in results["subject_sets"].items():
            sets.add_row(name, str(value))
        Console().print(sets)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
