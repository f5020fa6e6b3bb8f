"""Readings that cannot be placed are kept, once, with their reason."""

from __future__ import annotations

from regie.store import open_store
from regie.store.quarantine import QuarantinedReading, take


def test_quarantine_keeps_each_reading_once(store_url: str) -> None:
    store = open_store(store_url)
    rows = [QuarantinedReading("enedis-r63", "30000000000042", 1700000000 + 1800 * i, 100.0 + i, "unknown PRM")
            for i in range(3)]
    store.quarantine(rows)
    store.quarantine(rows)  # the same file imported twice
    (line,) = store.quarantine_summary()
    assert line["readings"] == 3 and line["reason"] == "unknown PRM"
    assert (line["first"], line["last"]) == (1700000000, 1700003600)
    with store.engine.begin() as conn:
        assert take(conn, "enedis-r63", "30000000000042") == [(1700000000 + 1800 * i, 100.0 + i) for i in range(3)]
    assert store.quarantine_summary() == []
    store.close()
