"""Supervision pages: transformers, one transformer, data health, renovation savings, the monthly report.

Who sees them: the régie's admin and the operators of the body that runs the grid or the buildings (an
organisation of kind régie or commune: the grid and its data are theirs to watch); the public is sent to log
in, members and other operators (a cooperative's) are refused. What the public may see live is on ``/live``
(:mod:`regie.web.live`).

Routes are thin: the figures come from :mod:`regie.services.supervision` and :mod:`regie.services.reports`,
asked as the viewer (never the régie's own unmasked pass): who drove a peak and the monthly losses leave
:func:`regie.governance.gate.read_aggregate` as sums whose cells statistical secrecy masked where it does not
hold (masked cells say why), data health reads households' series as timestamps only, each call logged. A
building's daily use is read through the gate (:func:`regie.governance.gate.read_personal`), which logs the
read.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from babel.dates import format_datetime
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from regie.analytics.grid import Thresholds
from regie.governance import gate, secrecy
from regie.governance.accounts import Account
from regie.governance.gate import AccessDenied
from regie.model import Inventory
from regie.services import alerts as alert_store
from regie.services import reports
from regie.services.reports import Gettext
from regie.services.supervision import (
    SupervisionRequestError,
    data_health,
    transformer_load_profile,
    transformer_report,
)
from regie.store import Store
from regie.web import i18n, queries, territory_choice
from regie.web.auth import Caller
from regie.web.deps import StoreDep, page_caller
from regie.web.templating import render

router = APIRouter(include_in_schema=False)

SUPERVISING_BODIES = gate.SUPERVISING_BODIES
HEALTH_WINDOW = timedelta(days=30)
SAVINGS_REASON = "renovation savings page (IPMVP option C)"
N_ = i18n.N_

GROUP_LABELS = {"residential": N_("Residential"), "professional": N_("Professional"), "public": N_("Public"),
                "production": N_("Production (injection)")}  # fmt: skip
MASK_LABELS = {secrecy.FEWER_THAN_10: N_("fewer than 10 points"), secrecy.DOMINANCE: N_("one point dominates"),
               secrecy.SECONDARY: N_("hidden so the others cannot be deduced")}  # fmt: skip
ALERT_LABELS = reports.ALERT_LABELS
MODEL_LABELS = reports.MODEL_LABELS
KIND_LABELS = {"consumption": N_("consumption"), "production": N_("production"), "temperature": N_("temperature"),
               "transformer_load": N_("transformer load"), "sensor": N_("sensor")}  # fmt: skip


class PageRefused(Exception):
    """A logged-in caller whose role may not see supervision."""


def is_supervisor(store: Store, account: Account) -> bool:
    """The régie's admin, or an operator of the body that runs the grid or the buildings: an organisation of
    the territory of kind régie or commune — the gate's own rule for aggregates (:func:`gate.supervises`)."""
    return gate.supervises(store, account)


def supervisor(request: Request) -> Caller:
    """A supervisor (:func:`is_supervisor`); the public goes to the login form, others get the refusal page."""
    caller = page_caller(request)
    if not is_supervisor(request.app.state.store, caller.account):
        raise PageRefused(caller.role.value)
    return caller


SupervisorDep = Annotated[Caller, Depends(supervisor)]


def refused(request: Request, exc: PageRefused) -> HTMLResponse:
    """The exception handler for :class:`PageRefused` (registered by :func:`regie.web.app.create_app`)."""
    message = "for the régie's admin and the operators of the régie or the commune"
    return render(request, "refused.html", {"active": "grid", "message": message}, status_code=403)


def _gettext(request: Request) -> Gettext:
    return i18n.translations(i18n.negotiate_locale(request)).gettext


def when(text_or_dt: str | datetime | None, locale: str) -> str | None:
    """An instant as the visitor's language writes it (day, month, year, hour, minute), in the territory's zone."""
    if text_or_dt is None:
        return None
    dt = datetime.fromisoformat(text_or_dt) if isinstance(text_or_dt, str) else text_or_dt
    return format_datetime(dt, "d MMM y HH:mm", tzinfo=dt.tzinfo, locale=locale)


