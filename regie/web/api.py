"""The JSON API (/api): the territory and its energy balance, typed so that the OpenAPI schema documents them.

The balance is the public face's (:func:`regie.publication.balance.public_balance`): the same for every
caller, every figure a sum of published cells that are frozen and versioned (so two requests cannot be
subtracted to isolate a household), with what statistical secrecy hides set to null and why in ``masked``.

Bad input is the caller's to fix, so it gets a 4xx whose ``detail`` says what and why: 422 for a
malformed parameter, 400 for a period or step the balance cannot compute, 404 when nothing is stored.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from regie.model import Inventory
from regie.publication.balance import public_balance
from regie.services.balance import BalanceRequestError
from regie.store import Store
from regie.web import queries, territory_choice
from regie.web.deps import StoreDep

router = APIRouter(prefix="/api", tags=["territory"])


class SourceSummary(BaseModel):
    source: str = Field(description="hydro, pv, biogas, wind, ...")
    producers: int = Field(description="number of plants of this source")
    peak_power_w: float = Field(description="sum of their rated (or peak, for PV) power [W]")


class DataPeriodOut(BaseModel):
    first: datetime = Field(description="first stored instant (start of its interval), territory's zone")
    last: datetime = Field(description="last stored instant (start of its interval), territory's zone")
    end: datetime = Field(description="end of the last interval: the default end of /api/balance")


class TerritoryOut(BaseModel):
    id: str
    name: str
    timezone: str = Field(description="IANA zone in which days and months are counted")
    latitude: float | None
    longitude: float | None
    delivery_points: int = Field(description="Enedis delivery points (PRM)")
    series: int = Field(description="stored series of every kind")
    series_by_kind: dict[str, int]
    producers: int
    producers_by_source: list[SourceSummary]
    transformers: int = Field(description="HTA/BT substations")
    metering_step: str | None = Field(description="step the balance is computed at (ISO 8601), e.g. PT30M")
    data_period: DataPeriodOut | None = Field(description="None while nothing is stored")


MASKED_DOC = (
    "figures hidden by statistical secrecy and why (fewer_than_10, dominance, secondary): consumption, production "
    "(the total), production:<source>, self_consumed, coverage, self_sufficiency, self_consumption; a hidden "
    "figure's value is null"
)


class BalanceTotalsOut(BaseModel):
    consumption_wh: float | None
    production_wh: float | None
    production_by_source_wh: dict[str, float | None]
    self_consumed_wh: float | None = Field(description="Σ min(production, consumption) per metering step [Wh]")
    coverage: float | None = Field(description="Σ production / Σ consumption")
    self_sufficiency: float | None = Field(description="Σ min(P, C) / Σ consumption, per metering step")
    self_consumption: float | None = Field(description="Σ min(P, C) / Σ production, per metering step")
    masked: dict[str, str] = Field(description=MASKED_DOC)


class BalancePeriodsOut(BaseModel):
    start: list[str] = Field(description="start of each period, ISO 8601 in the territory's zone")
    consumption_wh: list[float | None]
    production_wh: dict[str, list[float | None]] = Field(description="by source")
    production_total_wh: list[float | None]
    self_consumed_wh: list[float | None]
    coverage: list[float | None]
    self_sufficiency: list[float | None]
    self_consumption: list[float | None]
    masked: dict[str, list[str | None]] = Field(
        description="per figure hidden in some period, one reason per period (null where shown); " + MASKED_DOC
    )


class BalanceOut(BaseModel):
    territory: str
    timezone: str
    start: str
    end: str
    step: str
    sources: list[str]
    totals: BalanceTotalsOut
    periods: BalancePeriodsOut


def load_inventory(store: Store, territory_id: str | None = None) -> Inventory:
    """The territory's inventory (default: the store's default territory), or a 404 saying how to get one."""
    try:
        return store.load_inventory(territory_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


def territory_summary(store: Store, inv: Inventory) -> TerritoryOut:
    """Counts and data period of the territory (shared by the API and the territory page)."""
    t = inv.territory
    by_source: dict[str, SourceSummary] = {}
    for p in inv.producers:
        s = by_source.setdefault(p.source.value, SourceSummary(source=p.source.value, producers=0, peak_power_w=0.0))
        s.producers += 1
        s.peak_power_w += p.peak_power_w
    period = queries.data_period(store, inv)
    step = queries.metering_step(inv)
    return TerritoryOut(
        id=t.id,
        name=t.name,
        timezone=t.timezone,
        latitude=t.latitude,
        longitude=t.longitude,
        delivery_points=len(inv.delivery_points),
        series=len(inv.series),
        series_by_kind=dict(sorted(Counter(s.kind.value for s in inv.series).items())),
        producers=len(inv.producers),
        producers_by_source=sorted(by_source.values(), key=lambda s: s.source),
        transformers=len(inv.transformers),
        metering_step=step.iso if step else None,
        data_period=DataPeriodOut(first=period.first, last=period.last, end=period.end) if period else None,
    )


TerritoryQ = territory_choice.TerritoryQ


def chosen_inventory(request: Request, store: Store) -> Inventory:
    """The inventory of the territory asked for (``?territory=``), within what the caller may see, or a 404."""
    return load_inventory(store, territory_choice.choose(request).id)


@router.get("/territory", response_model=TerritoryOut, summary="The territory and what is stored about it")
def get_territory(request: Request, store: StoreDep, territory: TerritoryQ = None) -> TerritoryOut:
    return territory_summary(store, chosen_inventory(request, store))


StartQ = Annotated[
    str | None,
    Query(
        description="ISO 8601 date or date-time; naive ones are in the territory's zone. Default: first stored instant",
        examples=["2025-03-01", "2025-03-01T12:00", "2025-03-01T11:00:00Z"],
    ),
]
EndQ = Annotated[
    str | None,
    Query(description="ISO 8601 date or date-time, excluded. Default: end of the stored data", examples=["2025-04-01"]),
]
StepQ = Annotated[
    str | None,
    Query(description="ISO 8601 duration: PT30M, PT1H, P1D, P1M ... Default: P1M", examples=["P1M", "P1D", "PT30M"]),
]


@router.get(
    "/balance",
    response_model=BalanceOut,
    summary="Consumption, production by source, coverage, self-sufficiency and self-consumption, under "
    "statistical secrecy",
    responses={400: {"description": "a period or step the balance cannot compute"},
               403: {"description": "a territory the caller's account does not run"},
               404: {"description": "no territory or no data stored"},
               422: {"description": "a malformed parameter"}},
)
def get_balance(
    request: Request, store: StoreDep, start: StartQ = None, end: EndQ = None, step: StepQ = None,
    territory: TerritoryQ = None,
) -> dict:  # fmt: skip
    """A figure computed from fewer than 10 delivery points, or dominated by one, is null and says why."""
    inv = chosen_inventory(request, store)
    try:
        a, b, s = queries.balance_query(store, inv, start, end, step)
    except queries.QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        return public_balance(store, a, b, s, inv.territory.id)
    except BalanceRequestError as exc:
        raise HTTPException(400, str(exc)) from None
