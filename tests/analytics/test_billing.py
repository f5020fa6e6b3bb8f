"""Local-energy bills on a hand-computed case, and the versioned tariff files they draw on."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from regie.analytics import acc, tariffs
from regie.analytics.billing import (
    BillingConfig,
    LocalPrice,
    Part,
    PriceRule,
    TariffSet,
    accise_category,
    bill_consumer,
    bill_consumer_over,
    bill_operation,
)
from regie.model import Participant, ParticipantType, Role

SEPT = (date(2025, 9, 1), date(2025, 9, 30))
PRICE = LocalPrice(0.15, (
    PriceRule(0.10, participant_type=ParticipantType.COMMUNE),
    PriceRule(0.12, entered_before=date(2025, 1, 1)),  # founding members keep their price
))


def household(entry: date = date(2025, 6, 1), kind: ParticipantType = ParticipantType.HOUSEHOLD) -> Participant:
    return Participant("30000000001234", Role.CONSUMER, entry, type=kind)


#: The TURPE ACC figures are not recorded (no source could be read): the arithmetic of the TURPE line is
#: tested with a rate given here, marked illustrative as any unofficial figure must be.
TEST_TURPE = tariffs.Parameters(
    kind="turpe_acc", valid_from=date(2025, 8, 1), valid_until=None, date=date(2025, 8, 1), status="illustrative",
    unit="EUR/kWh", source="test rate, not a TURPE figure", values={"autoproduced": 0.020}, file="test",
)


def september(turpe: bool = False) -> TariffSet:
    return TariffSet(
        vat=tariffs.load_parameters("vat", SEPT[0]),
        accise=tariffs.load_parameters("accise", SEPT[0]),
        turpe_acc=TEST_TURPE if turpe else None,
    )


def test_hand_computed_bill() -> None:
    bill = bill_consumer(household(), 123_456, 50_000, *SEPT, BillingConfig(PRICE), september())
    # 123.456 kWh × 0.15 = 18.5184 → 18.52; accise 123.456 × 0.02998 = 3.7012… → 3.70
    assert [(line.label.split(" ")[0], line.amount_eur) for line in bill.lines] == [
        ("Local", Decimal("18.52")), ("Accise", Decimal("3.70"))]
    assert bill.total_excl_vat_eur == Decimal("22.22")
    assert bill.vat_eur == Decimal("4.44")  # 3.704 → 3.70 and 0.74
    assert bill.total_incl_vat_eur == Decimal("26.66")
    assert bill.complement_kwh == Decimal("50.000")
    assert bill.prm_masked == "**********1234"
    assert not bill.illustrative and any("accise-2025-08-01.toml" in s for s in bill.sources)


def test_turpe_line_billed_or_for_information_and_flagged_illustrative() -> None:
    billed = bill_consumer(household(), 123_456, 0, *SEPT, BillingConfig(PRICE, turpe="billed"), september(True))
    turpe = billed.lines[1]
    assert turpe.amount_eur == Decimal("2.47") and turpe.in_total  # 123.456 × 0.020 = 2.469
    assert billed.total_excl_vat_eur == Decimal("24.69")
    assert billed.vat_eur == Decimal("4.93")  # 3.70 + 0.49 + 0.74
    assert billed.illustrative and any("ILLUSTRATIVE" in s for s in billed.sources)
    shown = bill_consumer(household(), 123_456, 0, *SEPT, BillingConfig(PRICE, turpe="information"),
                          september(True))
    assert not shown.lines[1].in_total and shown.total_excl_vat_eur == Decimal("22.22")


def test_price_by_participant_type_and_entry_date() -> None:
    config = BillingConfig(PRICE, accise=False, vat=False)
    commune = bill_consumer(household(kind=ParticipantType.COMMUNE), 10_000, 0, *SEPT, config, TariffSet())
    founder = bill_consumer(household(entry=date(2024, 3, 1)), 10_000, 0, *SEPT, config, TariffSet())
    late = bill_consumer(household(), 10_000, 0, *SEPT, config, TariffSet())
    assert [b.total_incl_vat_eur for b in (commune, founder, late)] == [Decimal("1.00"), Decimal("1.20"),
                                                                         Decimal("1.50")]


def test_period_straddling_a_tax_change_is_refused_with_one_set_of_tariffs() -> None:
    with pytest.raises(ValueError, match="straddles a change on 2025-08-01"):
        bill_consumer(household(), 1000, 0, date(2025, 7, 15), date(2025, 8, 15), BillingConfig(PRICE),
                      september())


def _tariffs_on(day: date) -> TariffSet:
    return TariffSet(vat=tariffs.load_parameters("vat", day), accise=tariffs.load_parameters("accise", day))


def test_a_month_across_the_february_2026_change_is_split_at_the_date() -> None:
    """January 2026 at 29,98 €/MWh, then 30,85 €/MWh from 1 February (households): one local-energy line,
    one dated accise line per stretch, both sources cited."""
    spans = tariffs.periods(["vat", "accise"], date(2026, 1, 15), date(2026, 2, 14))
    assert spans == [(date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 14))]
    parts = [Part(a, b, wh, _tariffs_on(a)) for (a, b), wh in zip(spans, (60_000.0, 40_000.0), strict=True)]
    bill = bill_consumer_over(household(), parts, 10_000, BillingConfig(PRICE))
    assert [(line.label.split(" ")[0], line.quantity_kwh, line.amount_eur, line.start) for line in bill.lines] == [
        ("Local", Decimal("100.000"), Decimal("15.00"), None),  # 100 kWh × 0.15
        ("Accise", Decimal("60.000"), Decimal("1.80"), date(2026, 1, 15)),  # 60 kWh × 0.02998 = 1.7988
        ("Accise", Decimal("40.000"), Decimal("1.23"), date(2026, 2, 1)),  # 40 kWh × 0.03085 = 1.234
    ]
    assert bill.lines[1].end == date(2026, 1, 31) and bill.lines[2].end == date(2026, 2, 14)
    assert (bill.start, bill.end) == (date(2026, 1, 15), date(2026, 2, 14))
    assert bill.total_excl_vat_eur == Decimal("18.03")
    assert bill.vat_eur == Decimal("3.00") + Decimal("0.36") + Decimal("0.25")
    assert [s.split(" (")[1].split(")")[0] for s in bill.sources] == [
        "vat-2025-08-01.toml", "accise-2025-08-01.toml", "accise-2026-02-01.toml"]
    # the same energy billed in one piece at either rate differs: the split is what makes it right
    whole = bill_consumer(household(), 100_000, 0, date(2026, 2, 1), date(2026, 2, 28), BillingConfig(PRICE),
                          _tariffs_on(date(2026, 2, 1)))
    assert whole.lines[1].amount_eur == Decimal("3.09")


def test_split_stretches_keep_the_kwh_of_the_whole_and_must_follow_each_other() -> None:
    spans = [(date(2026, 1, 20), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 10))]
    parts = [Part(a, b, wh, _tariffs_on(a)) for (a, b), wh in zip(spans, (1_000.4, 1_000.4), strict=True)]
    bill = bill_consumer_over(household(), parts, 0, BillingConfig(PRICE))
    accise = [line.quantity_kwh for line in bill.lines if line.label.startswith("Accise")]
    assert sum(accise) == bill.lines[0].quantity_kwh == Decimal("2.001")
    gap = [parts[0], Part(date(2026, 2, 2), date(2026, 2, 10), 1.0, _tariffs_on(date(2026, 2, 2)))]
    with pytest.raises(ValueError, match="follow each other"):
        bill_consumer_over(household(), gap, 0, BillingConfig(PRICE))
    wrong = [Part(date(2026, 1, 20), date(2026, 2, 10), 1.0, _tariffs_on(date(2026, 1, 20)))]
    with pytest.raises(ValueError, match="straddles a change on 2026-02-01"):
        bill_consumer_over(household(), wrong, 0, BillingConfig(PRICE))


def test_bills_of_an_operation_from_an_allocation() -> None:
    a = acc.default_dynamic(np.array([12_000.0, 0.0]), np.array([[10_000.0, 5_000.0, 1_000.0]] * 2))
    totals = a.totals()
    people = [household(), household(kind=ParticipantType.COMMUNE), household(entry=date(2024, 1, 1))]
    bills = bill_operation(people, totals["AUTOCONS"], totals["COMPLEMENT"], *SEPT,
                           BillingConfig(PRICE, accise=False, vat=False), TariffSet())
    assert [b.total_excl_vat_eur for b in bills] == [Decimal("1.13"), Decimal("0.38"), Decimal("0.09")]
    assert [b.complement_kwh for b in bills] == [Decimal("12.500"), Decimal("6.250"), Decimal("1.250")]


def test_accise_categories() -> None:
    assert [accise_category(k) for k in (None, 6, 36, 36.1, 250, 251)] == [
        "household", "household", "household", "sme", "sme", "high_power"]


def test_tariff_files_are_complete_and_versions_do_not_overlap() -> None:
    for kind in ("accise", "vat", "turpe_acc"):
        found = tariffs.versions(kind)
        assert found, kind
        for p in found:
            assert p.source and p.unit and p.date and (p.number or p.article), p.file
            assert p.status in ("official", "unrecorded"), p.file  # the placeholders are gone
            assert (p.status == "official" and p.checked_against and p.values) or (not p.recorded and not p.values)
        for older, newer in itertools.pairwise(found):  # back to back: no gap, no overlap
            assert older.valid_until == newer.valid_from - timedelta(days=1), (older.file, newer.file)


def test_parameters_by_day() -> None:
    assert tariffs.load_parameters("accise", date(2025, 1, 31)).values["household"] == 21.0
    assert tariffs.load_parameters("accise", date(2025, 7, 31)).values["household"] == 33.70
    assert tariffs.load_parameters("accise", date(2025, 8, 1)).values["household"] == 29.98
    assert tariffs.load_parameters("accise", date(2026, 1, 31)).values["household"] == 29.98
    assert tariffs.load_parameters("accise", date(2026, 2, 1)).values == {
        "household": 30.85, "sme": 26.58, "high_power": 26.58}
    assert tariffs.load_parameters("vat", date(2025, 7, 1)).values["subscription"] == 0.055
    assert tariffs.load_parameters("vat", date(2025, 8, 1)).values["subscription"] == 0.20
    with pytest.raises(LookupError, match=r"not recorded in regie: accise-2026-08-01\.toml"):
        tariffs.load_parameters("accise", date(2026, 8, 1))
    for day in (date(2024, 6, 1), date(2025, 9, 1)):  # TURPE 6, TURPE 7: refused even for a simulation
        with pytest.raises(LookupError, match=r"turpe_acc figures .* not recorded"):
            tariffs.load_parameters("turpe_acc", day, allow_illustrative=True)
    with pytest.raises(LookupError, match="no accise parameters before 2024-02-01"):
        tariffs.load_parameters("accise", date(2023, 12, 31))


def test_every_bill_cites_number_and_article() -> None:
    p = tariffs.load_parameters("accise", date(2026, 3, 1))
    assert "BOI-RES-EAT-000240" in p.cite() and "L. 312-37-1" in p.cite() and "ILLUSTRATIVE" not in p.cite()
