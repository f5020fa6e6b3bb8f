"""Persistence: metadata tables and the chunked time-series store, on SQLite or PostgreSQL."""

from regie.store.store import Store, open_store
from regie.store.timeseries import Rollup, StoreError

__all__ = ["Rollup", "Store", "StoreError", "open_store"]
