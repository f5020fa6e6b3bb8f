"""``/admin/footprint``: what the régie's data costs in storage, CPU, energy and carbon, emoncms's beside.

For the régie's administrators only (the figures describe the members' activity). The store is measured at
each visit; the CPU figures come from this process's own meter (:class:`regie.operations.footprint.CpuMeter`,
installed by :mod:`regie.web.health`); the factors are the ``footprint_*`` settings (docs/footprint.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from regie.operations.footprint import Factors, footprint
from regie.web.account_pages import _base, render
from regie.web.deps import AdminCaller

router = APIRouter(include_in_schema=False)


@router.get("/admin/footprint", name="footprint_page", response_class=HTMLResponse)
def footprint_page(request: Request, caller: AdminCaller) -> Response:
    """Bytes per point, storage a year, CPU per point and per page, kWh and gCO2e a year."""
    state = request.app.state
    settings = state.settings
    metrics = getattr(state, "metrics", None)
    cpu = metrics.meter.snapshot() if metrics is not None else None
    result = footprint(state.store, Factors.from_settings(settings), cpu, window_days=settings.footprint_window_days)
    return render(request, "footprint.html", {**_base(request, caller, "account"), "f": result})
