"""Who an aggregate read covered: the data subjects behind the delivery points it summed or scanned.

An aggregate (the grid's transformer loads, data health's timestamps) reads every contributing point's own
values before anything is summed or masked, so each holder of one of those points is entitled to see that
read in "who accessed my data" (GDPR art. 15(1)(c): the recipients to whom their data were disclosed).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from regie.governance import territories
from regie.store import Store


def holders_over(store: Store, prms: Collection[str], start: int, end: int) -> list[str]:
    """Every holder of one of ``prms`` whose holding overlaps [start, end) (UTC instants), sorted."""
    if not prms:
        return []
    def instant(d: date, zone) -> int:  # memberships run from local midnight to local midnight
        return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())

    wanted = set(prms)
    return sorted(  # every territory of the store: a point is in one, each with its own zone
        {
            m.holder_id
            for inv in territories.inventories(store)
            for m in inv.memberships
            if m.prm in wanted and instant(m.since, inv.territory.zone) < end
            and (m.until is None or instant(m.until, inv.territory.zone) > start)
        }
    )
