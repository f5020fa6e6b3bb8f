"""Reports: the territory's month (balance, production by source, autonomy, transformer peaks, data health)
and a building's renovation savings (IPMVP option C), as data for a page and as a PDF with charts.

Why PDFs: a régie's board and a town council read a monthly sheet and a savings statement, file them and
send them on; they must carry the same figures as the pages. Charts are drawn with fpdf2's own lines and
rectangles (no plotting library, nothing fetched).

Texts: every label is marked with ``N_`` and translated by the ``gettext`` the caller passes (the web and
the CLI pass the fr/en catalogues of :mod:`regie.web.i18n`; this module does not import the web layer).
The PDF core font is Latin-1: :func:`latin1` replaces what it cannot draw.

Governance: the monthly report holds aggregates only (territory totals, transformer loads, series health).
Its energy balance is the publication's (:func:`regie.publication.balance.public_balance`): the very figures
of the public page, frozen and versioned, so a report filed last month and this month's page cannot be
subtracted to isolate a household.
A building's savings need its daily use, personal data when the building is a delivery point: it is read
through :func:`regie.governance.gate.read_personal` at one value per day (P1D), for the purpose
``dpv:CombatClimateChange`` (renovation programmes), and logged. Outdoor temperature describes no one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal, format_percent

from regie.analytics import degree_days as dd
from regie.analytics import savings as sv
from regie.governance.accounts import Account
from regie.governance.gate import read_personal
from regie.model import SeriesKind, Step
from regie.model.calendar import period_starts
from regie.publication.balance import public_balance
from regie.services.balance import BalanceRequestError
from regie.services.supervision import SupervisionRequestError, data_health, supervision_report, weather_series
from regie.store import Store

if TYPE_CHECKING:
    from fpdf import FPDF

Gettext = Callable[[str], str]
SAVINGS_PURPOSE = "dpv:CombatClimateChange"
MAX_SPAN_DAYS = 10 * 366  # baseline + reporting: IPMVP reports cover years, not decades
COLOURS = {"consumption": (60, 60, 70), "production": (242, 169, 0), "baseline": (43, 108, 176),
           "actual": (200, 60, 50), "hydro": (43, 108, 176), "pv": (242, 169, 0), "biogas": (58, 157, 93),
           "wind": (127, 184, 216), "biomass": (140, 109, 70), "cogeneration": (176, 86, 143),
           "other": (138, 143, 152), "loading": (176, 86, 143)}  # fmt: skip


def N_(message: str) -> str:  # the name gettext's extractors look for
    return message


class ReportRequestError(ValueError):
    """The month, building or periods asked for cannot be reported (says which and why)."""


SOURCE_LABELS = {"hydro": N_("Hydro"), "pv": N_("Solar PV"), "biogas": N_("Biogas"), "wind": N_("Wind"),
                 "biomass": N_("Biomass"), "cogeneration": N_("Cogeneration"), "other": N_("Other")}  # fmt: skip
ALERT_LABELS = {"overload": N_("Overload"), "losses": N_("Losses"), "stale": N_("Stopped"),
                "stuck": N_("Stuck value"), "out_of_range": N_("Impossible value"), "gap": N_("Gap")}  # fmt: skip
MODEL_LABELS = {"intercept_only": N_("constant use"), "hdd_only": N_("heating degree days"),
                "cdd_only": N_("cooling degree days"), "hdd_cdd": N_("heating and cooling degree days")}  # fmt: skip


# ---------------------------------------------------------------------------- the month


def parse_month(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``2026-10`` → [first local midnight of the month, first of the next)."""
    try:
        y, m = (int(x) for x in month.split("-"))
        if not 1970 <= y < 2100:
            raise ValueError(month)
        start = datetime(y, m, 1, tzinfo=zone)
        end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=zone)
    except (ValueError, TypeError):
        raise ReportRequestError(f"month must be YYYY-MM (1970-2099), got {month!r}") from None
    return start, end