def _alerts_text(items: list[dict[str, Any]], locale: str) -> None:
    for a in items:
        a["since_text"] = when(a["since"], locale)
        a["until_text"] = when(a["until"], locale)


def _inventory(store: Store, territory_id: str | None = None) -> Inventory | None:
    try:
        return store.load_inventory(territory_id)
    except LookupError:
        return None


def _empty(request: Request, active: str) -> HTMLResponse:
    return render(request, "empty.html", {"active": active}, status_code=404)


def thresholds_for(request: Request, transformer_id: str) -> Thresholds | None:
    """The transformer's alert thresholds (``app.state.transformer_thresholds``, from the settings), if set."""
    return getattr(request.app.state, "transformer_thresholds", {}).get(transformer_id)


def supervision_year(store: Store, inv: Inventory) -> tuple[datetime, datetime] | None:
    """The last year of stored data (local midnights), the window the transformer pages judge."""
    period = queries.data_period(store, inv)
    if period is None:
        return None
    zone = inv.territory.zone
    end_day = (period.end - timedelta(seconds=1)).date() + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)
    first = period.first.date()
    start_day = max(first, (end - timedelta(days=365)).date())
    return datetime(start_day.year, start_day.month, start_day.day, tzinfo=zone), end


def protected_peaks(report: dict[str, Any], locale: str = "en") -> list[dict[str, Any]]:
    """Each top peak with who drove it: sums by usage group as the gate let them out (a cell that statistical
    secrecy masked for the viewer has no power, only its reason)."""
    pc = report["peak_contributions"]
    if not report["peaks"]:
        return []
    out = []
    for i, p in enumerate(report["peaks"]):
        cells = []
        for j, g in enumerate(pc["groups"]):
            n = int(pc["counts"][i][j])
            if n == 0:
                continue
            reason = pc["reasons"][i][j]
            cells.append({"group": g, "points": n, "reason": reason,
                          "power_w": None if reason is not None else pc["values_w"][i][j]})  # fmt: skip
        out.append({**p, "when": when(p["t"], locale), "contributions": cells})
    return out


def load_chart(profile: dict[str, Any], threshold: float, gettext: Gettext) -> dict[str, Any]:
    """ECharts option: daily highest and mean loading against the rating (100 %) and the alert threshold."""
    pct = lambda xs: [None if x is None else round(100 * x, 1) for x in xs]  # noqa: E731
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 60},
        "xAxis": {"type": "category", "data": profile["day"]},
        "yAxis": {"type": "value", "name": "%"},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "bottom": 25}],
        "series": [
            {"name": gettext("Highest loading of the day"), "type": "line", "data": pct(profile["max"]),
             "showSymbol": False, "lineStyle": {"width": 1.5}, "color": "#b0568f",
             "markLine": {"symbol": "none", "data": [
                 {"yAxis": 100, "name": gettext("Rating"), "lineStyle": {"color": "#c0392b"}},
                 {"yAxis": round(100 * threshold, 1), "name": gettext("Alert threshold"),
                  "lineStyle": {"color": "#e67e22", "type": "dashed"}}]}},
            {"name": gettext("Mean loading of the day"), "type": "line", "data": pct(profile["mean"]),
             "showSymbol": False, "lineStyle": {"width": 1}, "color": "#2b6cb0"},
        ],
    }  # fmt: skip


def duration_chart(report: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """ECharts option: the load-duration curve (loading sorted from highest, against hours)."""
    dc = report["duration_curve"]
    points = [[h, round(100 * x, 2)] for h, x in zip(dc["hours"], dc["loading"], strict=True)]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 40},
        "xAxis": {"type": "value", "name": gettext("Hours in the year"), "nameLocation": "middle", "nameGap": 25,
                  "max": "dataMax"},
        "yAxis": {"type": "value", "name": "%"},
        "series": [{"name": gettext("Loading"), "type": "line", "data": points, "showSymbol": False,
                    "areaStyle": {"opacity": 0.15}, "color": "#b0568f",
                    "markLine": {"symbol": "none", "data": [{"yAxis": 100, "lineStyle": {"color": "#c0392b"}}]}}],
    }  # fmt: skip


