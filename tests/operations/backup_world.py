"""A small régie with something of everything a backup must keep: an inventory, series with points, a
quarantined reading, an API key, an account, consent-free access-log entries and a signed checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regie.governance import accounts, audit, keys
from regie.ingest import apikeys
from regie.model import Inventory, Readings, Series, SeriesKind, Territory
from regie.store import open_store
from regie.store.quarantine import QuarantinedReading

PASSPHRASE = "correct horse battery staple"
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def fill_store(url: str, data_dir: Path, *, points: int = 5000, n_series: int = 3) -> None:
    """Build the small régie at ``url`` with its keys in ``data_dir``."""
    store = open_store(url)
    try:
        series = [
            Series(f"sensor-{i}", SeriesKind.SENSOR, "W", name=f"sensor {i}", resolution=0.1) for i in range(n_series)
        ]
        store.save_inventory(Inventory(Territory("village", "Village"), series=series))
        rng = np.random.default_rng(7)
        t = T0 + 10 * np.arange(points, dtype=np.int64)
        store.write(Readings(s.id, t, np.round(rng.uniform(0, 3000, points), 1)) for s in series)
        store.quarantine([QuarantinedReading("emoncms", "n/x", T0, 1.5, "unknown input", "W", "test")])
        apikeys.create_key(store, "emonpi", ["write"])
        accounts.create_account(store, "alice", "a long enough passphrase 42", "admin")
        key = keys.load_or_create_signing_key(data_dir)
        keys.load_or_create_secret(data_dir)
        for i in range(5):
            audit.append(store, audit.AccountEvent("test", f"user{i}", "cli"), now=T0 + i)
        audit.checkpoint(store, key, now=T0 + 10)
    finally:
        store.close()
