"""Languages of the web face: gettext catalogues read from ``.po`` files at run time, and the choice of language.

The catalogues live in ``regie/locale/<lang>/LC_MESSAGES/messages.po`` and are compiled in memory when first
needed, so that a fresh clone or ``pip install -e`` works without a build step. Message ids are the English
text; the English catalogue may leave a message empty, which means "same as the id".

To add or change a message: mark it in a template (``{% trans %}``, ``_()``) or in Python (``N_()``), then::

    .venv/bin/pybabel extract -F regie/locale/babel.cfg --no-location -o /tmp/messages.pot regie
    .venv/bin/pybabel update -i /tmp/messages.pot -d regie/locale --no-fuzzy-matching --width 116

and translate the new ``msgstr`` lines; ``tests/web/test_i18n.py`` fails while one is missing.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES: tuple[str, ...] = ("fr", "en")
DEFAULT_LOCALE = "fr"
COOKIE = "regie_lang"
DOMAIN = "messages"


def N_(message: str) -> str:  # the name gettext's extractors look for
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


#: Labels of production sources (``regie.model.Source`` values), translated at render time.
SOURCE_LABELS: dict[str, str] = {
    "hydro": N_("Hydro"),
    "pv": N_("Solar PV"),
    "biogas": N_("Biogas"),
    "wind": N_("Wind"),
    "biomass": N_("Biomass"),
    "cogeneration": N_("Cogeneration"),
    "other": N_("Other"),
}


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(locale: str) -> Catalog:
    """The ``.po`` catalogue of one language, as Babel reads it."""
    with open(catalogue_path(locale), "rb") as fh:
        return read_po(fh, locale=locale, domain=DOMAIN)


@cache
def translations(locale: str) -> Translations:
    """Compiled translations of one language (cached: catalogues change only with the code)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported language {locale!r}; expected one of {', '.join(LOCALES)}")
    buf = io.BytesIO()
    write_mo(buf, read_catalogue(locale))
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def _accept_language(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, most preferred first (RFC 9110 §12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def requested_locale(request: Request) -> str | None:
    """The language asked for explicitly with ``?lang=``, if it is one we have."""
    lang = request.query_params.get("lang", "").lower()
    return lang if lang in LOCALES else None


def negotiate_locale(request: Request) -> str:
    """``?lang=`` first, then the cookie it leaves, then the browser's Accept-Language, then French."""
    explicit = requested_locale(request)
    if explicit:
        return explicit
    cookie = request.cookies.get(COOKIE, "").lower()
    if cookie in LOCALES:
        return cookie
    for tag in _accept_language(request.headers.get("accept-language", "")):
        if tag in LOCALES:
            return tag
    return DEFAULT_LOCALE