# ---------------------------------------------------------------------------- transformers


@router.get("/grid", name="grid_page", response_class=HTMLResponse)
def grid_page(request: Request, store: StoreDep, caller: SupervisorDep) -> HTMLResponse:
    """Every transformer over the last year: rating, peak loading, hours above 100 %, alerts."""
    choice = territory_choice.choose(request, caller)
    inv = _inventory(store, choice.id)
    window = supervision_year(store, inv) if inv else None
    if inv is None or window is None:
        return _empty(request, "grid")
    rows = [transformer_report(store, tr.id, *window, thresholds_for(request, tr.id), caller=caller.account,
                               territory_id=inv.territory.id)
            for tr in inv.transformers if any(s.transformer_id == tr.id for s in inv.series)]  # fmt: skip
    context = {"active": "grid", "transformers": rows, "start": window[0].date(),
               "last_day": (window[1] - timedelta(days=1)).date(), "alert_labels": ALERT_LABELS,
               **territory_choice.context(choice)}  # fmt: skip
    return territory_choice.remember(request, render(request, "grid.html", context), choice)


@router.get("/grid/{transformer_id}", name="transformer_page", response_class=HTMLResponse)
def transformer_page(request: Request, store: StoreDep, caller: SupervisorDep, transformer_id: str) -> HTMLResponse:
    """One transformer: load against its rating over the year, load-duration curve, peaks, monthly losses."""
    choice = territory_choice.choose(request, caller)
    inv = _inventory(store, choice.id)
    window = supervision_year(store, inv) if inv else None
    if inv is None or window is None:
        return _empty(request, "grid")
    gettext = _gettext(request)
    locale = i18n.negotiate_locale(request)
    try:
        report = transformer_report(store, transformer_id, *window, thresholds_for(request, transformer_id),
                                    caller=caller.account, territory_id=inv.territory.id)  # fmt: skip
        profile = transformer_load_profile(store, transformer_id, *window, territory_id=inv.territory.id)
    except SupervisionRequestError as exc:
        return render(request, "refused.html", {"active": "grid", "message": str(exc)}, status_code=404)
    _alerts_text(report["alerts"], locale)
    losses = report["losses"]
    months = [{"month": datetime.fromisoformat(m).date(), "transformer_wh": losses["transformer_wh"][i],
               "downstream_wh": losses["downstream_wh"][i], "loss_wh": losses["loss_wh"][i],
               "ratio": losses["ratio"][i], "coverage": losses["coverage"][i]}
              for i, m in enumerate(losses["month"])]  # fmt: skip
    context = {
        "active": "grid", "r": report, "peaks": protected_peaks(report, locale), "months": months,
        "start": window[0].date(), "last_day": (window[1] - timedelta(days=1)).date(),
        "charts": {"load-chart": load_chart(profile, report["thresholds"]["loading"], gettext),
                   "duration-chart": duration_chart(report, gettext)},
        "group_labels": GROUP_LABELS, "mask_labels": MASK_LABELS, "alert_labels": ALERT_LABELS,
        **territory_choice.context(choice),
    }  # fmt: skip
    return territory_choice.remember(request, render(request, "grid_transformer.html", context), choice)


# ---------------------------------------------------------------------------- data health


def health_window(store: Store, inv: Inventory, now: datetime) -> tuple[datetime, datetime]:
    """The last 30 days up to now; for a store whose data stopped earlier, its last 30 days (judged now)."""
    period = queries.data_period(store, inv)
    end = now
    if period is not None and period.end < now - HEALTH_WINDOW:
        end = period.end
    d = (end - HEALTH_WINDOW).date()  # a local midnight: on every series' step, so no false gap at the start
    return datetime(d.year, d.month, d.day, tzinfo=end.tzinfo), end


