"""Jinja2 templates rendered in the visitor's language, with numbers formatted the way that language writes them.

One Jinja environment per language, each with its gettext catalogue installed: rendering never swaps
translations on a shared environment, so concurrent requests in different languages cannot mix.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.dates import format_date, format_skeleton, format_timedelta
from babel.numbers import NumberPattern
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from regie.web import assets, i18n

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DASH = "—"

#: Energy units from the largest down; a figure is shown in the largest unit it reaches at least 1 of.
ENERGY_UNITS: tuple[tuple[str, float], ...] = (("TWh", 1e12), ("GWh", 1e9), ("MWh", 1e6), ("kWh", 1e3), ("Wh", 1.0))


@cache
def _pattern(locale: str, kind: str, digits: int) -> NumberPattern:
    """The locale's own decimal or percent pattern, with a fixed number of decimals."""
    loc = Locale.parse(locale)
    base = loc.percent_formats[None] if kind == "percent" else loc.decimal_formats[None]
    pattern = copy.copy(base)
    pattern.frac_prec = (digits, digits)
    return pattern


def format_number(value: float | None, locale: str, digits: int = 1) -> str:
    """A number with ``digits`` decimals in the locale's notation (``1 234,5`` in French)."""
    if value is None:
        return DASH
    return _pattern(locale, "decimal", digits).apply(value, locale)


def format_percent(value: float | None, locale: str, digits: int = 1) -> str:
    """A ratio as a percentage in the locale's notation (``65,4 %`` in French, ``65.4%`` in English)."""
    if value is None:
        return DASH
    return _pattern(locale, "percent", digits).apply(value, locale)


def energy_unit(wh: float | None) -> tuple[str, float]:
    """The unit (and its size in Wh) that shows an energy of ``wh`` with at least one whole unit."""
    magnitude = abs(wh or 0.0)
    for unit, size in ENERGY_UNITS:
        if magnitude >= size:
            return unit, size
    return ENERGY_UNITS[-1]


def format_energy(wh: float | None, locale: str, unit: str | None = None) -> str:
    """An energy with its unit, e.g. ``6,52 GWh``; ``unit`` forces one (tables share one unit per column)."""
    if wh is None:
        return DASH
    name, size = energy_unit(wh) if unit is None else (unit, dict(ENERGY_UNITS)[unit])
    value = wh / size
    digits = 2 if abs(value) < 10 else 1
    return f"{format_number(value, locale, digits)}\u00a0{name}"


def format_power(w: float | None, locale: str) -> str:
    """A power with its unit (kW or MW), e.g. peak power of a plant."""
    if w is None:
        return DASH
    if abs(w) >= 1e6:
        return f"{format_number(w / 1e6, locale, 2)}\u00a0MW"
    return f"{format_number(w / 1e3, locale, 0 if abs(w) >= 1e4 else 1)}\u00a0kW"


@cache
def environment(locale: str) -> Environment:
    """The Jinja environment of one language (built once per process)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(locale=locale, locales=i18n.LOCALES)
    env.filters.update(
        number=lambda v, digits=1: format_number(v, locale, digits),
        percent=lambda v, digits=1: format_percent(v, locale, digits),
        energy=lambda v, unit=None: format_energy(v, locale, unit),
        energy_value=lambda v, unit: DASH if v is None else format_number(v / dict(ENERGY_UNITS)[unit], locale, 1),
        power=lambda v: format_power(v, locale),
        month=lambda d: format_skeleton("yMMMM", d, locale=locale),
        day=lambda d: format_date(d, "long", locale=locale),
        duration=lambda td: format_timedelta(td, locale=locale, threshold=2),
    )
    return env


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page in the visitor's language; remember an explicit ``?lang=`` in a cookie."""
    locale = i18n.negotiate_locale(request)
    env = environment(locale)
    gettext = i18n.translations(locale).gettext
    base = {
        "request": request,
        "nav": [(path, gettext(label), key) for key, path, label in NAVIGATION],
        "lang_links": {code: _with_lang(request, code) for code in i18n.LOCALES},
        "chart_library": assets.vendor_available("echarts.min.js"),
    }
    html = env.get_template(template).render({**base, **context})
    response = HTMLResponse(html, status_code=status_code)
    if i18n.requested_locale(request):
        response.set_cookie(i18n.COOKIE, locale, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


def _with_lang(request: Request, code: str) -> str:
    """The current page's path and query with ``lang`` set to ``code`` (a relative link: no host)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*query, ("lang", code)])


#: The main navigation shared by every page: (key, path, label). Later pages add one line each.
NAVIGATION: list[tuple[str, str, str]] = [
    ("territory", "/", i18n.N_("Territory")),
    ("acc", "/acc", i18n.N_("Collective self-consumption")),
    ("live", "/live", i18n.N_("Live")),
    ("map", "/map", i18n.N_("Map")),
    ("grid", "/grid", i18n.N_("Supervision")),
    ("import", "/import", i18n.N_("Import")),
    ("account", "/me", i18n.N_("My account")),
]
