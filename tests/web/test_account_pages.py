"""The account pages and /api/me: a member's data through the gate, grants and requests, rights; an
operator's reads at the granted granularity; the admin's view of the access log."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from governance_world import PRM_B, PURPOSE, World, build_world
from sqlalchemy import update

from regie.governance import accounts, audit, consent
from regie.store import open_store
from regie.store.schema import access_log
from regie.web import auth


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'pages.sqlite'}")
    yield build_world(store)
    store.close()


def as_(world: World, who: str, lang: str = "en") -> TestClient:
    client = TestClient(world.app(), follow_redirects=False, headers={"Accept-Language": lang})
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions[who])
    return client


def rows(html: str, testid: str) -> list[str]:
    return re.findall(rf'<tr data-testid="{testid}"[^>]*>', html)


def test_member_sees_own_data_at_every_granularity(world: World) -> None:
    client = as_(world, "alice")
    daily = client.get("/me")
    assert daily.status_code == 200
    assert 'data-granularity="P1D"' in daily.text
    assert daily.text.count('<td class="nowrap">2025-') == 31  # the last 31 days of data
    half = client.get("/me", params={"granularity": "PT30M"})
    assert half.text.count('<td class="nowrap">2025-02-') == 96  # two days of half-hours
    monthly = client.get("/me", params={"granularity": "P1M"}).text
    assert re.findall(r'<td class="nowrap">(2025-\d\d)</td><td>([^<]+)</td>', monthly) == [
        ("2025-01", "446,400"),  # 600 W × 744 h
        ("2025-02", "403,200"),  # 600 W × 672 h
    ]
    # every view went through the gate and is in alice's own access log
    own = [a for a in audit.accesses_to(world.store, "alice") if a.caller == "alice"]
    # each page also shows the dashboard: this month and the same month last year, read at the metering step
    dashboard = ["PT30M", "PT30M"]
    assert [a.granularity for a in own] == ["P1D", *dashboard, "PT30M", *dashboard, "P1M", *dashboard]


def test_the_page_speaks_french_and_english(world: World) -> None:
    assert "Qui a consulté mes données" in as_(world, "alice", "fr").get("/me").text
    assert "Who accessed my data" in as_(world, "alice", "en").get("/me").text


def test_give_a_grant_and_the_three_year_limit(world: World) -> None:
    client = as_(world, "bob")
    form = {"csrf_token": world.csrf("bob"), "recipient": "organisation:coop", "categories": "consumption",
            "granularity": "P1M", "purpose": PURPOSE, "data_from": "2025-01-01"}  # fmt: skip
    expires = (date.today() + timedelta(days=30)).isoformat()
    r = client.post("/me/grants", data={**form, "expires": expires})  # no delivery point ticked
    assert r.status_code == 400 and "at least one delivery point" in r.text
    form["prms"] = PRM_B
    too_long = (date.today() + timedelta(days=3 * 366 + 2)).isoformat()
    r = client.post("/me/grants", data={**form, "expires": too_long})
    assert r.status_code == 400 and "at most 3 years" in r.text
    r = client.post("/me/grants", data={**form, "expires": (date.today() + timedelta(days=30)).isoformat()})
    assert r.status_code == 303 and r.headers["location"].startswith("/me?done=granted")
    mine = [g for g in consent.list_grants(world.store, subject_id="bob") if g.status is consent.Status.GIVEN]
    assert len(mine) == 1 and mine[0].granularity.value == "P1M" and mine[0].recipient == "organisation:coop"


def test_accept_a_request_then_the_operator_reads_daily_never_half_hours(world: World) -> None:
    member, operator = as_(world, "bob"), as_(world, "op")
    assert rows(member.get("/me").text, "grant") == []
    assert 'data-testid="request"' in member.get("/me").text
    r = member.post(f"/me/grants/{world.request_id}/accept", data={"csrf_token": world.csrf("bob")})
    assert r.status_code == 303
    params = {"series": "c2", "start": "2025-01-01", "end": "2025-02-01", "purpose": PURPOSE}
    daily = operator.get("/api/me/data", params={**params, "granularity": "P1D"})
    assert daily.status_code == 200 and len(daily.json()["value"]) == 31
    assert daily.json()["consent_id"] == world.request_id
    fine = operator.get("/api/me/data", params={**params, "granularity": "PT30M"})
    assert fine.status_code == 403 and "P1D at the finest" in fine.json()["detail"]
    other = operator.get("/api/me/data", params={**params, "granularity": "P1D", "purpose": "dpv:ServiceProvision"})
    assert other.status_code == 403  # a grant is for its purpose only


def test_refuse_a_request(world: World) -> None:
    member = as_(world, "bob")
    assert (
        member.post(f"/me/grants/{world.request_id}/refuse", data={"csrf_token": world.csrf("bob")}).status_code == 303
    )
    assert consent.get_grant(world.store, world.request_id).status is consent.Status.REFUSED
    # a refused request cannot be accepted afterwards
    r = member.post(f"/me/grants/{world.request_id}/accept", data={"csrf_token": world.csrf("bob")})
    assert r.status_code == 409


def test_operator_page_reads_under_a_grant_and_is_refused_once_withdrawn(world: World) -> None:
    operator = as_(world, "op")
    page = operator.get("/operator/data", params={"grant": world.grant_id})
    assert page.status_code == 200 and 'data-granularity="P1D"' in page.text
    as_(world, "alice").post(f"/me/grants/{world.grant_id}/withdraw", data={"csrf_token": world.csrf("alice")})
    again = operator.get("/operator/data", params={"grant": world.grant_id})
    assert again.status_code == 403 and "withdrawn" in again.text
    log = as_(world, "alice").get("/api/me/accesses").json()
    assert [(a["caller"], a["decision"]) for a in log if a["caller"] == "op"] == [("op", "allowed"), ("op", "refused")]


def test_operator_requests_a_grant(world: World) -> None:
    operator = as_(world, "op")
    expires = (date.today() + timedelta(days=90)).isoformat()
    form = {"csrf_token": world.csrf("op"), "subject": "carol", "categories": "consumption", "granularity": "P1D",
            "purpose": PURPOSE, "data_from": "2025-01-01", "expires": expires}  # fmt: skip
    assert operator.post("/operator/requests", data=form).status_code == 303
    asked = consent.list_grants(world.store, subject_id="carol")
    assert len(asked) == 1 and asked[0].status is consent.Status.REQUESTED and asked[0].requested_by == "op"


def test_receipt_is_json_ld(world: World) -> None:
    r = as_(world, "alice").get(f"/me/grants/{world.grant_id}/receipt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    body = json.loads(r.text)
    assert body["@type"] == "dpv:ConsentRecord" and body["regie:granularity"] == "P1D"


def test_export_correct_erase(world: World) -> None:
    client = as_(world, "alice")
    r = client.post("/me/export", data={"csrf_token": world.csrf("alice")})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"profile.jsonld", "consents.jsonld", "access_log.jsonld"} <= set(names)
    assert any(n.startswith("series/c1_") for n in names)

    r = client.post("/me/details", data={"csrf_token": world.csrf("alice"), "name": "Alice B.", "email": "ab@x.org"})
    assert r.status_code == 303
    assert next(p for p in world.store.load_inventory().persons if p.id == "alice").name == "Alice B."

    wrong = client.post("/me/erase", data={"csrf_token": world.csrf("alice"), "confirm": "bob"})
    assert wrong.status_code == 400 and accounts.get_account(world.store, "alice") is not None
    r = client.post("/me/erase", data={"csrf_token": world.csrf("alice"), "confirm": "alice"})
    assert r.status_code == 200 and 'data-testid="erased"' in r.text
    assert accounts.get_account(world.store, "alice") is None
    assert client.get("/api/me").status_code == 401
    assert consent.get_grant(world.store, world.grant_id).status is consent.Status.WITHDRAWN
    # Her key died with her account, and a newcomer taking the username does not bring it back (issue 18).
    key = {"Authorization": f"Bearer {world.keys['alice-key']}"}
    assert TestClient(world.app()).get("/api/me", headers=key).status_code == 401
    accounts.create_account(world.store, "alice", "another long password", "member", holder_id="bob")
    assert TestClient(world.app()).get("/api/me", headers=key).status_code == 401


def test_admin_sees_accounts_and_a_tampered_log(world: World) -> None:
    admin = as_(world, "admin")
    page = admin.get("/admin").text
    assert 'data-testid="audit-ok"' in page
    assert page.count('data-testid="account-row"') == 5
    with world.store.engine.begin() as conn:
        conn.execute(update(access_log).where(access_log.c.seq == 2).values(at=0))
    assert 'data-testid="audit-problems"' in admin.get("/admin").text


def test_an_admin_reads_personal_data_only_with_a_reason(world: World) -> None:
    admin = as_(world, "admin")
    params = {"series": "c1", "start": "2025-01-01", "end": "2025-01-08", "granularity": "PT30M"}
    assert admin.get("/api/me/data", params=params).status_code == 403
    r = admin.get("/api/me/data", params={**params, "reason": "dispute over a bill, ticket 42"})
    assert r.status_code == 200 and len(r.json()["value"]) == 7 * 48
    assert audit.accesses_to(world.store, "alice")[-1].reason == "admin: dispute over a bill, ticket 42"


def test_personal_pages_are_not_cached_nor_framed(world: World) -> None:
    r = as_(world, "alice").get("/me")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    r = as_(world, "alice").post("/me/export", data={"csrf_token": world.csrf("alice")})
    assert r.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------- 10- and 15-minute levels, raw


def _options(html: str, select: str) -> list[tuple[str, str]]:
    """(value, label) of the options of the select carrying ``select`` (its name or data-testid)."""
    m = re.search(rf"<select [^>]*{select}[^>]*>(.*?)</select>", html, re.S)
    assert m is not None, select
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', m.group(1))


def test_grant_forms_list_every_level_in_english_and_french(world: World) -> None:
    en = _options(as_(world, "alice").get("/me").text, 'data-testid="grant-granularity-input"')
    assert en == [("raw", "every reading, as recorded (a sensor: every 10 seconds)"),
                  ("PT10M", "every 10 minutes"), ("PT15M", "every 15 minutes"), ("PT30M", "every 30 minutes"),
                  ("P1D", "daily totals"), ("P1M", "monthly totals")]  # fmt: skip
    fr = dict(_options(as_(world, "alice", "fr").get("/me").text, 'data-testid="grant-granularity-input"'))
    assert (fr["PT10M"], fr["PT15M"]) == ("toutes les 10 minutes", "toutes les 15 minutes")
    assert fr["raw"].startswith("chaque relevé")
    operator = [v for v, _ in _options(as_(world, "op", "fr").get("/operator").text, 'name="granularity"')]
    assert operator == ["raw", "PT10M", "PT15M", "PT30M", "P1D", "P1M"]
    # the member's own view offers only the steps their 30-minute curve has
    view = [v for v, _ in _options(as_(world, "alice").get("/me").text, 'data-testid="granularity"')]
    assert view == ["raw", "PT30M", "P1D", "P1M"]


def test_a_pt15m_grant_by_form_and_api_and_what_its_holder_sees_of_a_30_minute_curve(world: World) -> None:
    bob, op = as_(world, "bob"), as_(world, "op")
    form = {"csrf_token": world.csrf("bob"), "recipient": "organisation:coop", "categories": "consumption",
            "prms": PRM_B, "purpose": PURPOSE, "data_from": "2025-01-01",
            "expires": (date.today() + timedelta(days=30)).isoformat()}  # fmt: skip
    r = bob.post("/me/grants", data={**form, "granularity": "PT5M"})
    assert r.status_code == 400 and "choose raw, PT10M, PT15M, PT30M, P1D, P1M" in r.text
    assert bob.post("/me/grants", data={**form, "granularity": "PT15M"}).status_code == 303
    g = next(g for g in consent.list_grants(world.store, subject_id="bob") if g.status is consent.Status.GIVEN)
    assert g.granularity is consent.Granularity.PT15M
    assert 'data-value="PT15M"' in bob.get("/me").text
    # c2 is recorded every 30 minutes: the page shows its half-hours; the API says why there is no PT15M
    page = op.get("/operator/data", params={"grant": g.id})
    assert page.status_code == 200 and 'data-granularity="PT30M"' in page.text
    params = {"series": "c2", "start": "2025-01-01", "end": "2025-01-02", "purpose": PURPOSE}
    fine = op.get("/api/me/data", params={**params, "granularity": "PT15M"})
    assert fine.status_code == 400 and "recorded every PT30M: it has no PT15M values" in fine.json()["detail"]
    half = op.get("/api/me/data", params={**params, "granularity": "PT30M"})
    assert half.status_code == 200 and len(half.json()["value"]) == 48 and half.json()["granularity"] == "PT30M"
    log = [(a.caller, a.granularity, a.decision) for a in audit.accesses_to(world.store, "bob") if a.caller == "op"]
    assert log == [("op", "PT30M", "allowed"), ("op", "PT15M", "refused"), ("op", "PT30M", "allowed")]
    # a coarser grant refuses the finer read
    refused = as_(world, "op").get("/api/me/data", params={**params, "series": "c1", "granularity": "PT30M"})
    assert refused.status_code == 403 and "P1D at the finest, not PT30M" in refused.json()["detail"]


def test_the_api_gives_a_member_raw_points_and_takes_a_pt10m_grant(world: World) -> None:
    alice = as_(world, "alice")
    params = {"series": "c1", "start": "2025-01-01", "end": "2025-01-02", "granularity": "raw"}
    raw = alice.get("/api/me/data", params=params)
    assert raw.status_code == 200 and raw.json()["granularity"] == "raw" and len(raw.json()["value"]) == 48
    body = {"recipient_kind": "organisation", "recipient_id": "coop", "categories": ["consumption"],
            "granularity": "PT10M", "purpose": PURPOSE, "data_from": "2025-01-01",
            "expires": (date.today() + timedelta(days=30)).isoformat()}  # fmt: skip
    csrf = {"X-CSRF-Token": world.csrf("alice")}
    r = alice.post("/api/me/grants", json=body, headers=csrf)
    assert r.status_code == 201 and r.json()["granularity"] == "PT10M"
    bad = alice.post("/api/me/grants", json={**body, "granularity": "PT5M"}, headers=csrf)
    assert bad.status_code == 422


def test_operators_see_only_the_people_who_granted_them_something_or_whom_they_asked(world: World) -> None:
    """Issue 18, item 7, as written: an operator saw every member's name on /operator. ``op`` holds Alice's
    grant and asked Bob; ``op2`` (another body) has neither: it sees no name at all."""
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', as_(world, "op").get("/operator").text)
    assert {("alice", "Alice"), ("bob", "Bob")} <= set(options) and "carol" not in dict(options)
    other = as_(world, "op2").get("/operator").text
    assert not any(name in other for name in ("Alice", "Bob", "Carol"))


def test_an_operator_asks_a_new_member_by_delivery_point_without_learning_their_name(world: World) -> None:
    from governance_world import PRM_C

    expires = (date.today() + timedelta(days=90)).isoformat()
    form = {"csrf_token": world.csrf("op2"), "prm": PRM_C, "categories": "consumption", "granularity": "P1D",
            "purpose": PURPOSE, "data_from": "2025-01-01", "expires": expires}  # fmt: skip
    op2 = as_(world, "op2")
    r = op2.post("/operator/requests", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert [g.requested_by for g in consent.list_grants(world.store, subject_id="carol")] == ["op2"]
    assert "Carol" in op2.get("/operator").text  # now that it asked her
    nobody = op2.post("/operator/requests", data={**form, "prm": "30001000009999"})
    assert nobody.status_code == 400 and "no member holds" in nobody.text
