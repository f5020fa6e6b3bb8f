"""Catalogues stay complete: every message marked in the code is in the French and English catalogues, French
ones are translated, placeholders agree; numbers follow each language's conventions."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.extract import extract_from_dir

import regie
from regie.web import i18n
from regie.web.templating import format_energy, format_number, format_percent, format_power

PACKAGE = Path(regie.__file__).parent


def key(msgid: str | tuple[str, ...], context: str | None) -> tuple[str | None, str]:
    return context, msgid[0] if isinstance(msgid, tuple) else msgid


def extracted() -> set[tuple[str | None, str]]:
    """(context, id) of the messages marked in regie's Python code and templates, read with babel.cfg."""
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with open(i18n.LOCALE_DIR / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse(fh)
    return {key(msg, context) for _, _, msg, _, context in extract_from_dir(PACKAGE, method_map, options_map)}


@pytest.fixture(scope="module")
def messages() -> set[tuple[str | None, str]]:
    return extracted()


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_catalogue_is_complete_and_clean(locale: str, messages: set[tuple[str | None, str]]) -> None:
    catalogue = i18n.read_catalogue(locale)
    ids = {key(m.id, m.context) for m in catalogue if m.id}
    assert messages - ids == set(), f"messages missing from {locale}: run pybabel update (see regie/web/i18n.py)"
    assert ids - messages == set(), f"obsolete messages in {locale}"
    problems = [(m.id, errors) for m, errors in catalogue.check()]
    assert problems == []
    if locale != "en":  # English ids are English text: an empty msgstr means "same as the id"
        untranslated = [m.id for m in catalogue if m.id and not all(m.string if isinstance(m.string, tuple)
                                                                    else [m.string])]
        assert untranslated == []
        assert not [m.id for m in catalogue if m.id and m.fuzzy]


def test_translations_load_from_po() -> None:
    assert i18n.translations("fr").gettext("Self-sufficiency") == "Taux d'autoproduction"
    plural = i18n.translations("fr").ngettext("%(num)s plant", "%(num)s plants", 2)
    assert plural == "%(num)s installations de production"
    assert i18n.translations("fr").pgettext("short table header", "Self-sufficiency") == "Autoprod."
    assert i18n.translations("en").gettext("Self-sufficiency") == "Self-sufficiency"
    with pytest.raises(ValueError, match="unsupported language"):
        i18n.translations("de")


def test_accept_language_order() -> None:
    assert i18n._accept_language("de;q=0.8, en-US, fr;q=0.9") == ["en", "fr", "de"]
    assert i18n._accept_language("fr;q=0, en") == ["en"]


def test_numbers_per_locale() -> None:
    assert format_percent(0.6543, "fr") == "65,4\u00a0%"
    assert format_percent(0.6543, "en") == "65.4%"
    assert format_percent(None, "fr") == "—"
    assert format_number(12345.678, "fr", 2) == "12\u202f345,68"
    assert format_number(12345.678, "en", 2) == "12,345.68"
    assert format_energy(6.5e9, "fr") == "6,50\u00a0GWh"
    assert format_energy(743_000, "en") == "743.0\u00a0kWh"
    assert format_energy(743_000, "en", unit="MWh") == "0.74\u00a0MWh"
    assert format_power(1_687_723, "fr") == "1,69\u00a0MW"
    assert format_power(36_000, "en") == "36\u00a0kW"
