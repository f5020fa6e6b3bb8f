"""The format is documented as it is (docs/inventory.md), its values are the model's, and cells are read
the same however a spreadsheet spells them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regie.inventory import format as fmt
from regie.inventory import read_book, template
from regie.inventory.format import FORMAT_VERSION, SHEETS
from regie.inventory.values import canonical
from regie.model import Density, GridZone, OrganisationKind, ParticipantType, Role, Source

DOC = (Path(__file__).parents[2] / "docs" / "inventory.md").read_text(encoding="utf-8")


def test_every_sheet_and_column_is_documented_with_its_french_label() -> None:
    assert f"**version {FORMAT_VERSION}**" in DOC
    for s in SHEETS:
        assert f"### `{s.name}` — *{s.label_fr}*" in DOC
        for c in s.columns:
            assert re.search(rf"\| `{c.name}` \| {re.escape(c.label_fr)} \| {c.kind.value}", DOC), (s.name, c.name)


def test_the_documented_example_is_the_template(tmp_path) -> None:
    block = DOC.split("as CSV files:\n\n```text\n", 1)[1].split("```", 1)[0]
    for part in block.strip().split("\n\n"):
        name, body = part.split("\n", 1)
        (tmp_path / name).write_text(body + "\n", encoding="utf-8")
    documented, blank = read_book(tmp_path), template()
    for s in SHEETS:
        assert [{c.name: canonical(c, r.get(c.name)) for c in s.columns} for r in documented[s.name]] == [
            {c.name: canonical(c, r.get(c.name)) for c in s.columns} for r in blank[s.name]], s.name


def test_enumerations_are_the_models() -> None:
    assert set(fmt.SOURCES) == {x.value for x in Source}
    assert set(fmt.ORGANISATION_KINDS) == {x.value for x in OrganisationKind}
    assert set(fmt.ROLES) == {x.value for x in Role}
    assert set(fmt.PARTICIPANT_TYPES) == {x.value for x in ParticipantType}
    assert set(fmt.DENSITIES) == {x.value for x in Density}
    assert set(fmt.ZONES) == {x.value for x in GridZone}


def test_acc_keys_are_those_regie_computes() -> None:
    from regie.services.acc import KEYS

    assert fmt.ACC_KEYS == KEYS


def test_every_column_is_stored() -> None:
    from regie.store.inventory import _COLUMNS

    computed = {("about", "format_version"), ("delivery_points", "transformer")}
    for s in SHEETS:
        assert set(_COLUMNS[s.name]) | {c for n, c in computed if n == s.name} == set(s.column_names), s.name


NUMBER = fmt.sheet("sites").column("latitude")
DAY = fmt.sheet("memberships").column("since")
YESNO = fmt.sheet("acc_operations").column("derogation")


@pytest.mark.parametrize(("column", "spellings", "text"), [
    (NUMBER, ["42.4", "42,4", " 42.40 ", "4.24e1"], "42.4"),
    (NUMBER, ["6", "6.0", "6,0"], "6"),
    (NUMBER, ["36 000", "36\u00a0000", "36000.0"], "36000"),
    (NUMBER, ["2.4833795874609783", "2.48337958746098"], "2.48337958746098"),
    (DAY, ["2024-06-01", "01/06/2024", "1/6/2024", "2024-06-01 00:00:00", "2024-06-01T00:00:00"], "2024-06-01"),
    (YESNO, ["yes", "Oui", "TRUE", "1", "vrai"], "yes"),
    (YESNO, ["no", "non", "false", "0"], "no"),
    (fmt.sheet("producers").column("source"), ["pv", "PV"], "pv"),
    (fmt.sheet("about").column("insee"), ["2a004", "2A004"], "2A004"),
    (fmt.sheet("producers").column("commissioned"), ["2021"], "2021"),
    (fmt.sheet("producers").column("commissioned"), ["15/06/2021", "2021-06-15"], "2021-06-15"),
    (fmt.sheet("acc_operations").column("step"), ["PT30M", "pt30m"], "PT30M"),
], ids=lambda v: v.name if isinstance(v, fmt.Column) else None)
def test_spellings_of_one_value_read_the_same(column, spellings, text) -> None:
    assert {canonical(column, s) for s in spellings} == {text}


def test_blank_is_no_value_and_nonsense_says_why() -> None:
    assert canonical(NUMBER, "  ") is None and canonical(DAY, None) is None
    with pytest.raises(ValueError, match="not a number"):
        canonical(NUMBER, "1,2,3")
    with pytest.raises(ValueError, match="not a date"):
        canonical(DAY, "2024-13-01")
    with pytest.raises(ValueError, match="yes or no"):
        canonical(YESNO, "peut-être")
