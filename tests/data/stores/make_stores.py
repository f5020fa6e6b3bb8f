"""Write one small SQLite store per schema revision, as each release left it (run from the repository root:
``python tests/data/stores/make_stores.py``). The upgrade test (tests/operations/test_upgrade.py) migrates
each to the newest schema and checks that nothing was lost.

Each store is built by the migrations themselves up to its revision, then filled with what that revision
holds: a territory, a series with 2,000 ten-second points (all revisions), a quarantined reading and an API
key (0002 on), three access-log entries (0003 on). Written with 1 KiB pages and vacuumed: a few dozen KiB.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import MetaData, insert

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))

from regie.governance import audit  # noqa: E402
from regie.model import Readings  # noqa: E402
from regie.store.engine import make_engine  # noqa: E402
from regie.store.migrate import revisions, upgrade  # noqa: E402
from regie.store.timeseries import SeriesRef, TimeSeriesStore  # noqa: E402

T0 = 1_735_689_600  # 2025-01-01 00:00 UTC
POINTS = 2000


def make(revision: str, path: Path) -> None:
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    md = MetaData()
    with engine.execution_options(writer=True).begin() as conn:
        md.reflect(conn)
        conn.execute(insert(md.tables["territory"]).values(id="village", name="Village", timezone="Europe/Paris"))
        conn.execute(
            insert(md.tables["series"]).values(
                id=1, key="sensor-0", territory_id="village", kind="sensor", unit="W", convention="start",
                resolution=0.1, name="sensor 0",
            )
        )  # fmt: skip
        t = T0 + 10 * np.arange(POINTS, dtype=np.int64)
        values = np.round(1000 + 500 * np.sin(np.arange(POINTS) / 50), 1)
        ref = SeriesRef(1, "sensor-0", None, 0.1, ZoneInfo("Europe/Paris"))
        TimeSeriesStore(engine).write(conn, {"sensor-0": ref}, [Readings("sensor-0", t, values)])
        if "quarantine" in md.tables:
            conn.execute(
                insert(md.tables["quarantine"]).values(
                    source="emoncms", key="n/x", t=T0, value=1.5, unit="W", reason="unknown input", received_at=T0
                )
            )
            conn.execute(
                insert(md.tables["api_key"]).values(name="emonpi", key_hash="ab" * 32, scopes="write", created_at=T0)
            )
    if "access_log" in md.tables:  # as that release wrote them: only the columns its table has
        prev = audit.GENESIS
        with engine.execution_options(writer=True).begin() as conn:
            for i in range(3):
                entry = {"action": "create", "actor": "cli", "at": T0 + i, "kind": "account", "seq": i + 1,
                         "subject_id": None, "username": f"user{i}"}  # fmt: skip
                text = audit.canonical(entry)
                digest = audit.chain_hash(prev, text)
                conn.execute(insert(md.tables["access_log"]).values(
                    seq=i + 1, at=T0 + i, kind="account", subject_id=None, entry=text, prev_hash=prev, hash=digest))
                prev = digest
    engine.dispose()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("PRAGMA page_size=1024")
    raw.execute("VACUUM")
    raw.close()


if __name__ == "__main__":
    for rev in revisions():
        target = HERE / f"regie-{rev}.sqlite"
        if target.exists():  # kept as its release wrote it (today's write path no longer fits older schemas)
            continue
        make(rev, target)
        print(f"{target.name}: {target.stat().st_size:,} bytes")