@router.get("/data-health", name="health_page", response_class=HTMLResponse)
def health_page(request: Request, store: StoreDep, caller: SupervisorDep) -> HTMLResponse:
    """Each series' status, since when, and its gaps; the alert log below."""
    import time

    choice = territory_choice.choose(request, caller)
    inv = _inventory(store, choice.id)
    if inv is None:
        return _empty(request, "health")
    zone = inv.territory.zone
    now = datetime.fromtimestamp(float(getattr(request.app.state, "clock", time.time)()), zone)
    start, end = health_window(store, inv, now)
    health = data_health(store, start, end, now=now, caller=caller.account, territory_id=inv.territory.id)
    locale = i18n.negotiate_locale(request)
    names = {s.id: s.name for s in inv.series}
    for h in health:
        h["name"] = names.get(h["series"])
        h["last_text"] = when(h["last_reading"], locale)
        _alerts_text(h["alerts"], locale)
        h["gap_list"] = [(when(a, locale), when(b, locale)) for a, b in h["gaps"][:5]]
    health.sort(key=lambda h: (not h["alerts"], h["series"]))
    log = [a.as_dict() for a in alert_store.list_alerts(store, limit=100)]
    for a in log:
        a["since_text"] = when(datetime.fromtimestamp(a["since"], zone), locale)
        a["until_text"] = when(datetime.fromtimestamp(a["until"], zone), locale) if a["until"] else None
    context = {"active": "health", "health": health, "start": when(start, locale), "end": when(end, locale),
               "now": when(now, locale), "bad": sum(1 for h in health if h["alerts"]), "alert_labels": ALERT_LABELS,
               "kind_labels": KIND_LABELS, "log": log,
               "by_kind": sorted(Counter(a["kind"] for h in health for a in h["alerts"]).items()),
               **territory_choice.context(choice)}  # fmt: skip
    return territory_choice.remember(request, render(request, "health.html", context), choice)


# ---------------------------------------------------------------------------- savings


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def savings_presets(request: Request) -> list[dict[str, Any]]:
    """Renovation projects the app was told about (``app.state.savings_presets``, set by the schools demo)."""
    return list(getattr(request.app.state, "savings_presets", []))