def monthly_report(
    store: Store, month: str, *, now: datetime | None = None, caller: Account | None = None,
    territory_id: str | None = None,
) -> dict[str, Any]:
    """The territory's month: energy balance by day and in total, transformers' peaks, data health.

    ``caller`` reads the supervision figures through the gate (a page passes its viewer: secrecy applies);
    by default the régie itself (:data:`regie.services.supervision.SUPERVISION`); ``territory_id``: by default
    the store's default territory."""
    inv = store.load_inventory(territory_id)
    territory_id = inv.territory.id
    zone = inv.territory.zone
    start, end = parse_month(month, zone)
    out: dict[str, Any] = {"territory": inv.territory.name, "month": month, "start": start.isoformat(),
                           "end": end.isoformat(), "balance": None, "problem": None}  # fmt: skip
    try:
        out["balance"] = public_balance(store, start, end, Step.parse("P1D"), territory_id)
        t = out["balance"]["totals"]  # largest source first, hidden ones last
        t["production_by_source_wh"] = dict(sorted(t["production_by_source_wh"].items(),
                                                   key=lambda kv: (kv[1] is None, -(kv[1] or 0))))  # fmt: skip
    except BalanceRequestError as exc:
        out["problem"] = str(exc)
    try:
        sup = supervision_report(store, start, end, now=now or min(end, datetime.now(zone)), include_health=False,
                                 caller=caller, territory_id=territory_id)  # fmt: skip
    except SupervisionRequestError as exc:
        sup = {"transformers": [], "alerts": []}
        out["problem"] = (out["problem"] or "") + str(exc)
    out["transformers"] = [{
        "id": r["transformer"], "name": r["name"], "rated_kva": r["rated_kva"],
        "max_loading": r["loading"]["max"], "p95": r["loading"]["p95"],
        "hours_over_100": r["loading"]["hours_over_100"],
        "peak": r["peaks"][0] if r["peaks"] else None, "loss_ratio": r["losses"]["total_ratio"],
        "alerts": len(r["alerts"]),
    } for r in sup["transformers"]]  # fmt: skip
    judged = min(end, now or datetime.now(zone))
    health = (data_health(store, start, end, now=judged, caller=caller, territory_id=territory_id)
              if judged > start else [])  # fmt: skip
    out["health"] = health_summary(health)
    return out


