"""HTML pages. Each page is a thin route: gather figures from services, hand them to a template, render in the
visitor's language (:func:`regie.web.templating.render`).

The territory page is the régie's public face, the same for every visitor (the admin included): its figures
come from the publication (:func:`regie.publication.balance.public_balance`), and a figure statistical
secrecy hides says why instead of showing a number. The régie's exact figures are in its supervision pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from regie.governance import secrecy
from regie.model import Step
from regie.publication.balance import public_balance
from regie.services.balance import BalanceRequestError
from regie.web import federation_regional, i18n, queries, signal_api, territory_choice
from regie.web.api import territory_summary
from regie.web.deps import StoreDep
from regie.web.templating import energy_unit, render

router = APIRouter(include_in_schema=False)

#: Colours of production sources in charts and tables (colour-blind-safe where it matters: hydro/PV/biogas).
SOURCE_COLOURS: dict[str, str] = {
    "hydro": "#2b6cb0",
    "pv": "#f2a900",
    "biogas": "#3a9d5d",
    "wind": "#7fb8d8",
    "biomass": "#8c6d46",
    "cogeneration": "#b0568f",
    "other": "#8a8f98",
}


def _sources(keys: list[str], gettext: Callable[[str], str]) -> list[dict[str, str]]:
    return [
        {"key": k, "label": gettext(i18n.SOURCE_LABELS.get(k, k)), "colour": SOURCE_COLOURS.get(k, "#8a8f98")}
        for k in keys
    ]


#: What the page says instead of a hidden figure, by reason (:mod:`regie.governance.secrecy`).
MASK_LABELS: dict[str, str] = {
    secrecy.FEWER_THAN_10: i18n.N_("hidden — fewer than 10 delivery points"),
    secrecy.DOMINANCE: i18n.N_("hidden — dominated by one point"),
    secrecy.SECONDARY: i18n.N_("hidden — would reveal a hidden figure"),
}


def _monthly_rows(balance: dict[str, Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    p = balance["periods"]
    masked = p.get("masked", {})
    rows = []
    for i, start in enumerate(p["start"]):
        rows.append({
            "month": datetime.fromisoformat(start).astimezone(zone).date(),
            "consumption_wh": p["consumption_wh"][i],
            "production_wh": {k: v[i] for k, v in p["production_wh"].items()},
            "production_total_wh": p["production_total_wh"][i],
            "coverage": p["coverage"][i],
            "self_sufficiency": p["self_sufficiency"][i],
            "self_consumption": p["self_consumption"][i],
            "masked": {figure: reasons[i] for figure, reasons in masked.items() if reasons[i]},
        })
    return rows


@router.get("/", name="territory_page", response_class=HTMLResponse)
def territory_page(request: Request, store: StoreDep) -> HTMLResponse:
    """The territory at a glance: headline figures with their definitions, the zoomable chart, the months."""
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    choice = territory_choice.choose(request)  # several territories: the one chosen, within the caller's
    try:
        inv = store.load_inventory(choice.id)
    except LookupError:
        if federation_regional.is_hub(store):  # a hub with no territory of its own: its regional figures
            return render(request, "regional.html", {"active": "territory",
                                                     "regional": federation_regional.page_context(request, store)})
        return render(request, "empty.html", {"active": "territory"}, status_code=404)
    zone = inv.territory.zone
    summary = territory_summary(store, inv)
    period = queries.data_period(store, inv)
    step = queries.metering_step(inv)
    balance, problem = None, None
    if period is not None:
        try:
            balance = public_balance(store, period.first, period.end, Step.parse("P1M"), inv.territory.id)
        except BalanceRequestError as exc:
            problem = str(exc)
    months = _monthly_rows(balance, zone) if balance else []
    table_unit, _ = energy_unit(max([m["consumption_wh"] or 0 for m in months]
                                 + [m["production_total_wh"] or 0 for m in months] + [0]))
    sources = _sources(balance["sources"] if balance else [s.source for s in summary.producers_by_source], gettext)
    producers = {s.source: s for s in summary.producers_by_source}
    chart_config = {
        "balanceUrl": request.app.url_path_for("get_balance")
        + (f"?{territory_choice.PARAM}={inv.territory.id}" if choice.several else ""),
        "locale": i18n.negotiate_locale(request),
        "timezone": inv.territory.timezone,
        "meteringStep": step.seconds if step else None,
        "start": period.first.isoformat() if period else None,
        "end": period.end.isoformat() if period else None,
        "sources": sources,
        "strings": {
            "consumption": gettext("Consumption"),
            "production": gettext("Production"),
            "power": gettext("Average power (kW)"),
            "loading": gettext("Loading…"),
            "error": gettext("Could not load the data:"),
            "resolution": gettext("Resolution:"),
            "day": gettext("daily averages"),
            "hour": gettext("hourly averages"),
            "minutes": gettext("{n}-minute values"),
            "masked": {reason: gettext(label) for reason, label in MASK_LABELS.items()},
            "somePeriods": gettext("{series}, some periods"),
            "hiddenSeries": gettext("{series}: {reason}"),
            "secrecy": gettext("Statistical secrecy:"),
        },
        "picker": {
            "all": gettext("Whole period"),
            "consumption": gettext("Consumption"),
            "production": gettext("Local production"),
            "coverage": gettext("Coverage"),
            "selfSufficiency": gettext("Self-sufficiency"),
            "compareCaption": gettext("{current} compared with {previous}"),
            "noPrevious": gettext("No data for the previous period."),
            "badCustom": gettext("Choose a first and a last day, the last not before the first."),
        },
    }
    context = {
        "active": "territory",
        **territory_choice.context(choice),
        "territory": summary,
        "period": period,
        "period_last_day": (period.end - timedelta(seconds=1)).date() if period else None,
        "step_duration": timedelta(seconds=step.seconds) if step else None,
        "balance": balance,
        "problem": problem,
        "sources": sources,
        "producers": producers,
        "months": months,
        "table_unit": table_unit,
        "chart_config": chart_config,
        "mask_labels": {reason: gettext(label) for reason, label in MASK_LABELS.items()},
        "masked": balance["totals"]["masked"] if balance else {},
        "table_reasons": sorted({r for m in months for r in m["masked"].values()}
                                | set(balance["totals"]["masked"].values() if balance else ())),
    }
    context["signal_widget"] = signal_api.widget_context(request, store, inv.territory.id)
    context["regional"] = federation_regional.page_context(request, store)
    return territory_choice.remember(request, render(request, "territory.html", context), choice)