@router.get("/savings", name="savings_page", response_class=HTMLResponse)
def savings_page(
    request: Request,
    store: StoreDep,
    caller: SupervisorDep,
    series: Annotated[str | None, Query(max_length=200)] = None,
    temperature: Annotated[str | None, Query(max_length=200)] = None,
    baseline_start: Annotated[str | None, Query(max_length=10)] = None,
    baseline_end: Annotated[str | None, Query(max_length=10)] = None,
    reporting_start: Annotated[str | None, Query(max_length=10)] = None,
    reporting_end: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """A building's savings: periods, the model, fit metrics against ASHRAE G14, avoided energy ± uncertainty."""
    choice = territory_choice.choose(request, caller)
    inv = _inventory(store, choice.id)
    if inv is None:
        return _empty(request, "savings")
    gettext = _gettext(request)
    candidates = reports.savings_candidates(store, inv.territory.id)
    thermometer = next(iter(t["series"] for t in candidates["temperatures"]), None)
    form = {"series": series, "temperature": temperature or thermometer,
            "baseline_start": baseline_start, "baseline_end": baseline_end,
            "reporting_start": reporting_start, "reporting_end": reporting_end}  # fmt: skip
    context: dict[str, Any] = {"active": "savings", "candidates": candidates, "form": form,
                               "presets": savings_presets(request), "result": None, "problem": None,
                               "model_labels": MODEL_LABELS, **territory_choice.context(choice)}  # fmt: skip
    if series:
        result, problem, status = _savings(store, caller, form, getattr(request.app.state, "savings_day_types", {}),
                                           inv.territory.id)  # fmt: skip
        context.update(result=result, problem=problem)
        if result is not None:
            context["chart"] = savings_chart(result, gettext)
            context["pdf_query"] = request.url.query
            ends = (("baseline", result["baseline"][1]), ("reporting", result["reporting"][1]))
            context["last"] = {k: date.fromisoformat(v) - timedelta(days=1) for k, v in ends}
            context["first"] = {"baseline": date.fromisoformat(result["baseline"][0]),
                                "reporting": date.fromisoformat(result["reporting"][0])}  # fmt: skip
        return territory_choice.remember(request, render(request, "savings.html", context, status_code=status), choice)
    return territory_choice.remember(request, render(request, "savings.html", context), choice)


def _savings(
    store: Store, caller: Caller, form: dict[str, Any], calendars: dict[str, Any] | None = None,
    territory_id: str | None = None,
) -> tuple[dict[str, Any] | None, str | None, int]:  # fmt: skip
    """(result, problem, HTTP status): dates are [first, last] days as typed; the service wants [first, last + 1).

    ``calendars`` maps a building's series to its day-type calendar (``app.state.savings_day_types``, set by
    the schools demo), so that a school's baseline tells term days from weekends and holidays."""
    days = {k: _day(form[k]) for k in ("baseline_start", "baseline_end", "reporting_start", "reporting_end")}
    if None in days.values() or not form["temperature"]:
        return None, "give the four dates (YYYY-MM-DD) and a temperature series", 400
    one = timedelta(days=1)
    try:
        result = reports.building_savings(
            store, caller.account, form["series"], form["temperature"],
            (days["baseline_start"], days["baseline_end"] + one),
            (days["reporting_start"], days["reporting_end"] + one),
            reason=SAVINGS_REASON, day_type=(calendars or {}).get(form["series"]), territory_id=territory_id,
        )  # fmt: skip
    except AccessDenied as exc:
        return None, f"refused by the gate: {exc.reason}", 403
    except (reports.ReportRequestError, SupervisionRequestError, ValueError, LookupError) as exc:
        return None, str(exc), 400
    return result, None, 200


def savings_chart(result: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """ECharts option: daily actual use and adjusted baseline [kWh], the reporting period shaded."""
    d = result["daily"]
    kwh = lambda xs: [None if x is None else round(x / 1e3, 2) for x in xs]  # noqa: E731
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 55, "right": 20, "top": 20, "bottom": 60},
        "xAxis": {"type": "category", "data": d["day"]},
        "yAxis": {"type": "value", "name": "kWh"},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "bottom": 25}],
        "series": [
            {"name": gettext("Adjusted baseline"), "type": "line", "data": kwh(d["baseline_wh"]), "showSymbol": False,
             "color": "#2b6cb0", "lineStyle": {"width": 1},
             "markArea": {"itemStyle": {"color": "rgba(43,108,176,0.07)"},
                          "data": [[{"name": gettext("Reporting period"), "xAxis": result["reporting"][0]},
                                    {"xAxis": d["day"][-1]}]]}},
            {"name": gettext("Actual use"), "type": "line", "data": kwh(d["actual_wh"]), "showSymbol": False,
             "color": "#c8503c", "lineStyle": {"width": 1}},
        ],
    }  # fmt: skip


@router.get("/savings/report.pdf", name="savings_pdf")
def savings_pdf(
    request: Request,
    store: StoreDep,
    caller: SupervisorDep,
    series: Annotated[str, Query(max_length=200)],
    temperature: Annotated[str, Query(max_length=200)],
    baseline_start: Annotated[str, Query(max_length=10)],
    baseline_end: Annotated[str, Query(max_length=10)],
    reporting_start: Annotated[str, Query(max_length=10)],
    reporting_end: Annotated[str, Query(max_length=10)],
) -> Response:
    """The building's savings statement as a PDF (the page's figures)."""
    form = {"series": series, "temperature": temperature, "baseline_start": baseline_start,
            "baseline_end": baseline_end, "reporting_start": reporting_start,
            "reporting_end": reporting_end}  # fmt: skip
    territory = territory_choice.choose(request, caller).id
    result, problem, status = _savings(store, caller, form, getattr(request.app.state, "savings_day_types", {}),
                                       territory)  # fmt: skip
    if result is None:
        return Response(problem or "", status_code=status, media_type="text/plain; charset=utf-8")
    locale = i18n.negotiate_locale(request)
    pdf = reports.savings_pdf(result, i18n.translations(locale).gettext, locale)
    name = f"savings-{series}-{reporting_start}-{reporting_end}.pdf"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


