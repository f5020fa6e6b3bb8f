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
    PriceRule,
    TariffSet,
    accise_category,
    bill_consumer,
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


def september(turpe: bool = False) -> TariffSet:
    return TariffSet(
        vat=tariffs.load_parameters("vat", SEPT[0]),
        accise=tariffs.load_parameters("accise", SEPT[0]),
        turpe_acc=tariffs.load_parameters("turpe_acc", SEPT[0], allow_illustrative=True) if turpe else None,
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


def test_period_straddling_a_tax_change_is_refused() -> None:
    with pytest.raises(ValueError, match="straddles a change on 2025-08-01"):
        bill_consumer(household(), 1000, 0, date(2025, 7, 15), date(2025, 8, 15), BillingConfig(PRICE),
                      september())


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
            assert p.source and p.unit and p.values and p.date
            assert (p.status == "official" and p.checked_against) or p.illustrative
        for older, newer in itertools.pairwise(found):  # back to back: no gap, no overlap
            assert older.valid_until == newer.valid_from - timedelta(days=1), (older.file, newer.file)


def test_parameters_by_day() -> None:
    assert tariffs.load_parameters("accise", date(2025, 7, 31)).values["household"] == 33.70
    assert tariffs.load_parameters("accise", date(2025, 8, 1)).values["household"] == 29.98
    assert tariffs.load_parameters("vat", date(2025, 7, 1)).values["subscription"] == 0.055
    with pytest.raises(LookupError, match="add regie/data/tariffs/accise-"):
        tariffs.load_parameters("accise", date(2026, 3, 1))
    with pytest.raises(ValueError, match="illustrative"):
        tariffs.load_parameters("turpe_acc", date(2025, 9, 1))
