"""Supervision as JSON (/api/grid, /api/data-health, /api/alerts), for the régie's admin and the operators of
the régie or the commune.

The same figures as the pages, read as the caller; who drove a peak and the monthly losses leave only as sums
that :func:`regie.governance.gate.read_aggregate` passed through statistical secrecy (a masked cell is ``null``
with its reason), never a point's share.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from regie.governance.accounts import Role
from regie.model import Inventory
from regie.services import alerts as alert_store
from regie.services.supervision import SupervisionRequestError, data_health, transformer_report
from regie.store import Store
from regie.web import territory_choice
from regie.web.auth import Caller, require_roles
from regie.web.deps import StoreDep
from regie.web.supervision_pages import (
    health_window,
    is_supervisor,
    protected_peaks,
    supervision_year,
    thresholds_for,
)

router = APIRouter(prefix="/api", tags=["supervision"])
StaffKey = Annotated[Caller, Depends(require_roles(Role.ADMIN, Role.OPERATOR))]


def supervisor_key(request: Request, caller: StaffKey) -> Caller:
    """An admin, or an operator of the régie or the commune (:func:`regie.web.supervision_pages.is_supervisor`)."""
    if not is_supervisor(request.app.state.store, caller.account):
        raise HTTPException(403, "for the régie's admin and the operators of the régie or the commune")
    return caller


SupervisorKey = Annotated[Caller, Depends(supervisor_key)]


def _inv(request: Request, store: Store, caller: Caller) -> Inventory:
    """The territory asked for (``?territory=``), else the caller's or the store's main one
    (:func:`regie.web.territory_choice.choose`: 403 for a territory the caller's account does not run)."""
    try:
        return store.load_inventory(territory_choice.choose(request, caller).id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/grid/{transformer_id}", summary="One transformer over the last year of data")
def api_transformer(request: Request, store: StoreDep, caller: SupervisorKey, transformer_id: str) -> dict[str, Any]:
    """Loading, duration curve, top peaks with secrecy-protected contributions by usage, monthly losses, alerts."""
    inv = _inv(request, store, caller)
    window = supervision_year(store, inv)
    if window is None:
        raise HTTPException(404, "no data stored yet")
    try:
        report = transformer_report(store, transformer_id, *window, thresholds_for(request, transformer_id),
                                    caller=caller.account, territory_id=inv.territory.id)  # fmt: skip
    except SupervisionRequestError as exc:
        raise HTTPException(404, str(exc)) from None
    peaks = protected_peaks(report)
    report.pop("peak_contributions")
    report["peaks"] = [{k: v for k, v in p.items() if k != "when"} for p in peaks]
    return report


@router.get("/data-health", summary="Health of every series over the last 30 days, judged now")
def api_data_health(request: Request, store: StoreDep, caller: SupervisorKey) -> list[dict[str, Any]]:
    """Per series: completeness, last reading, gaps and alerts (stopped, stuck, impossible value, gap)."""
    inv = _inv(request, store, caller)
    now = datetime.fromtimestamp(float(getattr(request.app.state, "clock", time.time)()), inv.territory.zone)
    start, end = health_window(store, inv, now)
    return data_health(store, start, end, now=now, caller=caller.account, territory_id=inv.territory.id)


@router.get("/alerts", summary="The alert log: one record per episode, most recent first")
def api_alerts(
    store: StoreDep, caller: SupervisorKey, ongoing: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:  # fmt: skip
    """Stored alerts (what ``regie supervise`` recorded and delivered by e-mail / MQTT)."""
    return [a.as_dict() for a in alert_store.list_alerts(store, ongoing_only=ongoing, limit=limit)]
