"""Benchmark file imports: Enedis R63 and portal CSV, emoncms PHPFina — parse alone, then parse + store.

Generates realistic files in a temporary folder (a year of 30-minute load curves for many delivery
points; a year of 10-second PHPFina feeds), imports them through :class:`regie.ingest.importer.Importer`
(the same path as ``regie import``), and reports points/s and the peak memory of each import. Goal on
2 cores: ≥ 1,000,000 points/s importing Enedis / PHPFina files.

Run: ``.venv/bin/python bench/ingest_files.py [--prms 60] [--feeds 4] [--postgres URL]``; writes
``bench/results/ingest_files.json``. ``bench/ingest.py`` calls :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import struct
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from regie.ingest.importer import Importer
from regie.model import DeliveryPoint, Inventory, Site, Territory
from regie.store import open_store

RESULTS = Path(__file__).parent / "results" / "ingest_files.json"
GOAL = 1_000_000
R63_HEADER = (
    "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;"
    "Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire\n"
)
PORTAL_HEADER = (
    "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite\n"
)


def _prms(n: int) -> list[str]:
    return [f"3000{i:010d}" for i in range(1, n + 1)]


def _year_ends() -> list[str]:
    """END stamps of every half hour of 2024 in Paris time, ISO with offset (17,568 of them)."""
    idx = pd.date_range("2024-01-01 00:30", "2025-01-01 00:00", freq="30min", tz="Europe/Paris")
    text = idx.strftime("%Y-%m-%dT%H:%M:%S%z")
    return [s[:-2] + ":" + s[-2:] for s in text]


def write_r63(path: Path, prms: list[str]) -> int:
    stamps = _year_ends()
    rng = np.random.default_rng(1)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(R63_HEADER)
        for prm in prms:
            values = rng.integers(80, 6000, len(stamps))
            head = f"{prm};2024-01-01;2025-01-01;PA;CONS;BRUT;W;"
            fh.write("".join(f"{head}{s};{v};R;PT30M;0;0\n" for s, v in zip(stamps, values, strict=True)))
    return len(stamps) * len(prms)


def write_portal(folder: Path, prms: list[str]) -> tuple[list[Path], int]:
    stamps = _year_ends()
    rng = np.random.default_rng(2)
    paths = []
    for prm in prms:
        path = folder / f"Enedis_Conso_Heure_{prm[-4:]}.csv"
        values = rng.integers(80, 6000, len(stamps))
        body = "".join(f"{s};{v}\r\n" for s, v in zip(stamps, values, strict=True))
        meta = f"{prm};Courbe de charge;01/01/2024;01/01/2025;Energie active;Consommation;Comptage Brut;W\r\n"
        path.write_bytes(
            b"\xef\xbb\xbf" + (PORTAL_HEADER.replace("\n", "\r\n") + meta + "Horodate;Valeur\r\n" + body).encode()
        )
        paths.append(path)
    return paths, len(stamps) * len(prms)


def write_phpfina(folder: Path, feeds: int, days: int = 366, interval: int = 10) -> int:
    """``feeds`` PHPFina feeds of ``days`` at ``interval`` s (a year of 10 s = 3,162,240 points each), with
    a few gaps; written in slices so that generating them does not need a feed in memory either."""
    root = folder / "phpfina"
    root.mkdir(parents=True)
    n = days * 86400 // interval
    start = 1704067200  # 2024-01-01T00:00:00Z
    rng = np.random.default_rng(3)
    for fid in range(1, feeds + 1):
        (root / f"{fid}.meta").write_bytes(struct.pack("<4I", 0, 0, interval, start))
        with open(root / f"{fid}.dat", "wb") as fh:
            for i0 in range(0, n, 1 << 20):
                k = min(1 << 20, n - i0)
                v = (300 + 200 * np.sin((i0 + np.arange(k)) / 3000) + rng.normal(0, 15, k)).astype("<f4")
                v[rng.integers(0, k, 20)] = np.nan
                fh.write(v.tobytes())
    return n * feeds


def _store(url: str, prms: list[str]):
    store = open_store(url)
    store.save_inventory(
        Inventory(
            territory=Territory("bench", "Bench"),
            sites=[Site("s", "Site", "bench")],
            delivery_points=[DeliveryPoint(p, "s") for p in prms],
        )
    )
    return store


def _parse_only(fmt: str, paths: list[Path], **options) -> tuple[int, float]:
    from regie.ingest import get_adapter

    adapter = get_adapter(fmt)
    t0 = time.perf_counter()
    n = 0
    for p in paths:
        if fmt == "emoncms-archive":
            batches = adapter.parse(p, p.name, **options)
            n += sum(int((~np.isnan(b.values)).sum()) for b in batches)
        else:
            with open(p, "rb") as fh:
                n += sum(int((~np.isnan(b.values)).sum()) for b in adapter.parse(fh, p.name, **options))
    return n, time.perf_counter() - t0


def _rss() -> int:
    """Resident memory of this process [bytes] (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _PeakRss:
    """Samples RSS every 20 ms in a thread: the peak growth during an import, without slowing it."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _import(url: str, prms: list[str], fmt: str, paths: list[Path], **options) -> dict:
    store = _store(url, prms)
    importer = Importer(store)
    with _PeakRss() as mem:
        t0 = time.perf_counter()
        reports = [importer.import_path(fmt, p, **options) for p in paths]
        seconds = time.perf_counter() - t0
    peak = mem.peak - mem.base
    written = store.count_points()
    store.close()
    return {
        "points_read": sum(r.points_read for r in reports),
        "points_stored": written,
        "import_s": seconds,
        "peak_rss_growth_mb": peak / 2**20,
    }


def _backends(postgres: str | None):
    yield "sqlite", None
    if postgres:
        yield "postgresql", postgres


def _url(backend: str, tmp: Path, postgres: str | None, tag: str):
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'{tag}.sqlite'}", None
    import psycopg

    schema = f"regie_bench_{uuid.uuid4().hex[:8]}"
    raw = postgres.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{postgres}?options=-csearch_path%3D{schema}", (raw, schema)


def _drop(handle) -> None:
    if handle:
        import psycopg

        raw, schema = handle
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(prms: int = 60, portal_files: int = 20, feeds: int = 4, postgres: str | None = None) -> list[dict]:
    """Generate the files, import them, return one row per (source, backend) with points/s."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="regie-bench-files-") as d:
        tmp = Path(d)
        ids = _prms(prms)
        r63 = tmp / "r63.csv"
        cases = [
            ("enedis-r63", f"R63 CSV, {prms} PRMs × 1 year at 30 min", ids, [r63], write_r63(r63, ids), {}),
        ]
        portal_dir = tmp / "portal"
        portal_dir.mkdir()
        paths, n = write_portal(portal_dir, ids[:portal_files])
        cases.append(("enedis-portal", f"portal CSV, {portal_files} files × 1 year at 30 min", ids, paths, n, {}))
        backup = tmp / "emoncms"
        n = write_phpfina(backup, feeds)
        cases.append(("emoncms-archive", f"PHPFina, {feeds} feeds × 1 year at 10 s", [], [backup], n, {}))
        for fmt, label, prm_ids, files, points, options in cases:
            size = (
                sum(f.stat().st_size for f in files)
                if fmt != "emoncms-archive"
                else sum(f.stat().st_size for f in backup.rglob("*") if f.is_file())
            )
            parsed, parse_s = _parse_only(fmt, files, **options)
            for backend, pg in _backends(postgres):
                url, handle = _url(backend, tmp, pg, fmt)
                try:
                    r = _import(url, prm_ids, fmt, files, **options)
                finally:
                    _drop(handle)
                rows.append(
                    {
                        "name": f"{fmt} ({backend})",
                        "source": label,
                        "format": fmt,
                        "backend": backend,
                        "files": len(files),
                        "file_mb": round(size / 2**20, 1),
                        "points": points,
                        "points_parsed": parsed,
                        "parse_s": round(parse_s, 3),
                        "parse_points_per_s": round(parsed / parse_s),
                        "import_s": round(r["import_s"], 3),
                        "points_stored": r["points_stored"],
                        "points_per_s": round(r["points_read"] / r["import_s"]),
                        "peak_rss_growth_mb": round(r["peak_rss_growth_mb"], 1),
                        "goal_points_per_s": GOAL,
                    }
                )
    return rows


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prms", type=int, default=60, help="delivery points in the R63 file")
    parser.add_argument("--portal-files", type=int, default=20)
    parser.add_argument("--feeds", type=int, default=4, help="PHPFina feeds of a year at 10 s")
    parser.add_argument("--postgres", default=None, help="also import into this PostgreSQL URL")
    args = parser.parse_args()
    console = Console()
    with console.status("generating files and importing..."):
        rows = run(args.prms, args.portal_files, args.feeds, args.postgres)
    table = Table(title="regie file import (parse + store write, one transaction per file)")
    for col in ("source", "backend", "MB", "points", "parse pts/s", "import pts/s", "import s", "+RSS MB", "goal"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for r in rows:
        ok = r["points_per_s"] >= r["goal_points_per_s"]
        table.add_row(
            r["source"],
            r["backend"],
            f"{r['file_mb']:.0f}",
            f"{r['points']:,}",
            f"{r['parse_points_per_s']:,}",
            f"[{'green' if ok else 'yellow'}]{r['points_per_s']:,}[/]",
            f"{r['import_s']:.2f}",
            f"{r['peak_rss_growth_mb']:.0f}",
            f"≥ {r['goal_points_per_s']:,}",
        )
    console.print(table)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    console.print(f"process peak RSS {usage.ru_maxrss / 1024:.0f} MB; {os.cpu_count()} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "ingest_files",
                "date": datetime.now().isoformat(timespec="seconds"),
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"figures written to {RESULTS}")


if __name__ == "__main__":
    main()
