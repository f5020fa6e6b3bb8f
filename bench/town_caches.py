"""Benchmark the publication's caches at town scale: the homes' fingerprint and the grid page after a write.

Prints a table and writes ``bench/results/town_caches-<label>.json``. Run it on this tree (``--label after``)
and on an export of the code before (``--label before``, that tree first on PYTHONPATH): only public functions
are called, and what was computed is counted by wrapping :func:`regie.publication.ledger.publish` (a figure
computed) and :func:`regie.publication.contributions.read` (a series read through the gate), so the same script
measures either version.

- **fingerprint**: :func:`regie.store.published.fingerprint` over 1,000 / 10,000 / 40,000 homes on SQLite, one
  home in ``--sample`` with a day at 30 minutes stored (writing 40,000 series one batch each is slow), best of 3;
  before, one ``IN (...)`` over every home (SQLite refuses more than 32,766 bound variables: 40,000 failed).
- **grid page**: every transformer's report for a supervisor secrecy applies to (what ``/grid`` shows), cold,
  then again after a write to the hydro plant (under no transformer), then after one household's write under
  one transformer: figures computed, series read and time for each.

Run: ``.venv/bin/python -P bench/town_caches.py --label after`` (``-P``: bench/signal.py would shadow the standard
library's ``signal``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from regie.governance.accounts import Account, Role
from regie.model import Inventory, Readings, Series, SeriesKind, Step, Territory, Transformer
from regie.publication import contributions, ledger
from regie.services.supervision import transformer_report
from regie.store import open_store
from regie.store import published as cells

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "publication"))
from publication_world import DAY1, PT30M, build, grid, household_curve, inventory, prm

RESULTS = Path(__file__).parent / "results"
T0 = 1_741_560_000


def fingerprint_times(folder: Path, sizes: list[int], args_sample: int) -> list[dict]:
    out = []
    for n in sizes:
        s = open_store(f"sqlite:///{folder / f'homes-{n}.sqlite'}")
        s.save_inventory(Inventory(Territory("ville", "Ville")))
        homes = [f"h{i:05d}" for i in range(n)]
        with s.transaction() as tx:
            tx.add_series("ville", [Series(h, SeriesKind.CONSUMPTION, "W", Step.parse("PT30M")) for h in homes])
        t = np.arange(T0, T0 + 86_400, 1800, dtype=np.int64)
        rng = np.random.default_rng(n)
        stored = homes[::args_sample]
        for k in range(0, len(stored), 5000):
            s.write([Readings(h, t, np.round(rng.uniform(100, 3000, len(t)))) for h in stored[k : k + 5000]])
        row: dict = {"homes": n, "homes_with_readings": len(stored)}
        try:
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                cells.fingerprint(s, homes)
                times.append(time.perf_counter() - t0)
            row["fingerprint_s"] = round(min(times), 4)
        except Exception as exc:  # the code before: SQLite refuses the statement
            row["fingerprint_s"] = None
            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
        s.close()
        out.append(row)
    return out


def town(folder: Path, transformers: int, per: int):
    """publication_world's village grown to ``transformers`` transformers of ``per`` households each (the first
    also feeds the spa and the rooftops; the hydro plant is under none). At most 48 households: the world's
    PRMs have two digits and the plants' start at 50."""
    inv = inventory(transformers * per)
    first = inv.transformers[0]
    trs = [Transformer(f"tr{k + 1}", f"Poste {k + 1}", 250, prms=tuple(prm(i) for i in range(k * per, (k + 1) * per)))
           for k in range(1, transformers)]  # fmt: skip
    taken = {p for x in trs for p in x.prms}
    loads = [Series(f"load{k + 1}", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id=f"tr{k + 1}")
             for k in range(1, transformers)]  # fmt: skip
    tr1 = replace(first, prms=tuple(p for p in first.prms if p not in taken))
    inv = replace(inv, transformers=[tr1, *trs], series=[*inv.series, *loads])
    s = open_store(f"sqlite:///{folder / 'town.sqlite'}")
    build(s, households=transformers * per, inv=inv)
    t = grid()
    s.write([Readings(f"load{k + 1}", t, np.full(len(t), 20_000.0)) for k in range(1, transformers)])
    return s


def grid_page(folder: Path, transformers: int, per: int) -> list[dict]:
    s = town(folder, transformers, per)
    calls = {"figures": 0, "reads": 0}
    publish, read = ledger.publish, contributions.read

    def counted_publish(*a, **k):
        calls["figures"] += 1
        return publish(*a, **k)

    def counted_read(*a, **k):
        calls["reads"] += 1
        return read(*a, **k)

    ledger.publish, contributions.read = counted_publish, counted_read
    viewer = Account(0, "operator", Role.ADMIN)
    window = (DAY1, DAY1 + timedelta(days=2))
    ids = [x.id for x in s.load_inventory().transformers]
    t = grid()
    out = []
    steps = [("cold", None), ("shown again", None),
             ("after a plant write", lambda: s.write([Readings("hydro", t, np.full(len(t), 9_500.0))])),
             ("after a home write", lambda: s.write([Readings("c00", t, household_curve(0, t) * 1.1)]))]  # fmt: skip
    for name, write in steps:
        if write:
            write()
        calls.update(figures=0, reads=0)
        t0 = time.perf_counter()
        for tr in ids:
            transformer_report(s, tr, *window, caller=viewer)
        out.append({"step": name, "seconds": round(time.perf_counter() - t0, 3), **calls})
    ledger.publish, contributions.read = publish, read
    s.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="after")
    ap.add_argument("--sizes", default="1000,10000,40000")
    ap.add_argument("--sample", type=int, default=10, help="one home in SAMPLE has a day of readings")
    ap.add_argument("--transformers", type=int, default=4)
    ap.add_argument("--per", type=int, default=12)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fp = fingerprint_times(Path(tmp), [int(x) for x in args.sizes.split(",")], args.sample)
        gp = grid_page(Path(tmp), args.transformers, args.per)
    console = Console()
    table = Table(title=f"fingerprint over the homes, SQLite ({args.label})")
    for col in ("homes", "seconds", "error"):
        table.add_column(col)
    for r in fp:
        table.add_row(str(r["homes"]), str(r["fingerprint_s"]), r.get("error", ""))
    console.print(table)
    table = Table(title=f"grid page, {args.transformers} transformers × {args.per} homes ({args.label})")
    for col in ("step", "seconds", "figures computed", "series read"):
        table.add_column(col)
    for r in gp:
        table.add_row(r["step"], str(r["seconds"]), str(r["figures"]), str(r["reads"]))
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    result = {"label": args.label, "python": platform.python_version(), "machine": platform.machine(),
              "fingerprint": fp, "grid_page": gp}  # fmt: skip
    (RESULTS / f"town_caches-{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
