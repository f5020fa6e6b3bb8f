"""The public figures the linked data states, taken from the publication only: the monthly balance of a
territory (exactly what ``/api/balance`` answers by default) and how each aggregate series was made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie.model import Step
from regie.publication.balance import CONSUMPTION, Publication, figure_prefix, public_balance, publication
from regie.store import Store
from regie.store import published as cells

P1M = Step.parse("P1M")


@dataclass(frozen=True, slots=True)
class SeriesFigures:
    """One aggregate series of a territory: ``consumption`` or ``production-<source>``."""

    name: str
    kind: str  # consumption | production
    source: str | None
    monthly_wh: list[float | None]  # None where secrecy hides the month
    total_wh: float | None
    provenance: cells.Provenance | None  # None for a source that describes no one (read as it is)


@dataclass(frozen=True, slots=True)
class TerritoryFigures:
    """The public balance of a territory over its data period, per month, with each series' provenance."""

    start: datetime
    end: datetime
    months: list[datetime]
    step_s: int  # the metering step the cells are judged at
    series: list[SeriesFigures]
    balance: dict[str, Any]  # the /api/balance answer itself (P1M over the data period)


def territory_figures(store: Store, territory_id: str) -> TerritoryFigures | None:
    """The figures of ``territory_id``, or None when nothing is stored yet."""
    inv = store.load_inventory(territory_id)
    pub: Publication | None = publication(store, territory_id)
    if pub is None:
        return None
    zone = inv.territory.zone
    start, end = datetime.fromtimestamp(pub.a, zone), datetime.fromtimestamp(pub.b, zone)
    bal = public_balance(store, start, end, P1M, territory_id)
    prefix = figure_prefix(store, territory_id)
    months = [datetime.fromisoformat(x) for x in bal["periods"]["start"]]
    out = [
        SeriesFigures(
            "consumption",
            "consumption",
            None,
            list(bal["periods"]["consumption_wh"]),
            bal["totals"]["consumption_wh"],
            cells.provenance(store, prefix + CONSUMPTION, pub.base),
        )
    ]
    for src in bal["sources"]:
        personal = src in pub.personal_sources
        prov = cells.provenance(store, f"{prefix}production:{src}", pub.base) if personal else None
        out.append(SeriesFigures(f"production-{src}", "production", src, list(bal["periods"]["production_wh"][src]),
                                 bal["totals"]["production_by_source_wh"][src], prov))  # fmt: skip
    return TerritoryFigures(start, end, months, pub.base, out, bal)
