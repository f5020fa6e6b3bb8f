"""An ACC bill whose period crosses a change of the accise (1 February 2026) is split at the date (issue 17).

Built from curves (no store): an operation with one producer and two households over 15 January – 14 February
2026, one of whom joined on 5 February. The expected amounts are computed here from the allocation's own
per-step AUTOCONS and the rates in force (29,98 €/MWh until 31 January, 30,85 €/MWh from 1 February).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pypdf import PdfReader

from regie.analytics.billing import BillingConfig, LocalPrice
from regie.model import Operation, Participant, Role
from regie.services import acc as service
from regie.services import invoices

PARIS = ZoneInfo("Europe/Paris")
SUN, ANNA, BEN = "30000000000001", "30000000000002", "30000000000003"
START, END = datetime(2026, 1, 15, tzinfo=PARIS), datetime(2026, 2, 15, tzinfo=PARIS)
JOINED = date(2026, 2, 5)


def _allocation() -> service.OperationAllocation:
    people = (Participant(SUN, Role.PRODUCER, date(2025, 1, 1), peak_power_w=9000),
              Participant(ANNA, Role.CONSUMER, date(2025, 1, 1)), Participant(BEN, Role.CONSUMER, JOINED))  # fmt: skip
    op = Operation("op", "Op", "pmo", people)
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    rng = np.random.default_rng(3)
    hour = (t // 3600) % 24
    production = np.where((hour > 8) & (hour < 17), rng.uniform(200, 900, len(t)), 0.0)[:, None]
    consumption = rng.uniform(100, 600, (len(t), 2))
    active = np.ones((len(t), 2), bool)
    active[:, 1] = t >= int(datetime(2026, 2, 5, tzinfo=PARIS).timestamp())
    consumption[~active] = np.nan
    curves = service.OperationCurves(op, PARIS, t, 1800, people[1:], people[:1], consumption, production, active,
                                     np.ones((len(t), 1), bool))  # fmt: skip
    return service.allocate(curves, "default")


def _autocons_kwh(result, j: int, a: datetime, b: datetime) -> Decimal:
    t = result.curves.t
    sel = (t >= int(a.timestamp())) & (t < int(b.timestamp()))
    wh = float(np.nansum(result.allocation.autocons[sel, j]))
    return (Decimal(repr(wh)) / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_bill_shows_both_periods_with_their_rates_and_sources() -> None:
    result = _allocation()
    run = service.bill_allocation(result, BillingConfig(LocalPrice(0.15)))
    anna, ben = (next(b.bill for b in run.bills if b.participant.prm == prm) for prm in (ANNA, BEN))
    feb = datetime(2026, 2, 1, tzinfo=PARIS)

    jan_kwh, feb_kwh = _autocons_kwh(result, 0, START, feb), _autocons_kwh(result, 0, feb, END)
    accise = [line for line in anna.lines if line.label.startswith("Accise")]
    assert [(x.start, x.end) for x in accise] == [(date(2026, 1, 15), date(2026, 1, 31)),
                                                  (date(2026, 2, 1), date(2026, 2, 14))]  # fmt: skip
    assert [x.unit_price_eur for x in accise] == [Decimal("29.98") / 1000, Decimal("30.85") / 1000]
    assert accise[0].quantity_kwh == jan_kwh and abs(accise[1].quantity_kwh - feb_kwh) <= Decimal("0.001")
    assert accise[0].amount_eur == _cents(jan_kwh * Decimal("0.02998"))
    assert anna.lines[0].quantity_kwh == accise[0].quantity_kwh + accise[1].quantity_kwh  # one local-energy line
    assert any("accise-2025-08-01.toml" in s for s in anna.sources)
    assert any("accise-2026-02-01.toml" in s for s in anna.sources)
    assert (anna.start, anna.end) == (date(2026, 1, 15), date(2026, 2, 14))

    # Ben joined on 5 February: his bill starts then, one stretch, at February's rate
    assert (ben.start, ben.end) == (JOINED, date(2026, 2, 14))
    (ben_accise,) = [line for line in ben.lines if line.label.startswith("Accise")]
    assert ben_accise.unit_price_eur == Decimal("30.85") / 1000 and ben_accise.start is None
    assert ben_accise.quantity_kwh == _autocons_kwh(result, 1, START, END) > 0


def test_a_period_reaching_days_whose_figures_are_not_recorded_is_refused() -> None:
    result = _allocation()
    with pytest.raises(LookupError, match="turpe_acc figures in force on 2026-01-15 are not recorded"):
        service.bill_allocation(result, BillingConfig(LocalPrice(0.15), turpe="information"))


def test_the_invoice_pdf_prints_each_stretch_and_its_sources() -> None:
    result = _allocation()
    run = service.bill_allocation(result, BillingConfig(LocalPrice(0.15)))
    cb = next(b for b in run.bills if b.participant.prm == ANNA)
    pdf = invoices.invoice_pdf(cb, run, pmo_name="PMO", lang="fr")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "(15/01-31/01)" in text and "(01/02-14/02)" in text
    assert "accise-2025-08-01.toml" in text and "accise-2026-02-01.toml" in text
