"""Setting up an ACC operation through governance (``regie.governance.acc_setup``): who may, key periods in
force day by day across a change, entries and exits, the perimeter and power checks that refuse a save,
consent requests to each new participant's holder, and the access-log entries.

The store is ``_acc_store``'s (P = 12,000 Wh per half-hour; A, B, C draw 10,000 / 5,000 / 1,000 Wh; C joins
on 2 June 2025), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from _acc_store import LAT, LON, PRM_A, PRM_B, PRM_C, PRM_P, PT30M, RecordingReader, build
from argon2 import PasswordHasher

from regie.governance import acc_setup, audit, consent
from regie.governance.accounts import CLI_ADMIN, Role, create_account
from regie.model import DeliveryPoint, Membership, Producer, Series, SeriesKind, Site, Source
from regie.services import acc as service
from regie.store.operations import load_operation

PARIS = ZoneInfo("Europe/Paris")
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PRM_FAR, PRM_NEW = "30000000000011", "30000000000012"


@pytest.fixture
def store(store_url: str):
    s = build(store_url)
    inv = s.load_inventory()
    # a house 30 km away and a new neighbour, both held by Joan
    inv.sites += [Site("far", "Far away", "village", LAT + 0.27, LON, 700.0),
                  Site("near", "Next door", "village", LAT + 0.002, LON, 700.0)]  # fmt: skip
    inv.delivery_points += [DeliveryPoint(PRM_FAR, "far", "C5", 6.0, "residential"),
                            DeliveryPoint(PRM_NEW, "near", "C5", 6.0, "residential")]  # fmt: skip
    inv.memberships += [Membership("joan", PRM_FAR, date(2020, 1, 1)), Membership("joan", PRM_NEW, date(2020, 1, 1))]
    inv.series.append(Series("consumption-new", SeriesKind.CONSUMPTION, "W", PT30M, prm=PRM_NEW, site_id="near"))
    inv.producers.append(Producer("parc", "Parc", Source.PV, 250_000.0, prm=PRM_P, site_id="site-0"))
    s.save_inventory(inv)
    yield s
    s.close()


def _account(store, name: str, role: Role, **kw):
    return create_account(store, name, "a long enough password", role, hasher=FAST, **kw)


def _mid(d: date) -> int:
    return service._midnight(d, PARIS)


def test_the_key_in_force_each_day_across_a_change(store) -> None:
    """Default key until 15 June, static key (A 50 %, B 30 %, C 20 %) from 16 June: each day uses its own."""
    pmo = _account(store, "pmo", Role.OPERATOR, operator_of="coop")
    acc_setup.set_key(store, pmo, "acc-test", "static", date(2025, 6, 16),
                      {"shares": {PRM_A: 0.5, PRM_B: 0.3, PRM_C: 0.2}})  # fmt: skip
    stored = load_operation(store, "acc-test")
    assert stored.key_on(date(2025, 6, 15)) is None and stored.key_on(date(2025, 6, 16)).key == "static"
    result = service.allocate_stored(store, "acc-test", _mid(date(2025, 6, 1)), _mid(date(2025, 7, 1)),
                                     RecordingReader(store))  # fmt: skip
    days = result.by_period("day")
    a = [c.prm for c in days.consumers].index(PRM_A)
    c = [c.prm for c in days.consumers].index(PRM_C)
    # 15 June, default dynamic key: P = 12 kWh shared pro rata of 10 / 5 / 1 → A 7.5 kWh per half-hour
    assert days.autocons[14, a] == pytest.approx(48 * 7_500)
    # 16 June, static key: A 50 % of 12 = 6 kWh; C 20 % = 2.4 kWh but draws only 1 kWh
    assert days.autocons[15, a] == pytest.approx(48 * 6_000)
    assert days.autocons[15, c] == pytest.approx(48 * 1_000)
    assert result.key == "static"
    # a key forced by the caller still applies over the whole period
    forced = service.allocate_stored(store, "acc-test", _mid(date(2025, 6, 1)), _mid(date(2025, 7, 1)),
                                     RecordingReader(store), key="default")  # fmt: skip
    assert forced.by_period("day").autocons[15, a] == pytest.approx(48 * 7_500)
    # the month's bills use the key in force each day too: A's AUTOCONS [kWh per half-hour] is 8 on 1 June
    # (C not in yet: 12 × 10 / 15), 7.5 from 2 to 15 June, 6 from 16 June
    run = service.bill_month(store, "acc-test", "2025-06", RecordingReader(store))
    anna = next(b for b in run.bills if b.participant.prm == PRM_A)
    assert anna.autocons_wh == pytest.approx(48 * (8_000 + 14 * 7_500 + 15 * 6_000))
    # a later change back to the default key: the static period ends the day before
    acc_setup.set_key(store, pmo, "acc-test", "default", date(2025, 6, 21))
    later = service.allocate_stored(store, "acc-test", _mid(date(2025, 6, 1)), _mid(date(2025, 7, 1)),
                                    RecordingReader(store)).by_period("day")  # fmt: skip
    assert [round(v / 48) for v in later.autocons[[14, 15, 19, 20, 21], a]] == [7_500, 6_000, 6_000, 7_500, 7_500]
    logged = [e.entry for e in audit.entries(store, kind="acc_setup")]
    assert [(e["action"], e["actor"], e["detail"]["key"]) for e in logged] == [
        ("key/set", "pmo", "static"), ("key/set", "pmo", "default")]
    assert PRM_A not in str(logged)  # PRMs are masked in the log


def test_key_parameters_are_checked(store) -> None:
    pmo = _account(store, "pmo", Role.OPERATOR, operator_of="coop")
    for key, params, why in [
        ("full_dynamic", None, "choose one of default, static, priority"),
        ("static", {"shares": {PRM_P: 0.5}}, "is not a consumer"),
        ("static", {"shares": {PRM_A: 0.7, PRM_B: 0.6}}, "more than 1"),
        ("priority", {"share": "alphabetical"}, "'weight' or 'consumption'"),
        ("default", {"shares": {}}, "it takes none"),
    ]:
        with pytest.raises(acc_setup.SetupError, match=why):
            acc_setup.set_key(store, pmo, "acc-test", key, date(2025, 6, 1), params)
    assert load_operation(store, "acc-test").key_periods == ()


def test_create_add_exit_and_who_may(store) -> None:
    pmo = _account(store, "pmo", Role.OPERATOR, operator_of="coop")
    other = _account(store, "mairie-op", Role.OPERATOR, operator_of="mairie")
    anna = _account(store, "anna", Role.MEMBER, holder_id="anna")
    for who in (other, anna):
        with pytest.raises(acc_setup.NotManager):
            acc_setup.create_operation(store, who, operation_id="acc-2", name="Deux", pmo_id="coop")
    with pytest.raises(acc_setup.SetupError, match="no such organisation"):
        acc_setup.create_operation(store, CLI_ADMIN, operation_id="acc-2", name="Deux", pmo_id="nobody")
    with pytest.raises(acc_setup.SetupError, match="already exists"):
        acc_setup.create_operation(store, pmo, operation_id="acc-test", name="Encore", pmo_id="coop")
    with pytest.raises(acc_setup.SetupError, match="PT15M or PT30M"):
        acc_setup.create_operation(store, pmo, operation_id="acc-2", name="Deux", pmo_id="coop", step="PT1H")
    made = acc_setup.create_operation(store, pmo, operation_id="acc-2", name="Deux", pmo_id="coop", step="PT15M",
                                      key="priority")  # fmt: skip
    assert (made.territory_id, made.key, made.operation.step.iso) == ("village", "priority", "PT15M")

    added = acc_setup.add_participant(store, pmo, "acc-2", {"prm": PRM_P, "role": "producer",
                                                            "entry": date(2025, 3, 1), "name": "Parc"})
    # peak power from the inventory's producer, position from the delivery point's site; consent asked of
    # the cooperative itself (it holds the park)
    assert (added.participant.peak_power_w, added.participant.latitude, added.participant.longitude) == (
        250_000.0, LAT, LON)
    assert added.holder_id == "coop" and added.request is not None
    g = added.request
    assert (g.status, g.recipient, g.categories, g.granularity.value) == (
        consent.Status.REQUESTED, "operation:coop", frozenset({"production"}), "PT15M")
    with pytest.raises(acc_setup.NotManager):
        acc_setup.add_participant(store, other, "acc-2", {"prm": PRM_A, "role": "consumer", "entry": date(2025, 3, 1)})
    added = acc_setup.add_participant(store, pmo, "acc-2", {"prm": PRM_A, "entry": date(2025, 4, 1)})
    assert added.request.subject_id == "anna" and added.request.categories == frozenset({"consumption"})
    # the worst day for power is the park's entry, 1 March 2025, before the 5 MW rule (from 6 March 2025)
    assert added.check.ok and added.check.distance_m == pytest.approx(111.2, abs=0.1)
    assert (added.check.power_w, added.check.power_limit_w, added.check.power_rule) == (250_000.0, 3e6, "3MW")

    left = acc_setup.record_exit(store, pmo, "acc-2", PRM_A, date(2025, 9, 1))
    assert left.exit == date(2025, 9, 1)
    with pytest.raises(acc_setup.SetupError, match="already left"):
        acc_setup.record_exit(store, pmo, "acc-2", PRM_A, date(2025, 10, 1))
    with pytest.raises(acc_setup.SetupError, match="must be after entry"):
        acc_setup.record_exit(store, pmo, "acc-2", PRM_P, date(2025, 2, 1))
    with pytest.raises(acc_setup.SetupError, match="not a participant"):
        acc_setup.record_exit(store, pmo, "acc-2", PRM_B, date(2025, 10, 1))
    op = load_operation(store, "acc-2").operation
    assert [(p.prm, p.entry, p.exit) for p in op.participants] == [
        (PRM_P, date(2025, 3, 1), None), (PRM_A, date(2025, 4, 1), date(2025, 9, 1))]
    actions = [(e.entry["action"], e.entry["operation_id"]) for e in audit.entries(store, kind="acc_setup")]
    assert actions == [("operation/create", "acc-2"), ("participant/add", "acc-2"), ("participant/add", "acc-2"),
                       ("participant/exit", "acc-2")]  # fmt: skip


def test_the_perimeter_and_power_checks_refuse_the_save(store) -> None:
    before = load_operation(store, "acc-test")
    grants = len(consent.list_grants(store))
    with pytest.raises(acc_setup.SetupError, match=r"30\.\d\d km apart, more than the 2 km allowed"):
        acc_setup.add_participant(store, CLI_ADMIN, "acc-test", {"prm": PRM_FAR, "entry": date(2025, 7, 1)})
    # with the derogation, a rural operation may reach 20 km — still not 30
    check = acc_setup.perimeter_check(dataclasses.replace(before.operation, derogation=True))
    assert (check.distance_limit_m, check.distance_rule) == (20_000.0, "20km")
    with pytest.raises(acc_setup.SetupError, match="must stay below 5 MW"):
        acc_setup.add_participant(store, CLI_ADMIN, "acc-test", {"prm": PRM_NEW, "role": "producer",
                                                                 "entry": date(2025, 7, 1), "peak_power_w": 5e6})
    # before 6 March 2025, the mainland limit was 3 MW
    with pytest.raises(acc_setup.SetupError, match=r"below 3 MW in mainland France on 2025-01-01"):
        acc_setup.add_participant(store, CLI_ADMIN, "acc-test", {"prm": PRM_NEW, "role": "producer",
                                                                 "entry": date(2025, 1, 1), "peak_power_w": 3e6})
    assert load_operation(store, "acc-test") == before
    assert len(consent.list_grants(store)) == grants
    assert audit.entries(store, kind="acc_setup") == []
    ok = acc_setup.add_participant(store, CLI_ADMIN, "acc-test", {"prm": PRM_NEW, "role": "producer",
                                                                  "entry": date(2025, 7, 1), "peak_power_w": 4e6})
    assert ok.check.power_w == pytest.approx(4.25e6) and ok.check.power_limit_w == 5e6
    # an admin's request is made by a stand-in for the PMO, so the recipient is still the PMO
    assert ok.request.recipient == "operation:coop" and ok.request.requested_by == "pmo:coop for cli"


def test_who_has_not_consented_yet(store) -> None:
    pmo = _account(store, "pmo", Role.OPERATOR, operator_of="coop")
    joan = _account(store, "joan", Role.MEMBER, holder_id="joan")
    added = acc_setup.add_participant(store, pmo, "acc-test", {"prm": PRM_NEW, "entry": date(2025, 6, 1)})
    stored = load_operation(store, "acc-test")
    states = {c.participant.prm: c.state for c in
              acc_setup.participant_consents(store, stored, _mid(date(2025, 6, 1)), _mid(date(2025, 7, 1)))}
    # nobody has granted the cooperative anything in this store: every curve but the new one was never asked
    assert states == {PRM_P: "none", PRM_A: "none", PRM_B: "none", PRM_C: "none", PRM_NEW: "requested"}
    consent.accept(store, added.request.id, joan)
    states = {c.participant.prm: c.state for c in
              acc_setup.participant_consents(store, stored, _mid(date(2025, 6, 1)), _mid(date(2025, 7, 1)))}
    assert states[PRM_NEW] == "given"
    # the same point in another operation of the same PMO: Joan's grant already covers it, she is not asked again
    acc_setup.create_operation(store, pmo, operation_id="acc-x", name="X", pmo_id="coop")
    again = acc_setup.add_participant(store, pmo, "acc-x", {"prm": PRM_NEW, "entry": date(2025, 7, 1)})
    assert again.request is None and "joan has already given this consent" in again.consent_note
    assert len(consent.list_grants(store, subject_id="joan")) == 1
    # a period before the grant's data start is not covered by it
    early = acc_setup.participant_consents(store, stored, _mid(date(2025, 5, 1)), _mid(date(2025, 6, 1)))
    assert PRM_NEW not in {c.participant.prm for c in early}
    assert not np.any([c.consented for c in early])


def test_the_new_participants_holder_is_invited(store) -> None:
    from regie.governance import invitations
    from regie.governance.accounts import accounts_of_holder

    pmo = _account(store, "pmo", Role.OPERATOR, operator_of="coop")
    with pytest.raises(acc_setup.SetupError, match="is not an e-mail address"):
        acc_setup.add_participant(store, CLI_ADMIN, "acc-test", {"prm": PRM_NEW, "entry": date(2025, 7, 1)},
                                  email="joan at example")  # fmt: skip
    assert PRM_NEW not in {p.prm for p in load_operation(store, "acc-test").operation.participants}
    # without an address, nobody is invited (the PMO's own invitation: test_the_pmo_invites_its_participant)
    added = acc_setup.add_participant(store, pmo, "acc-test", {"prm": PRM_NEW, "entry": date(2025, 7, 1)})
    assert added.invitation is None and added.invitation_note is None
    assert added.request is not None
    # an admin adds Joan's point to another operation: she has no account yet, so she is invited
    acc_setup.record_exit(store, pmo, "acc-test", PRM_NEW, date(2025, 8, 1))
    op2 = acc_setup.create_operation(store, CLI_ADMIN, operation_id="acc-j", name="J", pmo_id="coop")
    added = acc_setup.add_participant(store, CLI_ADMIN, op2.operation.id, {"prm": PRM_NEW, "entry": date(2025, 9, 1)},
                                      email="Joan@Example.org")  # fmt: skip
    inv = added.invitation
    assert inv is not None and added.invitation_note is None
    assert (inv.account.holder_id, inv.account.role, inv.account.email) == ("joan", Role.MEMBER, "joan@example.org")
    assert inv.path.startswith("/invite/")
    account, _ = invitations.check_invitation(store, inv.token)
    assert account.username == inv.account.username
    # the invited member sees the consent request when they open the link
    assert [g.id for g in invitations.requested_grants(store, account)] == [
        g.id for g in consent.list_grants(store, subject_id="joan") if g.status is consent.Status.REQUESTED]
    # once Joan has an account, adding another of her points asks her consent without a new invitation
    again = acc_setup.add_participant(store, CLI_ADMIN, op2.operation.id, {"prm": PRM_B, "entry": date(2025, 9, 1)},
                                      email="joan@example.org")  # fmt: skip
    assert again.invitation is None and "already has an account" in again.invitation_note
    assert [a.username for a in accounts_of_holder(store, "joan")] == [inv.account.username]


def test_the_pmo_invites_its_participant_as_a_member_and_no_one_else(store) -> None:
    from regie.governance import invitations
    from regie.model import Person

    inv = store.load_inventory()
    inv.persons.append(Person("ines", "Inès, of no operation"))
    store.save_inventory(inv)
    pmo = _account(store, "pmo", Role.OPERATOR, operator_of="coop")
    stranger = _account(store, "op2", Role.OPERATOR, operator_of="mairie")
    added = acc_setup.add_participant(store, pmo, "acc-test", {"prm": PRM_NEW, "entry": date(2025, 7, 1)},
                                      email="Joan@Example.org")  # fmt: skip
    got = added.invitation
    assert got is not None and added.invitation_note is None, added.invitation_note
    assert (got.account.holder_id, got.account.role, got.account.email) == ("joan", Role.MEMBER, "joan@example.org")
    logged = [e.entry for e in audit.entries(store, kind="account") if e.entry["action"] == "invited"]
    assert (logged[-1]["actor"], logged[-1]["username"]) == ("pmo", got.account.username)
    # not someone who holds no point of the PMO's operations, not as an operator, not by another organisation
    for actor, kw in ((pmo, {"role": Role.MEMBER, "holder_id": "ines"}),
                      (pmo, {"role": Role.OPERATOR, "operator_of": "coop"}),
                      (stranger, {"role": Role.MEMBER, "holder_id": "anna"})):  # fmt: skip
        with pytest.raises(invitations.InvitationError, match="only an admin invites people"):
            invitations.invite(store, actor, email="someone@example.org", **kw)
    assert invitations.pmo_may_invite(store, pmo, "anna") and not invitations.pmo_may_invite(store, stranger, "anna")
