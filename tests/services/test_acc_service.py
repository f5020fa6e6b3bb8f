"""The ACC service on a small store (SQLite and PostgreSQL), with flows checked by hand.

See ``_acc_store``: P = 12,000 Wh per half-hour; A, B, C draw 10,000 / 5,000 / 1,000 Wh; C (the commune,
priority 1) joins on 2 June 2025.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from _acc_store import PRM_A, PRM_B, PRM_C, PRM_P, RecordingReader, build, build_quarter_hours, operation

from regie.services import acc as service
from regie.store.operations import StoredOperation, load_operation, operation_ids, save_operation

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def store(store_url: str):
    s = build(store_url)
    yield s
    s.close()


def _days(a: date, b: date) -> tuple[int, int]:
    return service._midnight(a, PARIS), service._midnight(b, PARIS)


def test_operation_round_trips_through_the_store(store) -> None:
    stored = load_operation(store, "acc-test")
    assert stored.operation == operation()
    assert stored.key == "default"
    assert stored.static_shares == {PRM_A: 0.5, PRM_B: 0.3, PRM_C: 0.2}
    assert stored.billing["local_price"]["default"] == 0.15
    assert operation_ids(store) == ["acc-test"]
    # saving again replaces the participant list: C removed, the key changed
    op = operation()
    smaller = type(op)(op.id, op.name, op.pmo_id, op.participants[:3], op.step)
    save_operation(store, StoredOperation(smaller, "village", "priority"))
    again = load_operation(store, "acc-test")
    assert [p.prm for p in again.operation.consumers] == [PRM_A, PRM_B]
    assert again.key == "priority" and again.billing is None
    with pytest.raises(LookupError, match="acc-test"):
        load_operation(store, "nope")


def test_default_key_with_a_participant_joining_mid_month(store) -> None:
    reader = RecordingReader(store)
    start, end = _days(date(2025, 6, 1), date(2025, 6, 4))
    curves = service.load_curves(store, operation(), start, end, reader)
    assert [p.prm for p in curves.consumers] == [PRM_A, PRM_B, PRM_C]
    # C is read from its entry day only, not from the start of the period
    c_call = next(c for c in reader.calls if c[0] == "consumption-4")
    assert c_call[1:] == _days(date(2025, 6, 2), date(2025, 6, 4))
    r = service.allocate(curves, "default")
    step = r.by_period("step")
    # 1 June, C out: ΣC = 15,000 > P → A = P·C/ΣC = (8,000, 4,000, 0)
    np.testing.assert_allclose(step.autocons[0], [8000, 4000, 0])
    np.testing.assert_allclose(step.complement[0], [2000, 1000, 0])
    # 2 June on: the vector, P = 12, C = (10, 5, 1) → (7.5, 3.75, 0.75)
    np.testing.assert_allclose(step.autocons[48], [7500, 3750, 750])
    days = r.by_period("day")
    assert len(days.edges) == 4
    np.testing.assert_allclose(days.autocons[:, 0], [384_000, 360_000, 360_000])
    np.testing.assert_allclose(days.autocons[:, 2], [0, 36_000, 36_000])
    np.testing.assert_allclose(days.surplus.sum(), 0)
    month = r.by_period("month")
    np.testing.assert_allclose(month.autocons[0], [1_104_000, 552_000, 72_000])
    np.testing.assert_allclose(month.prod[0, 0], 144 * 12_000)
    flows = {f.participant.prm: f for f in r.participants()}
    assert flows[PRM_P].surplus_wh == pytest.approx(0)
    assert flows[PRM_C].cons_wh == pytest.approx(96_000)
    assert r.rates()["self_consumption"] == pytest.approx(1.0)
    d = month.as_dict()
    assert d["consumers"][0]["prm"] == "**********0002"  # never a full PRM


def test_static_and_priority_keys_hand_checked(store) -> None:
    start, end = _days(date(2025, 6, 1), date(2025, 6, 3))
    curves = service.load_curves(store, operation(), start, end, RecordingReader(store))
    shares = load_operation(store, "acc-test").static_shares
    st = service.allocate(curves, "static", static_shares=shares).by_period("day")
    # 50/30/20 % of 12,000: min(C, share) = (6,000, 3,600, 1,000); C's share is surplus on 1 June
    np.testing.assert_allclose(st.autocons[1], np.array([6000, 3600, 1000]) * 48)
    np.testing.assert_allclose(st.surplus[:, 0], [(12_000 - 9_600) * 48, 1_400 * 48])
    pr = service.allocate(curves, "priority").by_period("day")
    # the commune first (1,000), then A and B equally: B's 5,000 is met, A takes the rest (6,000)
    np.testing.assert_allclose(pr.autocons[1], np.array([6000, 5000, 1000]) * 48)
    # 1 June without the commune: A 7,000, B 5,000
    np.testing.assert_allclose(pr.autocons[0], np.array([7000, 5000, 0]) * 48)
    with pytest.raises(service.AccRequestError, match="unknown key"):
        service.allocate(curves, "lottery")


@pytest.mark.parametrize(("day", "steps", "per_step"), [
    (date(2025, 3, 30), 46, [8000, 4000]),  # spring forward, before the commune joins
    (date(2025, 10, 26), 50, [7500, 3750, 750]),  # fall back
])
def test_dst_days_count_each_half_hour_once(store, day: date, steps: int, per_step: list[int]) -> None:
    start, end = _days(day, date(day.year, day.month, day.day + 1))
    r = service.allocate(service.load_curves(store, operation(), start, end, RecordingReader(store)))
    assert len(r.curves.t) == steps
    days = r.by_period("day")
    assert len(days.edges) == 2
    np.testing.assert_allclose(days.autocons[0], np.array(per_step) * steps)
    np.testing.assert_allclose(days.prod[0, 0], 12_000 * steps)


def test_producer_gaps_count_as_no_production_and_are_reported(store_url: str) -> None:
    t0 = 17520 // 2  # a few hours without production values in early July
    store = build(store_url, gaps=slice(t0, t0 + 6))
    try:
        start, end = _days(date(2025, 7, 1), date(2025, 7, 31))
        curves = service.load_curves(store, operation(), start, end, RecordingReader(store))
        assert curves.missing == {PRM_P: 6}
        r = service.allocate(curves, "default")
        lost = 6 * 12_000
        assert r.allocation.autocons.sum() == pytest.approx(r.allocation.prod.sum())
        assert r.allocation.prod.sum() == pytest.approx(len(curves.t) * 12_000 - lost)
    finally:
        store.close()


def test_compare_keys_side_by_side_over_the_last_year(store) -> None:
    start, end = service.last_year_bounds(store, PARIS)
    assert (start, end) == _days(date(2025, 1, 1), date(2026, 1, 1))
    curves = service.load_curves(store, operation(), start, end, RecordingReader(store))
    cmp = service.compare_keys(curves, ("default", "priority", "static"),
                               static_shares=load_operation(store, "acc-test").static_shares)
    steps_with_c = (len(curves.t) - int(curves.active[:, 2].sum()), int(curves.active[:, 2].sum()))
    before, after = steps_with_c
    np.testing.assert_allclose(cmp.autocons["default"], [8000 * before + 7500 * after,
                                                         4000 * before + 3750 * after, 750 * after])
    np.testing.assert_allclose(cmp.autocons["priority"], [7000 * before + 6000 * after,
                                                          5000 * (before + after), 1000 * after])
    assert cmp.surplus["default"] == pytest.approx(0)
    assert cmp.surplus["static"] == pytest.approx(2400 * before + 1400 * after)
    assert set(cmp.as_dict()["consumers"][0]["AUTOCONS"]) == {"default", "priority", "static"}


def test_monthly_bills_hand_checked(store) -> None:
    run = service.bill_month(store, "acc-test", "2025-06", RecordingReader(store))
    bills = {b.participant.prm: b for b in run.bills}
    a, c = bills[PRM_A].bill, bills[PRM_C].bill
    # A: 1 June 8,000 Wh × 48, 29 days 7,500 Wh × 48 = 10,824 kWh at 0.15 EUR/kWh
    assert a.lines[0].quantity_kwh == Decimal("10824.000")
    assert a.lines[0].amount_eur == Decimal("1623.60")
    assert a.lines[1].amount_eur == Decimal("364.77")  # accise 33.70 EUR/MWh (Feb–Jul 2025)
    assert a.total_excl_vat_eur == Decimal("1988.37")
    assert a.vat_eur == Decimal("397.67")  # 324.72 + 72.95
    assert a.total_incl_vat_eur == Decimal("2386.04")
    # C joined on 2 June: billed from then, at the commune's price
    assert (c.start, c.end) == (date(2025, 6, 2), date(2025, 6, 30))
    assert c.lines[0].quantity_kwh == Decimal("1044.000")
    assert c.lines[0].amount_eur == Decimal("104.40")
    assert c.total_incl_vat_eur == Decimal("167.50")
    assert bills[PRM_B].autocons_wh == 48 * (4000 + 29 * 3750)
    assert bills[PRM_B].bill.complement_kwh == Decimal("1788.000")  # 7,200 kWh drawn − 5,412 kWh allocated
    (producer,) = run.statements
    assert producer.participant.prm == PRM_P
    assert producer.prod_kwh == Decimal("17280.000")  # 30 days × 48 × 12 kWh
    energy = sum((b.bill.lines[0].amount_eur for b in run.bills), Decimal(0))
    assert producer.local_sales_eur == energy
    assert run.total_incl_vat_eur == sum((b.bill.total_incl_vat_eur for b in run.bills), Decimal(0))


def test_yearly_summary_bills_month_by_month(store) -> None:
    summary = service.yearly_summary(store, "acc-test", 2025, RecordingReader(store))
    rows = summary.month_rows()
    assert [r["month"] for r in rows] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert rows[0]["prod_kwh"] == Decimal("17856.000")  # 31 days × 48 × 12 kWh
    assert rows[0]["self_consumption"] == pytest.approx(1.0)
    june = service.bill_month(store, "acc-test", "2025-06", RecordingReader(store))
    assert rows[5]["billed_incl_vat_eur"] == june.total_incl_vat_eur
    people = {r["participant"].prm: r for r in summary.participant_rows()}
    # 2 June – 31 December: 213 days of 48 half-hours, plus the 2 extra of 26 October
    assert people[PRM_C]["autocons_kwh"] == Decimal(750 * (213 * 48 + 2)) / 1000


def test_gate_reader_needs_a_reason_and_logs_every_read(store) -> None:
    from regie.governance import audit
    from regie.governance.accounts import CLI_ADMIN
    from regie.governance.gate import AccessDenied

    start, end = _days(date(2025, 6, 1), date(2025, 6, 2))
    with pytest.raises(AccessDenied):
        service.load_curves(store, operation(), start, end, service.gate_reader(store, CLI_ADMIN, step="PT30M"))
    reader = service.gate_reader(store, CLI_ADMIN, step=operation().step, reason="monthly ACC allocation")
    r = service.allocate(service.load_curves(store, operation(), start, end, reader))
    np.testing.assert_allclose(r.allocation.autocons[0], [8000, 4000])
    allowed = [e for e in audit.entries(store) if e.entry.get("decision") == "allowed"]
    assert len(allowed) == 3  # the producer and two consumers (C is not in yet): read once each


def test_sankey_and_a_participants_own_view(store) -> None:
    start, end = _days(date(2025, 6, 2), date(2025, 6, 3))
    r = service.allocate(service.load_curves(store, operation(), start, end, RecordingReader(store)), "static",
                         static_shares=load_operation(store, "acc-test").static_shares)
    chart = service.sankey(r)
    links = {(x["source"], x["target"]): x["kwh"] for x in chart["links"]}
    # static 50/30/20: (6,000, 3,600, 1,000) Wh a step, 1,400 Wh surplus, over 48 steps
    assert links[("p0", "c0")] == pytest.approx(288) and links[("p0", "c2")] == pytest.approx(48)
    assert links[("p0", "surplus")] == pytest.approx(67.2)
    assert links[("grid", "c0")] == pytest.approx(192)
    assert all("0000000" not in n.get("prm", "") for n in chart["nodes"])
    mine = service.participant_only(r, PRM_B)
    assert mine["flows"]["AUTOCONS"] == [172.8 * 1000]
    assert "Anna" not in str(mine)
    with pytest.raises(service.AccRequestError):
        service.participant_only(r, "39999999999999")


# ---------------------------------------------------------------- a PT15M operation, through the gate


@pytest.fixture
def quarter_store(store_url: str):
    s = build_quarter_hours(store_url, date(2025, 3, 29), date(2025, 6, 4))
    yield s
    s.close()


def _pmo_with_grants(store, granularity: str | None = None):
    """The cooperative's operator, and every participant's grant to the cooperative: at the operation's step
    as the demo gives them (:func:`regie.demo.acc_accounts.create_acc_demo_accounts`), or at ``granularity``."""
    from argon2 import PasswordHasher

    from regie.demo.acc_accounts import create_acc_demo_accounts
    from regie.governance import accounts, consent

    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    create_acc_demo_accounts(store, hasher=fast)
    if granularity is not None:
        for g in consent.list_grants(store, recipient_id="coop"):
            consent.withdraw(store, g.id, accounts.CLI_ADMIN)
            consent.grant(store, accounts.CLI_ADMIN, subject_id=g.subject_id, recipient_kind=g.recipient_kind,
                          recipient_id=g.recipient_id, categories=sorted(g.categories), prms=g.prms,
                          granularity=granularity, data_start=g.data_start, data_end=g.data_end, purpose=g.purpose,
                          expires_at=g.expires_at)  # fmt: skip
    return accounts.get_account(store, "pmo")


def test_a_pt15m_operation_allocates_every_quarter_hour_through_the_gate(quarter_store) -> None:
    from regie.governance import audit, consent

    store = quarter_store
    op = load_operation(store, "acc-test").operation
    assert op.step.seconds == 900
    pmo = _pmo_with_grants(store)
    assert {g.granularity.value for g in consent.list_grants(store, recipient_id="coop")} == {"PT15M"}
    reader = service.gate_reader(store, pmo, step=op.step)
    start, end = _days(date(2025, 6, 2), date(2025, 6, 3))
    r = service.allocate(service.load_curves(store, op, start, end, reader), "default")
    assert r.curves.t.tolist() == list(range(start, end, 900)) and len(r.curves.t) == 96
    assert r.curves.missing == {}
    # each quarter-hour P = 6 kWh, C = (5, 2.5, 0.5): the default key gives P·C_i/ΣC
    np.testing.assert_allclose(r.allocation.cons, np.tile([5000.0, 2500.0, 500.0], (96, 1)))
    np.testing.assert_allclose(r.allocation.autocons, np.tile([3750.0, 1875.0, 375.0], (96, 1)))
    reads = [e.entry for e in audit.entries(store, kind="access")][-4:]
    assert {(e["caller"], e["granularity"], e["decision"]) for e in reads} == {("pmo", "PT15M", "allowed")}
    assert sorted(e["points"] for e in reads) == [96] * 4
    # a DST day has 92 quarter-hours, each one allocated (C is not in yet)
    a, b = _days(date(2025, 3, 30), date(2025, 3, 31))
    dst = service.load_curves(store, op, a, b, reader)
    assert len(dst.t) == 92 and np.isfinite(dst.consumption).all() and np.isfinite(dst.production).all()


def test_a_pt30m_grant_refuses_the_pt15m_read_of_the_operation_and_logs_it(quarter_store) -> None:
    from regie.governance import audit
    from regie.governance.gate import AccessDenied

    store = quarter_store
    op = load_operation(store, "acc-test").operation
    pmo = _pmo_with_grants(store, "PT30M")
    start, end = _days(date(2025, 6, 2), date(2025, 6, 3))
    with pytest.raises(AccessDenied, match="allows PT30M at the finest, not PT15M"):
        service.load_curves(store, op, start, end, service.gate_reader(store, pmo, step=op.step))
    e = audit.entries(store, kind="access")[-1].entry
    assert (e["caller"], e["granularity"], e["decision"], e["points"]) == ("pmo", "PT15M", "refused", 0)
    assert "PT30M at the finest" in e["reason"]


def test_gate_reader_reads_at_the_step_it_is_given(store) -> None:
    from regie.governance import audit
    from regie.governance.accounts import CLI_ADMIN

    reader = service.gate_reader(store, CLI_ADMIN, step=operation().step, reason="check")
    t, _ = reader("consumption-2", *_days(date(2025, 6, 2), date(2025, 6, 3)))
    assert len(t) == 48 and audit.entries(store, kind="access")[-1].entry["granularity"] == "PT30M"
    with pytest.raises(service.AccRequestError, match="no PT1H level"):
        service.gate_reader(store, CLI_ADMIN, step="PT1H", reason="check")