# ---------------------------------------------------------------------------- monthly report


def default_month(store: Store, inv: Inventory) -> str | None:
    """The last whole month of stored data (or the only one, for a store holding less)."""
    period = queries.data_period(store, inv)
    if period is None:
        return None
    last = (period.end - timedelta(seconds=1)).date()
    end_is_month_end = (last + timedelta(days=1)).day == 1
    m = last if end_is_month_end else (last.replace(day=1) - timedelta(days=1))
    if m < period.first.date():
        m = last
    return f"{m.year:04d}-{m.month:02d}"


def _report(
    request: Request, store: Store, month: str | None, caller: Caller
) -> tuple[dict | None, str | None, Inventory | None]:  # fmt: skip
    inv = _inventory(store, territory_choice.choose(request, caller).id)
    if inv is None:
        return None, None, None
    month = month or default_month(store, inv)
    if month is None:
        return None, "no data stored yet", inv
    try:
        return reports.monthly_report(store, month, caller=caller.account, territory_id=inv.territory.id), None, inv
    except (reports.ReportRequestError, SupervisionRequestError) as exc:
        return None, str(exc), inv


@router.get("/report", name="report_page", response_class=HTMLResponse)
def report_page(
    request: Request, store: StoreDep, caller: SupervisorDep,
    month: Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$")] = None,
) -> HTMLResponse:  # fmt: skip
    """The monthly territory report: balance, production by source, autonomy, transformer peaks, data health."""
    report, problem, inv = _report(request, store, month, caller)
    if inv is None:
        return _empty(request, "report")
    choice = territory_choice.choose(request, caller)
    if report is None:
        context = {"active": "report", "report": None, "problem": problem, **territory_choice.context(choice)}
        return render(request, "report.html", context, 400)
    gettext = _gettext(request)
    bal = report["balance"]
    chart = None
    if bal:
        p = bal["periods"]
        kwh = lambda xs: [None if x is None else round(x / 1e3, 1) for x in xs]  # noqa: E731
        chart = {"tooltip": {"trigger": "axis"}, "legend": {"bottom": 0},
                 "grid": {"left": 55, "right": 20, "top": 20, "bottom": 40},
                 "xAxis": {"type": "category", "data": [s[:10] for s in p["start"]]},
                 "yAxis": {"type": "value", "name": "kWh"},
                 "series": [{"name": gettext("Consumption"), "type": "bar", "data": kwh(p["consumption_wh"]),
                             "color": "#7b8794"},  # a grey that stands out on a light and a dark page
                            {"name": gettext("Production"), "type": "bar", "data": kwh(p["production_total_wh"]),
                             "color": "#f2a900"}]}  # fmt: skip
    for tr in report["transformers"]:
        tr["peak_when"] = when(tr["peak"]["t"], i18n.negotiate_locale(request)) if tr["peak"] else None
    context = {"active": "report", "report": report, "problem": report.get("problem"),
               "month_start": datetime.fromisoformat(report["start"]).date(), "chart": chart,
               "source_labels": i18n.SOURCE_LABELS, "alert_labels": ALERT_LABELS,
               **territory_choice.context(choice)}  # fmt: skip
    return territory_choice.remember(request, render(request, "report.html", context), choice)


@router.get("/report.pdf", name="report_pdf")
def report_pdf(
    request: Request, store: StoreDep, caller: SupervisorDep,
    month: Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$")] = None,
) -> Response:  # fmt: skip
    """The monthly territory report as a PDF with charts."""
    report, problem, inv = _report(request, store, month, caller)
    if report is None:
        return Response(problem or "no territory", status_code=404 if inv is None else 400, media_type="text/plain")
    locale = i18n.negotiate_locale(request)
    pdf = reports.monthly_report_pdf(report, i18n.translations(locale).gettext, locale)
    headers = {"Content-Disposition": f'attachment; filename="report-{report["month"]}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