def health_summary(health: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How many series are fine, and the ones that are not, worst first (what a monthly sheet can hold)."""
    bad = [h for h in health if h["alerts"]]
    bad.sort(key=lambda h: (h["completeness"], h["series"]))
    comp = [h["completeness"] for h in health]
    return {"series": len(health), "ok": len(health) - len(bad), "with_alerts": len(bad),
            "completeness": float(np.mean(comp)) if comp else None,
            "problems": [{"series": h["series"], "completeness": h["completeness"], "last_reading": h["last_reading"],
                          "kinds": sorted({a["kind"] for a in h["alerts"]})} for h in bad]}  # fmt: skip


# ---------------------------------------------------------------------------- a building's savings


def _instant(d: date, zone: ZoneInfo) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def savings_candidates(store: Store, territory_id: str | None = None) -> dict[str, Any]:
    """Buildings of the territory whose savings can be computed (consumption in W at a fixed step), and its
    thermometers (``territory_id``: default, the store's only or first one)."""
    inv = store.load_inventory(territory_id)
    sites = {s.id: s.name for s in inv.sites}
    usage = {d.prm: d.usage for d in inv.delivery_points}
    buildings = [{"series": s.id, "name": sites.get(s.site_id or "", s.name or s.id), "usage": usage.get(s.prm or "")}
                 for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.unit in ("W", "Wh")
                 and s.step is not None and not s.step.is_calendar and usage.get(s.prm or "") != "residential"]
    temps = [{"series": s.id, "name": s.name or s.id} for s in inv.series
             if s.kind is SeriesKind.TEMPERATURE and s.prm is None]  # fmt: skip
    return {"buildings": buildings, "temperatures": temps}


def _daily_use(starts: np.ndarray, day_t: np.ndarray, values: np.ndarray, count: np.ndarray, step: int,
               unit: str) -> np.ndarray:
    """Energy per local day [Wh] from the gate's daily values; NaN for a day with under 90 % of its steps."""
    n = len(starts) - 1
    expected = np.diff(starts) / step
    use = np.full(n, np.nan)
    idx = np.searchsorted(starts, np.asarray(day_t, dtype=np.int64), side="right") - 1
    ok = (idx >= 0) & (idx < n)
    idx, values, count = idx[ok], np.asarray(values, dtype=float)[ok], np.asarray(count, dtype=float)[ok]
    full = count >= 0.9 * expected[idx]
    if unit == "W":  # the mean power of the day's readings × the day's length
        use[idx[full]] = values[full] * np.diff(starts)[idx[full]] / 3600
    else:  # energy: the sum, scaled up to the whole day
        use[idx[full]] = values[full] * expected[idx[full]] / count[full]
    return use


def building_savings(
    store: Store,
    caller: Account,
    series_id: str,
    temperature_id: str,
    baseline: tuple[date, date],
    reporting: tuple[date, date],
    *,
    reason: str = "IPMVP option C savings report",
    now: int | None = None,
    day_type: Callable[[date, date], np.ndarray] | None = None,
    territory_id: str | None = None,
) -> dict[str, Any]:
    """Baseline fit, avoided energy ± uncertainty and daily actual vs adjusted baseline for one building.

    ``baseline`` and ``reporting`` are [first day, last day + 1) in the territory's days. The daily use is
    read through the gate (may raise :class:`regie.governance.gate.AccessDenied`). ``day_type(first, end)``,
    where the building has a calendar (a school's term days, weekends, holidays), labels each local day so
    the baseline gets one intercept per day type (:func:`regie.analytics.savings.fit_baseline`).
    ``territory_id``: the territory that holds both series (default: the store's only or first one); a series
    of another territory is refused, so its days are never cut in the wrong zone.
    """
    inv = store.load_inventory(territory_id)
    zone = inv.territory.zone
    (b0, b1), (r0, r1) = baseline, reporting
    if not (b0 < b1 <= r0 < r1):
        raise ReportRequestError("the baseline must end before the reporting period starts, each at least a day")
    if b0.year < 1970 or r1.year >= 2100 or (r1 - b0).days > MAX_SPAN_DAYS:
        raise ReportRequestError(f"periods must lie in 1970-2099 and span at most {MAX_SPAN_DAYS} days in all")
    try:
        s = store.series(series_id)
        store.series(temperature_id)
    except Exception:
        raise ReportRequestError(f"unknown series {series_id!r} or {temperature_id!r}") from None
    held = {x.id for x in inv.series}
    if series_id not in held or temperature_id not in held:
        raise ReportRequestError(f"{series_id!r} and {temperature_id!r} must both be series of {inv.territory.id!r}")
    if s.step is None or s.step.is_calendar:
        raise ReportRequestError(f"{series_id} needs a fixed step")
    a, b = _instant(b0, zone), _instant(r1, zone)
    step = s.step.seconds
    starts = period_starts(a, b - 1, "day", zone)
    n = len(starts) - 1
    types = None if day_type is None else np.asarray(day_type(b0, r1), dtype=str)
    if types is not None and len(types) != n:
        raise ReportRequestError(f"the building's calendar gave {len(types)} days for {n}")
    if s.prm is not None:
        d = read_personal(store, caller, s.id, a, b, "P1D", SAVINGS_PURPOSE, reason=reason, now=now)
        use = _daily_use(starts, d.t, d.values, d.count, step, s.unit)
    else:  # a building metered without a delivery point (a sub-meter): no one's personal data
        t, v = weather_series(store, s.id, datetime.fromtimestamp(a, zone), datetime.fromtimestamp(b, zone))
        use = sv.daily_energy(t, v, step, zone, a, b)[1] if s.unit == "W" else np.full(n, np.nan)
    lo, hi = datetime.fromtimestamp(a, zone), datetime.fromtimestamp(b, zone)
    t_temp, temp = weather_series(store, temperature_id, lo, hi)
    tstep = store.series(temperature_id).step
    tstep_s = tstep.seconds if tstep and not tstep.is_calendar else None
    days = dd.daily_temperature(t_temp, temp, zone, a, b, step_s=tstep_s)
    tmid = days.midrange[:n]
    day0 = starts[:-1]
    base = day0 < _instant(b1, zone)
    rep = day0 >= _instant(r0, zone)
    sel = base & np.isfinite(tmid) & np.isfinite(use)
    if sel.sum() < 30:
        raise ReportRequestError("fewer than 30 baseline days with both use and temperature: no model can be fitted")
    try:
        fit = sv.fit_baseline(tmid[sel], use[sel], day_type=None if types is None else types[sel])
    except ValueError as exc:
        raise ReportRequestError(str(exc)) from None
    model = fit.model
    result = sv.avoided_energy(model, tmid[rep], use[rep], day_type=None if types is None else types[rep])
    months = (r1 - r0).days / 30.4375
    g14 = model.guideline14(months)
    fsu68 = result.fsu.get(0.68)
    return {
        "series": series_id, "temperature": temperature_id, "territory": inv.territory.name,
        "name": next((x.name for x in inv.sites if x.id == s.site_id), s.name or s.id),
        "baseline": [b0.isoformat(), b1.isoformat()], "reporting": [r0.isoformat(), r1.isoformat()],
        "model": {"kind": model.kind, "intercept_wh": model.intercept, "beta_hdd_wh": model.beta_hdd,
                  "beta_cdd_wh": model.beta_cdd, "hdd_bp_c": model.hdd_bp, "cdd_bp_c": model.cdd_bp,
                  "r2": model.r2, "adj_r2": model.adj_r2, "n": model.n, "cv_rmse": model.cv_rmse,
                  "nmbe": model.nmbe, "autocorrelation": model.autocorrelation,
                  "candidates": fit.candidates, "qualified": fit.qualified, "warnings": list(fit.warnings),
                  "day_types": list(model.day_types), "intercepts_wh": model.intercepts,
                  "hdd_slopes_wh": model.hdd_slopes, "n_params": model.n_params},
        "guideline14": {**g14, "fsu_68": fsu68, "fsu_max": sv.GUIDELINE_14["max_fsu_68"],
                        "fsu_ok": bool(fsu68 is not None and fsu68 <= sv.GUIDELINE_14["max_fsu_68"])},
        "savings": {"adjusted_baseline_wh": result.adjusted_baseline, "actual_wh": result.actual,
                    "avoided_wh": result.avoided, "fraction": result.fraction, "days": result.days,
                    "skipped_days": result.skipped_days,
                    "uncertainty_68_wh": result.uncertainty[0.68], "uncertainty_90_wh": result.uncertainty[0.90]},
        "daily": {"day": [datetime.fromtimestamp(int(x), zone).date().isoformat() for x in day0],
                  "actual_wh": [None if not np.isfinite(x) else round(float(x), 1) for x in use],
                  "baseline_wh": [None if not np.isfinite(x) else round(float(x), 1)
                                  for x in model.predict(tmid, types)],
                  "temperature_c": [None if not np.isfinite(x) else round(float(x), 2) for x in tmid],
                  "reporting": [bool(x) for x in rep], "baseline": [bool(x) for x in base]},
    }  # fmt: skip


# ---------------------------------------------------------------------------- formatting


_LATIN1 = str.maketrans({"\u202f": "\u00a0", "\u2019": "'", "\u2014": "-", "\u2013": "-", "\u2026": "...",
                         "\u0153": "oe", "\u20ac": "EUR", "\u201c": '"', "\u201d": '"', "\u2264": "<=",
                         "\u2265": ">=", "\u03a3": "sum ", "\u2212": "-"})  # fmt: skip


def latin1(text: str) -> str:
    """Text the PDF core font (Helvetica, Latin-1) can draw."""
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def fmt_number(x: float | None, locale: str, digits: int = 1) -> str:
    if x is None or not np.isfinite(x):
        return "-"
    return format_decimal(round(float(x), digits), format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=locale)


def fmt_percent(x: float | None, locale: str, digits: int = 1) -> str:
    if x is None or not np.isfinite(x):
        return "-"
    return format_percent(x, format=f"#,##0.{'0' * digits} %" if digits else "#,##0 %", locale=locale)


def fmt_energy(wh: float | None, locale: str) -> str:
    if wh is None or not np.isfinite(wh):
        return "-"
    for unit, size in (("GWh", 1e9), ("MWh", 1e6), ("kWh", 1e3)):
        if abs(wh) >= size:
            return f"{fmt_number(wh / size, locale, 2 if abs(wh / size) < 10 else 1)}\u00a0{unit}"
    return f"{fmt_number(wh, locale, 0)}\u00a0Wh"


# ---------------------------------------------------------------------------- PDF drawing


@cache
def _pdf_class() -> type[FPDF]:
    """The reports' page layout and charts. fpdf2 (with Pillow and fontTools, ~28 MB resident) is imported on the
    first PDF, not when the web server starts."""
    from fpdf import FPDF

    class _Pdf(FPDF):
        def __init__(self, title: str, footer: str) -> None:
            super().__init__(format="A4")
            self._footer = footer
            self.set_title(latin1(title))
            self.set_creator("regie")
            self.set_auto_page_break(True, 15)
            self.set_margins(15, 15, 15)
            self.add_page()

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=7)
            self.set_text_color(120)
            self.cell(0, 5, latin1(f"{self._footer} - {self.page_no()}"), align="C")
            self.set_text_color(0)

        def h1(self, text: str) -> None:
            self.set_font("Helvetica", "B", 15)
            self.multi_cell(0, 8, latin1(text), new_x="LMARGIN", new_y="NEXT")

        def h2(self, text: str) -> None:
            self.ln(2)
            self.set_font("Helvetica", "B", 11)
            self.cell(0, 7, latin1(text), new_x="LMARGIN", new_y="NEXT")

        def para(self, text: str, size: float = 9) -> None:
            self.set_font("Helvetica", "", size)
            self.multi_cell(0, 4.6, latin1(text), new_x="LMARGIN", new_y="NEXT")

        def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
            self.set_font("Helvetica", "B", 8)
            self.set_fill_color(235, 238, 242)
            for text, w in zip(header, widths, strict=True):
                self.cell(w, 6, latin1(text), border="B", fill=True, align="L" if w is widths[0] else "R")
            self.ln()
            self.set_font("Helvetica", "", 8)
            for row in rows:
                if self.get_y() > self.h - 25:
                    self.add_page()
                for i, (text, w) in enumerate(zip(row, widths, strict=True)):
                    self.cell(w, 5, latin1(text), align="L" if i == 0 else "R")
                self.ln()

        def chart(self, series: Sequence[tuple[str, Sequence[float | None], tuple[int, int, int], str]],
                  labels: Sequence[str], *, height: float = 55, unit: str = "",
                  band: Sequence[bool] | None = None) -> None:
            """A small chart: each series as ``(label, values, colour, "line" | "bar")``; ``band`` shades steps."""
            x0, y0 = self.l_margin + 12, self.get_y() + 2
            w, h = self.w - self.l_margin - self.r_margin - 12, height
            if y0 + h + 14 > self.h - 15:
                self.add_page()
                y0 = self.get_y() + 2
            vals = [v for _, vs, _, _ in series for v in vs if v is not None and np.isfinite(v)]
            bottom = min([*vals, 0.0])
            tick = nice_step((max([*vals, 0.0]) - bottom) / 4)
            bottom = np.floor(bottom / tick) * tick
            ticks = int(np.ceil((max([*vals, 0.0]) - bottom) / tick)) or 1
            span = tick * ticks
            n = max(len(labels), 1)

            def px(i: float) -> float:
                return x0 + w * (i + 0.5) / n

            def py(v: float) -> float:
                return y0 + h - h * (v - bottom) / span

            if band is not None:
                self.set_fill_color(238, 243, 250)
                for i, on in enumerate(band):
                    if on:
                        self.rect(x0 + w * i / n, y0, w / n, h, style="F")
            self.set_draw_color(200)
            self.set_line_width(0.1)
            self.set_font("Helvetica", "", 6.5)
            digits = 0 if tick >= 1 else int(np.ceil(-np.log10(tick))) + 1
            for k in range(ticks + 1):
                v = bottom + tick * k
                self.line(x0, py(v), x0 + w, py(v))
                self.set_xy(x0 - 13, py(v) - 2)
                self.cell(12, 4, latin1(f"{v:,.{digits}f}".replace(",", " ")), align="R")
            nbars = sum(1 for s in series if s[3] == "bar")
            k_bar = 0
            for _label, vs, colour, kind in series:
                self.set_draw_color(*colour)
                self.set_fill_color(*colour)
                if kind == "bar":
                    bw = w / n * 0.8 / max(nbars, 1)
                    for i, v in enumerate(vs):
                        if v is None or not np.isfinite(v):
                            continue
                        x = x0 + w * i / n + w / n * 0.1 + k_bar * bw
                        self.rect(x, min(py(v), py(0)), bw, abs(py(v) - py(0)), style="F")
                    k_bar += 1
                else:
                    self.set_line_width(0.35)
                    prev = None
                    for i, v in enumerate(vs):
                        if v is None or not np.isfinite(v):
                            prev = None
                            continue
                        if prev is not None:
                            self.line(px(prev[0]), py(prev[1]), px(i), py(v))
                        prev = (i, v)
            self.set_line_width(0.2)
            self.set_draw_color(0)
            every = max(1, n // 12)
            slot = w / n * every
            self.set_font("Helvetica", "", 6.5)
            for i, lab in enumerate(labels):
                if i % every == 0:
                    text = latin1(lab)
                    while len(text) > 3 and self.get_string_width(text) > slot - 1:
                        text = text[:-2] + "."
                    self.set_xy(px(i) - slot / 2, y0 + h + 0.5)
                    self.cell(slot, 3.5, text, align="C")
            # legend
            self.set_xy(x0, y0 + h + 5)
            for label, _, colour, _ in series:
                self.set_fill_color(*colour)
                self.rect(self.get_x(), self.get_y() + 1, 3, 3, style="F")
                self.set_x(self.get_x() + 4)
                self.cell(self.get_string_width(latin1(label)) + 6, 5, latin1(label))
            if unit:
                self.cell(0, 5, latin1(f"({unit})"), align="R")
            self.set_y(y0 + h + 12)
            self.set_text_color(0)

    return _Pdf


def _pdf(title: str, footer: str) -> Any:
    return _pdf_class()(title, footer)


def nice_step(raw: float) -> float:
    """A round axis step (1, 2, 2.5 or 5 × 10^k) at least ``raw``, so that ticks read 0, 5 000, 10 000..."""
    if not raw > 0 or not np.isfinite(raw):
        return 1.0
    power = 10 ** np.floor(np.log10(raw))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))


