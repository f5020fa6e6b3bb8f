"""The collective self-consumption pages with TestClient: what the PMO and a participant see, in French and
English, who is refused, and that every curve behind a figure was read through the gate (access log).

The operation is ``tests/services/_acc_store.py``'s (see ``acc_world.py``): each half-hour of 2025 the park
makes P = 12 kWh and Anna, Joan and the Mairie draw 10, 5 and 1 kWh; the Mairie joins on 2 June. So, per
half-hour, the default key gives (8, 4) before 2 June and (7.5, 3.75, 0.75) after; the static key 50/30/20
gives (6, 3.6) then (6, 3.6, 1). Local year 2025: 7,294 half-hours before 2 June (DST lost one hour in
March), 10,226 from 2 June (October gave one back).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from acc_world import FAST, OPERATION_ID, PRM_EVE, AccWorld, build_acc_world
from fastapi.testclient import TestClient

from regie.governance import audit
from regie.services import acc as service
from regie.services import invoices as docs
from regie.web.acc_pages import SUPPLIER_REFERENCE_PRICE, my_rows, participant_rows

_acc_store = pytest.importorskip("_acc_store")

BEFORE, AFTER = 7294, 10226
OP = f"/acc/{OPERATION_ID}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccWorld]:
    w = build_acc_world(f"sqlite:///{tmp_path_factory.mktemp('acc') / 'acc.sqlite'}")
    yield w
    w.store.close()


@pytest.fixture
def as_(world: AccWorld) -> Iterator:
    clients = []

    def client(who: str | None) -> TestClient:
        c = TestClient(world.app(), follow_redirects=False)
        if who is not None:
            c.cookies.set("regie_session", world.sessions[who])
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


def values(html: str, testid: str) -> list[float]:
    return [float(v) for v in re.findall(rf'data-testid="{testid}"[^>]*data-value="([^"]+)"', html)]


def key_values(html: str, name: str) -> dict[str, float]:
    row = re.search(rf'<tr data-testid="keys-row" data-name="{name}">(.*?)</tr>', html, re.S)
    assert row, name
    return {k: float(v) for k, v in re.findall(r'data-key="(\w+)" data-value="([^"]+)"', row.group(1))}


def reference_run(world: AccWorld, month: str) -> service.BillingRun:
    """The month's bills computed straight from the store (tests are outside the gate's scan)."""
    return service.bill_month(world.store, OPERATION_ID, month, _acc_store.RecordingReader(world.store))


# ---------------------------------------------------------------- the PMO


def test_pmo_sees_participants_perimeter_and_flows(as_) -> None:
    r = as_("pmo").get(OP, params={"period": "2025"})
    assert r.status_code == 200
    html = r.text
    assert html.count('data-testid="participant-row"') == 4
    assert 'data-testid="perimeter-ok"' in html
    assert html.count('data-status="ok"') == 4
    # PRMs are masked everywhere on the page
    for prm in (_acc_store.PRM_P, _acc_store.PRM_A, _acc_store.PRM_B, _acc_store.PRM_C):
        assert prm not in html
        assert "**********" + prm[-4:] in html
    # the year under the default key: Anna 8 × BEFORE + 7.5 × AFTER kWh; the whole production is shared
    assert values(html, "flow-autocons") == [
        (8 * BEFORE + 7.5 * AFTER) * 1000, (4 * BEFORE + 3.75 * AFTER) * 1000, 0.75 * AFTER * 1000,
    ]  # fmt: skip
    assert values(html, "flow-autoprod") == [12 * (BEFORE + AFTER) * 1000]
    assert 'data-testid="rate-self-consumption"' in html
    for tab in ("", "/allocation", "/keys", "/invoices"):
        assert f'href="{OP}{tab}"' in html
    config = re.search(r'<script type="application/json" id="acc-config">(.*?)</script>', html, re.S)
    if config:  # the chart library is installed: the Sankey's links are there
        assert '"sankey"' in config.group(1) and '"links"' in config.group(1)


def test_perimeter_status_per_participant() -> None:
    from dataclasses import replace
    from datetime import date

    op = _acc_store.operation()
    far = replace(op.participants[1], latitude=42.50)  # ~11 km north
    gone = replace(op.participants[2], exit=date(2025, 3, 1))
    moved = replace(op, participants=(op.participants[0], far, gone, op.participants[3]))
    status = {r["name"]: r["status"] for r in participant_rows(moved, date(2025, 6, 15))}
    assert status == {"Parc": "far", "Anna": "far", "Joan": "left", "Mairie": "far"}


@pytest.mark.parametrize(("view", "period", "anna"), [
    ("year", "2025", 8 * BEFORE + 7.5 * AFTER),
    ("month", "2025-06", 8 * 48 + 7.5 * 48 * 29),
    ("day", "2025-06-15", 7.5 * 48),
    ("day", "2025-03-30", 8 * 46),  # the DST day has 46 half-hours
])  # fmt: skip
def test_allocation_views(as_, view: str, period: str, anna: float) -> None:
    r = as_("pmo").get(f"{OP}/allocation", params={"view": view, "period": period})
    assert r.status_code == 200, r.text
    assert values(r.text, "flow-autocons")[0] == pytest.approx(anna * 1000)


def test_a_period_that_does_not_fit_the_view_is_explained(as_) -> None:
    r = as_("pmo").get(f"{OP}/allocation", params={"view": "day", "period": "2025-06"})
    assert r.status_code == 409
    assert "YYYY-MM-DD" in r.text


def test_keys_side_by_side(as_) -> None:
    r = as_("pmo").get(f"{OP}/keys", params=[("key", "default"), ("key", "static"), ("key", "priority")])
    assert r.status_code == 200, r.text
    assert re.findall(r'data-testid="key-column" data-key="(\w+)"', r.text) == ["default", "static", "priority"]
    anna = key_values(r.text, "Anna")
    assert anna["default"] == (8 * BEFORE + 7.5 * AFTER) * 1000
    assert anna["static"] == 6 * (BEFORE + AFTER) * 1000
    mairie = key_values(r.text, "Mairie")
    assert mairie["static"] == 1 * AFTER * 1000  # served in full: its share is more than it draws
    assert mairie["priority"] == 1 * AFTER * 1000  # priority 1: served first
    assert "Clés de répartition côte à côte" in r.text


def test_keys_default_to_the_operations_key_and_another(as_) -> None:
    r = as_("pmo").get(f"{OP}/keys")
    assert re.findall(r'data-testid="key-column" data-key="(\w+)"', r.text) == ["default", "static"]


def test_invoices_and_documents(as_, world: AccWorld) -> None:
    client = as_("pmo")
    r = client.get(f"{OP}/invoices", params={"month": "2025-06"})
    assert r.status_code == 200
    expected = reference_run(world, "2025-06")
    numbers = re.findall(r'data-testid="invoice-row" data-number="([^"]+)"', r.text)
    assert numbers == [b.number for b in expected.bills]
    assert values(r.text, "invoice-total") == [float(b.bill.total_incl_vat_eur) for b in expected.bills]
    pdf = client.get(f"{OP}/invoices/2025-06/{numbers[0]}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    statement = client.get(f"{OP}/invoices/2025-06/{expected.statements[0].number}.pdf")
    assert statement.content.startswith(b"%PDF")
    csv = client.get(f"{OP}/invoices/2025-06/invoices.csv")
    assert csv.text == docs.invoices_csv(expected)
    assert client.get(f"{OP}/invoices/2025-06/statements.csv").text == docs.statements_csv(expected)
    assert client.get(f"{OP}/invoices/2025-06/nothing.pdf").status_code == 404
    summary = client.get(f"{OP}/summary/2025.csv")
    assert summary.status_code == 200 and summary.text.count("\n") == 13
    assert client.get(f"{OP}/summary/2025.pdf").content.startswith(b"%PDF")
    assert client.get(f"{OP}/summary/twenty.pdf").status_code == 404


def test_dynamic_keys_file(as_) -> None:
    r = as_("pmo").get(f"{OP}/dynamic-keys/2025-06.csv")
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert lines[0] == f"horodate;{_acc_store.PRM_A};{_acc_store.PRM_B};{_acc_store.PRM_C}"
    assert lines[1] == "2025-06-01T00:00:00+02:00;66.6;33.3;0.0"  # 8/12 and 4/12, floored to 0.1 %
    assert lines[49] == "2025-06-02T00:00:00+02:00;62.5;31.2;6.2"  # 7.5/12, 3.75/12, 0.75/12
    assert len(lines) == 1 + 30 * 48


def test_pmo_reads_go_through_the_gate_and_are_logged(as_, world: AccWorld) -> None:
    before = len(audit.entries(world.store, kind="access"))
    assert as_("pmo").get(f"{OP}/allocation", params={"view": "month", "period": "2025-07"}).status_code == 200
    new = audit.entries(world.store, kind="access")[before:]
    assert {e.entry["series"] for e in new} == {"production-1", "consumption-2", "consumption-3", "consumption-4"}
    assert {(e.entry["caller"], e.entry["decision"], e.entry["reason"]) for e in new} == {("pmo", "allowed", "grant")}


# ---------------------------------------------------------------- a participant


def test_participant_sees_only_their_own_rows(as_, world: AccWorld) -> None:
    before = len(audit.entries(world.store, kind="access"))
    r = as_("anna").get(f"{OP}/me", params={"year": "2025"})
    assert r.status_code == 200, r.text
    html = r.text
    assert html.count('data-testid="mine-row"') == 12
    june = re.search(r'data-month="2025-06".*?data-testid="mine-autocons" data-value="([^"]+)"', html, re.S)
    assert float(june.group(1)) == pytest.approx(8 * 48 + 7.5 * 48 * 29)
    for other in (
        "Joan",
        "Mairie",
        "Parc",
        *("*" + p[-4:] for p in (_acc_store.PRM_B, _acc_store.PRM_C, _acc_store.PRM_P)),
    ):
        assert other not in html
    assert "**********" + _acc_store.PRM_A[-4:] in html
    # computed under the PMO's authority: every curve read by the stand-in, logged with who asked
    new = audit.entries(world.store, kind="access")[before:]
    assert len(new) == 4
    assert {(e.entry["caller"], e.entry["role"], e.entry["decision"]) for e in new} == {
        ("pmo:coop for anna", "operator", "allowed")
    }


def test_participant_savings_use_the_supplier_price(as_, world: AccWorld) -> None:
    run = reference_run(world, "2025-06")
    bill = next(b for b in run.bills if b.participant.prm == _acc_store.PRM_A)
    for typed, price in ((None, SUPPLIER_REFERENCE_PRICE), ("0,30", 0.30)):
        params = {"year": "2025"} | ({"supplier_price": typed} if typed else {})
        html = as_("anna").get(f"{OP}/me", params=params).text
        june = re.search(r'data-month="2025-06".*?data-testid="mine-savings-month" data-value="([^"]+)"', html, re.S)
        expected = bill.autocons_wh / 1000 * price - float(bill.bill.total_incl_vat_eur)
        assert float(june.group(1)) == pytest.approx(expected)


def test_participant_invoice_is_their_own(as_, world: AccWorld) -> None:
    from pypdf import PdfReader

    r = as_("joan").get(f"{OP}/me/invoices/2025-06.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(r.content)).pages[0].extract_text().split())
    assert "Joan" in text and "Anna" not in text
    bill = next(b for b in reference_run(world, "2025-06").bills if b.participant.prm == _acc_store.PRM_B)
    assert bill.number in text


def test_rows_start_when_the_holding_began(world: AccWorld) -> None:
    from datetime import date

    summary = service.yearly_summary(world.store, OPERATION_ID, 2025, _acc_store.RecordingReader(world.store))
    rows = my_rows(summary, {_acc_store.PRM_A: date(2025, 7, 10)}, 0.2)
    assert [r["month"] for r in rows] == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("who", "path", "status"), [
    (None, OP, 303), (None, f"{OP}/me", 303), (None, "/acc", 303),
    ("eve", OP, 403), ("eve", f"{OP}/me", 403), ("eve", f"{OP}/me/invoices/2025-06.pdf", 403),
    ("mairie-op", OP, 403), ("mairie-op", f"{OP}/keys", 403), ("mairie-op", f"{OP}/invoices/2025-06/invoices.csv", 403),
    ("anna", OP, 403), ("anna", f"{OP}/dynamic-keys/2025-06.csv", 403), ("anna", f"{OP}/summary/2025.pdf", 403),
    ("pmo", f"{OP}/me", 403),
    ("pmo", "/acc/no-such-operation", 404),
])  # fmt: skip
def test_refusals(as_, who: str | None, path: str, status: int) -> None:
    r = as_(who).get(path)
    assert r.status_code == status
    if status == 303:
        assert r.headers["location"].startswith("/login?next=")


def test_refusals_read_nothing(as_, world: AccWorld) -> None:
    before = len(audit.entries(world.store, kind="access"))
    for who in ("eve", "mairie-op", "anna"):
        as_(who).get(f"{OP}/keys")
    as_("eve").get(f"{OP}/me")
    assert len(audit.entries(world.store, kind="access")) == before


def test_the_index_lists_what_each_caller_may_open(as_) -> None:
    assert f'href="{OP}"' in as_("pmo").get("/acc").text
    assert f'href="{OP}/me"' in as_("anna").get("/acc").text
    eve = as_("eve").get("/acc").text
    assert 'data-testid="acc-none"' in eve and OPERATION_ID not in eve


def test_admin_states_a_reason_that_the_gate_logs(as_, world: AccWorld) -> None:
    before = len(audit.entries(world.store, kind="access"))
    form = as_("admin").get(OP)
    assert form.status_code == 200 and 'data-testid="acc-reason"' in form.text
    assert as_("admin").get(f"{OP}/invoices/2025-06/invoices.csv").status_code == 400
    assert len(audit.entries(world.store, kind="access")) == before  # nothing read without a reason
    r = as_("admin").get(OP, params={"reason": "annual audit of the cooperative", "period": "2025-06"})
    assert r.status_code == 200 and 'data-testid="acc-admin-reason"' in r.text
    assert "reason=annual+audit+of+the+cooperative" in r.text  # the tabs keep the reason
    new = audit.entries(world.store, kind="access")[before:]
    assert new and {e.entry["reason"] for e in new} == {"admin: annual audit of the cooperative"}


def test_without_grants_the_gate_refuses_and_says_why(tmp_path) -> None:
    w = build_acc_world(f"sqlite:///{tmp_path / 'nogrant.sqlite'}", grants=False)
    try:
        with TestClient(w.app(), follow_redirects=False) as client:
            client.cookies.set("regie_session", w.sessions["pmo"])
            # the operation page reads nothing: it says whose consent is missing and that flows are not computed
            r = client.get(OP, params={"lang": "en"})
            assert r.status_code == 200
            assert r.text.count('data-testid="not-consented" data-state="none"') == 4
            assert "Their flows are not computed" in r.text and 'data-testid="acc-flows"' not in r.text
            assert audit.entries(w.store, kind="access") == []
            # the allocation tab asks the gate, which refuses and says why
            r = client.get(f"{OP}/allocation")
            assert r.status_code == 403
            assert 'data-testid="acc-error-message"' in r.text and "no grant" in r.text
            client.cookies.set("regie_session", w.sessions["anna"])
            assert client.get(f"{OP}/me").status_code == 403
        refused = [e for e in audit.entries(w.store, kind="access") if e.entry["decision"] == "refused"]
        assert {e.entry["caller"] for e in refused} == {"pmo", "pmo:coop for anna"}
    finally:
        w.store.close()


# ---------------------------------------------------------------- languages


@pytest.mark.parametrize(("lang", "texts"), [
    ("fr", ("Participants et flux", "Contrôle du périmètre", "Taux d'autoconsommation", "dans le périmètre")),
    ("en", ("Participants and flows", "Perimeter check", "Self-consumption rate", "within the perimeter")),
])  # fmt: skip
def test_operation_page_in_both_languages(as_, lang: str, texts: tuple[str, ...]) -> None:
    r = as_("pmo").get(OP, params={"lang": lang, "period": "2025-06"})
    assert r.status_code == 200
    assert f'<html lang="{lang}">' in r.text
    for t in texts:
        assert t in r.text.replace("&#39;", "'")


@pytest.mark.parametrize(
    ("lang", "text"),
    [("fr", "Ma répartition, mes économies, mes factures"), ("en", "My allocation, my savings, my bills")],
)
def test_participant_page_in_both_languages(as_, lang: str, text: str) -> None:
    r = as_("anna").get(f"{OP}/me", params={"lang": lang})
    assert r.status_code == 200 and text in r.text


def test_eve_holds_a_delivery_point_outside_the_operation(world: AccWorld) -> None:
    inv = world.store.load_inventory()
    assert any(m.holder_id == "eve" and m.prm == PRM_EVE for m in inv.memberships)


# ---------------------------------------------------------------- the demo's accounts


def test_demo_accounts_open_the_operation(tmp_path) -> None:
    from regie.demo.acc_accounts import create_acc_demo_accounts
    from regie.governance import accounts

    store = _acc_store.build(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    try:
        made = create_acc_demo_accounts(store, hasher=FAST)
        assert [(a.username, a.role, a.operator_of or a.holder_id) for a in made] == [
            ("pmo", "operator", "coop"), ("participant", "member", "anna"),
        ]  # fmt: skip
        app = AccWorld(store).app()
        with TestClient(app, follow_redirects=False) as client:
            for name, path in (("pmo", OP), ("pmo", f"{OP}/keys"), ("participant", f"{OP}/me")):
                client.cookies.set("regie_session", accounts.create_session(store, accounts.get_account(store, name)))
                assert client.get(path).status_code == 200, (name, path)
    finally:
        store.close()


# ---------------------------------------------------------------- a PT15M operation


def test_a_pt15m_operation_opens_through_the_gate_at_15_minutes(tmp_path) -> None:
    from datetime import date

    from regie.demo.acc_accounts import create_acc_demo_accounts
    from regie.governance import accounts, consent

    store = _acc_store.build_quarter_hours(f"sqlite:///{tmp_path / 'quarter.sqlite'}", date(2025, 6, 1),
                                           date(2025, 6, 4))  # fmt: skip
    try:
        create_acc_demo_accounts(store, hasher=FAST)  # grants at the operation's step: PT15M
        assert {g.granularity.value for g in consent.list_grants(store, recipient_id="coop")} == {"PT15M"}
        with TestClient(AccWorld(store).app(), follow_redirects=False) as client:
            client.cookies.set("regie_session", accounts.create_session(store, accounts.get_account(store, "pmo")))
            before = len(audit.entries(store, kind="access"))
            r = client.get(f"{OP}/allocation", params={"view": "day", "period": "2025-06-02"})
            assert r.status_code == 200, r.text
            assert values(r.text, "flow-autocons")[0] == pytest.approx(3750 * 96)  # 96 quarter-hours for Anna
            new = [e.entry for e in audit.entries(store, kind="access")[before:]]
            assert new and {(e["caller"], e["granularity"], e["decision"]) for e in new} == {
                ("pmo", "PT15M", "allowed")
            }
            participant = accounts.get_account(store, "participant")
            client.cookies.set("regie_session", accounts.create_session(store, participant))
            assert client.get(f"{OP}/me").status_code == 200
            # at 30 minutes, the grants no longer cover the operation's step: the gate refuses and says why
            for g in consent.list_grants(store, recipient_id="coop"):
                consent.withdraw(store, g.id, accounts.CLI_ADMIN)
                consent.grant(store, accounts.CLI_ADMIN, subject_id=g.subject_id, recipient_kind=g.recipient_kind,
                              recipient_id=g.recipient_id, categories=sorted(g.categories), prms=g.prms,
                              granularity="PT30M", data_start=g.data_start, data_end=None, purpose=g.purpose,
                              expires_at=g.expires_at)  # fmt: skip
            client.cookies.set("regie_session", accounts.create_session(store, accounts.get_account(store, "pmo")))
            refused = client.get(f"{OP}/allocation", params={"view": "day", "period": "2025-06-02"})
            assert refused.status_code == 403 and "allows PT30M at the finest, not PT15M" in refused.text
            last = audit.entries(store, kind="access")[-1].entry
            assert (last["caller"], last["granularity"], last["decision"]) == ("pmo", "PT15M", "refused")
    finally:
        store.close()


def test_attack_every_page_of_the_operation_survives_a_participants_erasure(tmp_path) -> None:
    """Issue 18, item 4, as written: after a participant's erasure their name stayed in the operation and every
    page of it broke ("no single holder..."). Joan is erased: the PMO's and Anna's pages still open, without
    her name, and the allocation is computed from the participants who remain."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    w = build_acc_world(f"sqlite:///{tmp_path / 'acc.sqlite'}")
    rights.erase_member(w.store, CLI_ADMIN, "joan")
    pages = {"pmo": [OP, f"{OP}/allocation", f"{OP}/keys", f"{OP}/invoices"], "anna": [f"{OP}/me"]}
    for who, paths in pages.items():
        c = TestClient(w.app(), follow_redirects=False)
        c.cookies.set("regie_session", w.sessions[who])
        for path in paths:
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:300])
            assert "Joan" not in r.text, path
        c.close()
    gone = TestClient(w.app(), follow_redirects=False)
    gone.cookies.set("regie_session", w.sessions["joan"])
    assert gone.get(f"{OP}/me").status_code in (302, 303)  # her old session is no one's: the login form
    gone.close()
    w.store.close()
