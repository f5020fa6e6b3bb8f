"""The demo village cut to its first weeks, in a store and exported to a lake: shared by tests/lake and
tests/cluster (imported by name: tests/cluster/conftest.py puts this folder on the path).

Why cut: the comparison needs the demo's inventory (600 households, ten transformers, the ACC operation) but
not a year of it; two months keep the Spark jobs' tests within seconds. The cut store is built once per test run
(per worker) from the session's demo year and kept under pytest's base temporary folder.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from regie.demo.data import DemoData

PARIS = ZoneInfo("Europe/Paris")
START, END = datetime(2025, 1, 1, tzinfo=PARIS), datetime(2025, 3, 1, tzinfo=PARIS)


def demo_store(base: Path, demo: DemoData) -> str:
    """URL of a SQLite store holding the Prats demo over [START, END), with its ACC accounts and grants: ``demo``
    is the session's generated year (``demo_year.data``, tests/conftest.py), cut here."""
    path = base / "demo-lake-store.sqlite"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    import numpy as np

    from regie.demo.acc_accounts import create_acc_demo_accounts
    from regie.demo.install import install
    from regie.store import open_store

    keep = (demo.t >= START.timestamp()) & (demo.t < END.timestamp())
    cut = replace(demo, t=demo.t[keep], values={k: np.asarray(v)[keep] for k, v in demo.values.items()})
    tmp = base / "demo-lake-store.tmp.sqlite"
    store = open_store(f"sqlite:///{tmp}")
    install(store, cut)
    create_acc_demo_accounts(store, now=int(START.timestamp()))
    store.close()
    tmp.rename(path)
    return url