def _day_labels(days: Sequence[str], locale: str) -> list[str]:
    return [format_date(date.fromisoformat(d[:10]), "d MMM", locale=locale) for d in days]


def monthly_report_pdf(report: dict[str, Any], gettext: Gettext, locale: str) -> bytes:
    """The monthly territory report as an A4 PDF (figures, two charts, transformers, data health)."""
    _ = gettext
    start = datetime.fromisoformat(report["start"])
    month_name = format_skeleton("yMMMM", start, locale=locale)
    title = _("Monthly report — %(territory)s — %(month)s") % {"territory": report["territory"], "month": month_name}
    pdf = _pdf(title, f"regie · {report['territory']} · {month_name}")
    pdf.h1(title)
    bal = report["balance"]
    if report.get("problem"):
        pdf.para(_("The balance cannot be computed:") + " " + report["problem"])
    if bal:
        t = bal["totals"]
        pdf.h2(_("Energy balance"))
        rows = [[_("Consumption"), fmt_energy(t["consumption_wh"], locale)],
                [_("Local production"), fmt_energy(t["production_wh"], locale)],
                [_("Coverage"), fmt_percent(t["coverage"], locale)],
                [_("Self-sufficiency"), fmt_percent(t["self_sufficiency"], locale)],
                [_("Self-consumption"), fmt_percent(t["self_consumption"], locale)]]  # fmt: skip
        pdf.table([_("Figure"), _("Value")], rows, [90, 40])
        note = _("Self-sufficiency and self-consumption are counted step by step, coverage over the whole month.")
        pdf.para(note, 7.5)
        p = bal["periods"]
        kwh = [None if x is None else x / 1e3 for x in p["consumption_wh"]]
        prod = [None if x is None else x / 1e3 for x in p["production_total_wh"]]
        pdf.h2(_("Day by day"))
        pdf.chart([(_("Consumption"), kwh, COLOURS["consumption"], "bar"),
                   (_("Production"), prod, COLOURS["production"], "bar")],
                  _day_labels(p["start"], locale), unit="kWh")  # fmt: skip
        pdf.h2(_("Production by source"))
        src = [[_(SOURCE_LABELS.get(k, k)), fmt_energy(v, locale),
                fmt_percent(v / t["production_wh"] if t["production_wh"] and v is not None else None, locale)]
               for k, v in sorted(t["production_by_source_wh"].items(), key=lambda kv: -(kv[1] or 0))]  # fmt: skip
        pdf.table([_("Source"), _("Production"), _("Share of production")], src, [80, 40, 40])
    if report["transformers"]:
        pdf.h2(_("Transformers"))
        rows = []
        for r in report["transformers"]:
            peak = r["peak"]
            at = datetime.fromisoformat(peak["t"]) if peak else None
            when = format_datetime(at, "d MMM HH:mm", tzinfo=at.tzinfo, locale=locale) if at else "-"
            rows.append([r["name"], fmt_number(r["rated_kva"], locale, 0), fmt_percent(r["max_loading"], locale),
                         when, fmt_number(r["hours_over_100"], locale, 1), fmt_percent(r["loss_ratio"], locale),
                         str(r["alerts"])])
        pdf.table([_("Transformer"), _("Rating (kVA)"), _("Peak loading"), _("Peak at"), _("Hours > 100 %"),
                   _("Losses"), _("Alerts")], rows, [44, 25, 25, 26, 24, 18, 18])  # fmt: skip
        pdf.chart([(_("Peak loading"), [100 * (r["max_loading"] or 0) for r in report["transformers"]],
                    COLOURS["loading"], "bar")], [r["name"] for r in report["transformers"]], height=35, unit="%")
    h = report["health"]
    pdf.h2(_("Data health"))
    pdf.para(_("%(ok)s of %(n)s series without alert; mean completeness %(c)s.") % {
        "ok": h["ok"], "n": h["series"], "c": fmt_percent(h["completeness"], locale)})
    if h["problems"]:
        rows = [[x["series"], fmt_percent(x["completeness"], locale),
                 ", ".join(_(ALERT_LABELS.get(k, k)) for k in x["kinds"])] for x in h["problems"][:40]]
        pdf.table([_("Series"), _("Completeness"), _("Alerts")], rows, [80, 30, 70])
    return bytes(pdf.output())


def savings_pdf(result: dict[str, Any], gettext: Gettext, locale: str) -> bytes:
    """A building's IPMVP option C savings statement as an A4 PDF (model, fit, avoided energy, chart)."""
    _ = gettext
    title = _("Renovation savings — %(building)s") % {"building": result["name"]}
    pdf = _pdf(title, f"regie · {result['territory']} · IPMVP option C")
    pdf.h1(title)

    def day(text: str) -> str:
        return format_date(date.fromisoformat(text), "long", locale=locale)

    last = lambda text: (date.fromisoformat(text) - timedelta(days=1)).isoformat()  # noqa: E731
    pdf.para(_("Baseline period: %(a)s to %(b)s. Reporting period: %(c)s to %(d)s.") % {
        "a": day(result["baseline"][0]), "b": day(last(result["baseline"][1])),
        "c": day(result["reporting"][0]), "d": day(last(result["reporting"][1]))})
    s, m, g = result["savings"], result["model"], result["guideline14"]
    pdf.h2(_("Avoided energy"))
    rows = [[_("Adjusted baseline"), fmt_energy(s["adjusted_baseline_wh"], locale)],
            [_("Actual use"), fmt_energy(s["actual_wh"], locale)],
            [_("Avoided energy"), fmt_energy(s["avoided_wh"], locale)],
            [_("Uncertainty (68 %)"), "± " + fmt_energy(s["uncertainty_68_wh"], locale)],
            [_("Uncertainty (90 %)"), "± " + fmt_energy(s["uncertainty_90_wh"], locale)],
            [_("Savings"), fmt_percent(s["fraction"], locale)],
            [_("Reporting days used"), str(s["days"])]]  # fmt: skip
    pdf.table([_("Figure"), _("Value")], rows, [90, 40])
    pdf.h2(_("Baseline model"))
    model_label = MODEL_LABELS[m["kind"]]
    pdf.para(_("Daily use against %(model)s (CalTRACK daily change-point model), fitted on %(n)s baseline days.") % {
        "model": _(model_label), "n": m["n"]})
    rows = [[_("Intercept (kWh/day)"), fmt_number(m["intercept_wh"] / 1e3, locale, 1)]]
    if m["hdd_bp_c"] is not None:
        rows += [[_("Heating balance point (°C)"), fmt_number(m["hdd_bp_c"], locale, 1)],
                 [_("Heating slope (kWh per °C·day)"), fmt_number(m["beta_hdd_wh"] / 1e3, locale, 2)]]
    if m["cdd_bp_c"] is not None:
        rows += [[_("Cooling balance point (°C)"), fmt_number(m["cdd_bp_c"], locale, 1)],
                 [_("Cooling slope (kWh per °C·day)"), fmt_number(m["beta_cdd_wh"] / 1e3, locale, 2)]]
    rows += [["R²", fmt_number(m["r2"], locale, 3)]]
    pdf.table([_("Parameter"), _("Value")], rows, [90, 40])
    pdf.h2(_("Fit against ASHRAE Guideline 14"))
    yes, no = _("met"), _("not met")
    rows = [["CV(RMSE)", fmt_percent(g["cv_rmse"], locale), "<= " + fmt_percent(g["cv_rmse_max"], locale, 0),
             yes if g["cv_rmse_ok"] else no],
            ["NMBE", fmt_percent(g["nmbe"], locale, 3), "<= " + fmt_percent(g["nmbe_max"], locale, 3),
             yes if g["nmbe_ok"] else no],
            [_("Savings uncertainty (68 %)"), fmt_percent(g["fsu_68"], locale),
             "<= " + fmt_percent(g["fsu_max"], locale, 0),
             yes if g["fsu_ok"] else no]]  # fmt: skip
    pdf.table([_("Metric"), _("Value"), _("Threshold"), _("Status")], rows, [70, 30, 30, 30])
    d = result["daily"]
    weeks = _weekly(d)
    pdf.h2(_("Actual use and adjusted baseline, week by week"))
    pdf.chart([(_("Adjusted baseline"), weeks["baseline"], COLOURS["baseline"], "line"),
               (_("Actual use"), weeks["actual"], COLOURS["actual"], "line")],
              _day_labels(weeks["start"], locale), unit="kWh", band=weeks["reporting"])  # fmt: skip
    pdf.para(_("Shaded: the reporting period."), 7.5)
    return bytes(pdf.output())


def _weekly(d: dict[str, list]) -> dict[str, list]:
    """Daily series summed by 7 days (a two-year chart of 730 points is unreadable on paper)."""
    out: dict[str, list] = {"start": [], "actual": [], "baseline": [], "reporting": []}
    for i in range(0, len(d["day"]), 7):
        a = [x for x in d["actual_wh"][i : i + 7] if x is not None]
        b = [x for x in d["baseline_wh"][i : i + 7] if x is not None]
        out["start"].append(d["day"][i])
        out["actual"].append(sum(a) / 1e3 * 7 / len(a) if a else None)
        out["baseline"].append(sum(b) / 1e3 * 7 / len(b) if b else None)
        out["reporting"].append(any(d["reporting"][i : i + 7]))
    return out
