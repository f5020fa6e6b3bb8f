"""The people pages over HTTP (status codes, cookies, what the page says, in French and English): invitation
links, the forgotten-password form, the second step of a login and the forced enrolment, one's own second
factor, the admin's people page. The same journeys in a real browser: ``test_people_browser.py``."""

from __future__ import annotations

import time

import pyotp
import pytest
from fastapi.testclient import TestClient
from people_world import ADMIN_PASSWORD, NEW_PASSWORD, SECRET, World, app_for, form_token, session_of
from sqlalchemy import update

from regie.config import Settings
from regie.governance import accounts, consent, invitations, two_factor
from regie.governance.accounts import CLI_ADMIN
from regie.store.schema import account_token


@pytest.fixture
def client(world: World) -> TestClient:
    return TestClient(app_for(world), follow_redirects=False)


def _invite_alice(world: World) -> invitations.Invitation:
    return invitations.invite(world.store, CLI_ADMIN, email="alice@example.org", role="member", holder_id="alice")


def _post_password(client: TestClient, path: str, password: str, again: str | None = None, **extra: str):
    page = client.get(path)
    form = {"csrf_token": form_token(page.text), "new": password, "again": password if again is None else again}
    return client.post(path, data={**form, **extra})


# ---------------------------------------------------------------- invitation links


@pytest.mark.parametrize(
    ("lang", "unknown", "used", "expired"),
    [
        ("fr", "Ce lien est inconnu", "Ce lien a déjà servi", "Ce lien a expiré"),
        ("en", "This link is unknown", "This link was already used", "This link has expired"),
    ],
)
def test_an_unknown_used_or_expired_link_says_so(world: World, client: TestClient, lang: str, unknown: str,
                                                 used: str, expired: str) -> None:  # fmt: skip
    r = client.get(f"/invite/{'x' * 43}?lang={lang}")
    assert r.status_code == 404 and unknown in r.text
    inv = _invite_alice(world)
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD)
    r = client.get(f"{inv.path}?lang={lang}")
    assert r.status_code == 410 and used in r.text
    reset = invitations.reset_link(world.store, CLI_ADMIN, "alice")
    with world.store.engine.begin() as conn:
        conn.execute(update(account_token).values(expires_at=int(time.time()) - 1))
    r = client.get(f"{reset.path}?lang={lang}")
    assert r.status_code == 410 and expired in r.text
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"


def test_the_invitation_page_sets_the_password_answers_consents_and_logs_in(world: World, client: TestClient):
    inv = _invite_alice(world)
    client.headers["accept-language"] = "en"
    page = client.get(inv.path)
    assert page.status_code == 200 and "You are invited as alice (member)" in page.text
    assert "Coopérative" in page.text and f'name="choice-{world.request_id}"' in page.text
    csrf = form_token(page.text)
    r = client.post(inv.path, data={"csrf_token": "forged", "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert r.status_code == 403
    r = client.post(inv.path, data={"csrf_token": csrf, "new": NEW_PASSWORD, "again": NEW_PASSWORD + "x"})
    assert r.status_code == 400 and "The two new passwords differ" in r.text
    r = client.post(inv.path, data={"csrf_token": csrf, "new": "motdepasse123", "again": "motdepasse123"},
                    headers={"accept-language": "fr"})  # fmt: skip
    assert r.status_code == 400 and "trop courant" in r.text
    r = client.post(inv.path, data={"csrf_token": csrf, "new": NEW_PASSWORD, "again": NEW_PASSWORD,
                                    f"choice-{world.request_id}": "refuse"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/me"
    assert "regie_session" in r.cookies
    assert client.get("/me").status_code == 200  # logged in
    assert consent.get_grant(world.store, world.request_id).status is consent.Status.REFUSED
    assert client.get(inv.path).status_code == 410


# ---------------------------------------------------------------- forgotten password


def _forgot(client: TestClient, email: str, lang: str = "en"):
    page = client.get(f"/password/forgot?lang={lang}")
    return client.post("/password/forgot", data={"csrf_token": form_token(page.text), "email": email})


def _notice(html: str) -> str:
    return html.split('data-testid="forgot-sent">', 1)[1].split("</div>", 1)[0]


def test_the_forgot_form_answers_the_same_for_known_and_unknown_addresses(world: World, client: TestClient):
    invitations.set_email(world.store, CLI_ADMIN, "admin", "admin@vallee.example")
    known, unknown, garbage = (_forgot(client, e) for e in ("admin@vallee.example", "nobody@x.example", "nope"))
    assert known.status_code == unknown.status_code == garbage.status_code == 200
    assert _notice(known.text) == _notice(unknown.text) == _notice(garbage.text)
    assert "If an account has this address" in _notice(known.text)
    assert known.text.replace(form_token(known.text), "") == unknown.text.replace(form_token(unknown.text), "")


def test_the_forgot_form_is_throttled_per_address_asked(world: World) -> None:
    client = TestClient(app_for(world, Settings.defaults(password_reset_max_requests=3)), follow_redirects=False)
    assert [_forgot(client, "who@x.example").status_code for _ in range(3)] == [200, 200, 200]
    r = _forgot(client, "who@x.example", "fr")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and "Trop de demandes" in r.text
    assert _forgot(client, "other@x.example").status_code == 429  # the same client address, locked too


def test_a_reset_link_page_changes_the_password_and_ends_sessions(world: World, client: TestClient) -> None:
    old_session = session_of(world.store, "op")
    reset = invitations.reset_link(world.store, CLI_ADMIN, "op")
    r = _post_password(client, reset.path + "?lang=en", "sunshine2024!")
    assert r.status_code == 400 and "3 needed" in r.text  # an operator's password must be strong
    r = _post_password(client, reset.path + "?lang=en", NEW_PASSWORD + " bis")
    assert r.status_code == 200 and "Your password is changed" in r.text
    assert accounts.resolve_session(world.store, old_session) is None
    assert client.get(reset.path).status_code == 410


# ---------------------------------------------------------------- the second step of a login


def _login(client: TestClient, username: str, password: str):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": form_token(page.text), "username": username,
                                       "password": password, "next": ""})  # fmt: skip


def _enrol_directly(world: World, username: str) -> pyotp.TOTP:
    acct = accounts.get_account(world.store, username)
    app = pyotp.parse_uri(two_factor.begin_enrolment(world.store, acct, SECRET).uri)
    at = int(time.time())
    assert two_factor.confirm_enrolment(world.store, acct, SECRET, app.at(at - 30), now=at) is not None
    return app


def test_an_account_with_a_second_factor_gets_no_session_before_its_code(world: World, client: TestClient):
    app = _enrol_directly(world, "admin")
    r = _login(client, "admin", ADMIN_PASSWORD)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/code")
    assert "regie_session" not in r.cookies and "regie_login_step" in r.cookies
    assert client.get("/admin").status_code == 303  # not logged in yet
    page = client.get("/login/code?lang=en")
    assert page.status_code == 200 and "authenticator app shows for admin" in page.text
    csrf = form_token(page.text)
    wrong = next(c for c in ("000000", "999999") if c not in {app.at(time.time() + d) for d in (-30, 0, 30)})
    r = client.post("/login/code", data={"csrf_token": csrf, "code": wrong})
    assert r.status_code == 401 and "not right" in client.post("/login/code?lang=en", data={
        "csrf_token": csrf, "code": wrong}).text  # fmt: skip
    r = client.post("/login/code", data={"csrf_token": "forged", "code": app.now()})
    assert r.status_code == 403
    code = app.now()
    r = client.post("/login/code", data={"csrf_token": csrf, "code": code, "next": "/admin"})
    assert r.status_code == 303 and r.headers["location"] == "/admin" and "regie_session" in r.cookies
    assert client.get("/admin").status_code == 200
    assert client.get("/login/code").status_code == 303  # the pending login is spent
    other = TestClient(app_for(world), follow_redirects=False)
    _login(other, "admin", ADMIN_PASSWORD)
    replay = other.post("/login/code", data={"csrf_token": form_token(other.get("/login/code").text), "code": code})
    assert replay.status_code == 401  # the same code, a second time


def test_a_recovery_code_logs_in_once(world: World, client: TestClient) -> None:
    acct = accounts.get_account(world.store, "op")
    app = pyotp.parse_uri(two_factor.begin_enrolment(world.store, acct, SECRET).uri)
    codes = two_factor.confirm_enrolment(world.store, acct, SECRET, app.now())
    assert codes is not None
    _login(client, "op", NEW_PASSWORD + " op")
    csrf = form_token(client.get("/login/code").text)
    r = client.post("/login/code", data={"csrf_token": csrf, "code": codes[3]})
    assert r.status_code == 303 and r.headers["location"] == "/operator"
    again = TestClient(app_for(world), follow_redirects=False)
    _login(again, "op", NEW_PASSWORD + " op")
    r = again.post("/login/code", data={"csrf_token": form_token(again.get("/login/code").text), "code": codes[3]})
    assert r.status_code == 401


def test_the_setting_forces_enrolment_before_the_session_opens(world: World) -> None:
    settings = Settings.defaults(require_two_factor="admins_operators")
    client = TestClient(app_for(world, settings), follow_redirects=False)
    r = _login(client, "op", NEW_PASSWORD + " op")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/enrol")
    assert "regie_session" not in r.cookies
    page = client.get("/login/enrol?lang=en")
    assert "requires a second factor" in page.text and "<svg" in page.text
    uri = page.text.split('data-testid="enrol-uri">', 1)[1].split("<", 1)[0].replace("&amp;", "&")
    app = pyotp.parse_uri(uri)
    r = client.post("/login/enrol", data={"csrf_token": form_token(page.text), "code": app.now()})
    assert r.status_code == 200 and r.text.count('data-testid="recovery-code"') == 10
    assert "regie_session" in r.cookies
    assert client.get("/operator").status_code == 200
    assert accounts.get_account(world.store, "op").two_factor
    # a member is not obliged: their login opens a session at once
    inv = _invite_alice(world)
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD)
    assert "regie_session" in _login(TestClient(app_for(world, settings), follow_redirects=False), "alice",
                                     NEW_PASSWORD).cookies  # fmt: skip


def test_an_invited_operator_enrols_before_the_first_session_when_required(world: World) -> None:
    settings = Settings.defaults(require_two_factor="admins_operators")
    client = TestClient(app_for(world, settings), follow_redirects=False)
    inv = invitations.invite(world.store, CLI_ADMIN, email="pmo@coop.example", role="operator", operator_of="coop")
    r = _post_password(client, inv.path, NEW_PASSWORD)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/enrol")
    assert "regie_session" not in r.cookies


# ---------------------------------------------------------------- one's own second factor


def _as(world: World, username: str, settings: Settings | None = None) -> tuple[TestClient, str]:
    client = TestClient(app_for(world, settings), follow_redirects=False)
    session = session_of(world.store, username)
    client.cookies.set("regie_session", session)
    return client, accounts.csrf_token(session, SECRET)


def test_a_member_turns_two_factor_on_and_off(world: World) -> None:
    inv = _invite_alice(world)
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD)
    client, csrf = _as(world, "alice")
    assert "Off: your password alone" in client.get("/me/two-factor?lang=en").text
    page = client.get("/me/two-factor/enrol")
    uri = page.text.split('data-testid="enrol-uri">', 1)[1].split("<", 1)[0].replace("&amp;", "&")
    app = pyotp.parse_uri(uri)
    assert client.post("/me/two-factor/enrol", data={"csrf_token": csrf, "code": "123"}).status_code == 400
    assert client.post("/me/two-factor/enrol", data={"code": app.now()}).status_code == 403  # no CSRF token
    first = app.now()
    r = client.post("/me/two-factor/enrol", data={"csrf_token": csrf, "code": first})
    assert r.status_code == 200 and r.text.count('data-testid="recovery-code"') == 10
    assert "Recovery codes left: 10" in client.get("/me/two-factor?lang=en").text
    r = client.post("/me/two-factor/off", data={"csrf_token": csrf, "code": first})  # already used
    assert r.status_code == 400
    r = client.post("/me/two-factor/off", data={"csrf_token": csrf, "code": app.at(time.time() + 30)})
    assert r.status_code == 303 and not accounts.get_account(world.store, "alice").two_factor


def test_a_required_second_factor_cannot_be_turned_off(world: World) -> None:
    _enrol_directly(world, "op")
    client, csrf = _as(world, "op", Settings.defaults(require_two_factor="admins_operators"))
    r = client.post("/me/two-factor/off?lang=fr", data={"csrf_token": csrf, "code": "000000"})
    assert r.status_code == 403 and "ne peut pas être désactivé" in r.text
    assert accounts.get_account(world.store, "op").two_factor


# ---------------------------------------------------------------- the admin's page


def test_the_people_page_is_for_admins(world: World) -> None:
    client, _ = _as(world, "op")
    assert client.get("/admin/people").status_code == 403
    anonymous = TestClient(app_for(world), follow_redirects=False)
    assert anonymous.get("/admin/people").status_code == 303


def test_an_admin_invites_without_smtp_and_gets_the_link_to_hand_over(world: World) -> None:
    client, csrf = _as(world, "admin")
    page = client.get("/admin/people?lang=en")
    assert 'data-email="alice@example.org"' in page.text and "sends no e-mail" in page.text
    r = client.post("/admin/people/invite?lang=en", data={"csrf_token": csrf, "role": "member", "holder": "alice",
                                                          "email": ""})  # fmt: skip
    assert r.status_code == 200 and "not sent by e-mail" in r.text
    link = r.text.split('data-testid="delivery-link">', 1)[1].split("<", 1)[0]
    assert link.startswith("http://testserver/invite/")
    assert invitations.check_invitation(world.store, link.rsplit("/", 1)[1])[0].email == "alice@example.org"
    r = client.post("/admin/people/invite?lang=en", data={"csrf_token": csrf, "role": "member", "email": "x@y.z"})
    assert r.status_code == 400 and "choose the holder" in r.text
    r = client.post("/admin/people/op/reset-link?lang=en", data={"csrf_token": csrf})
    assert r.status_code == 200 and "/reset/" in r.text.split('data-testid="delivery-link">', 1)[1][:200]
    assert client.post("/admin/people/invite", data={"role": "admin", "email": "a@b.example"}).status_code == 403


def test_an_admin_turns_off_someones_second_factor(world: World) -> None:
    _enrol_directly(world, "op")
    client, csrf = _as(world, "admin")
    r = client.post("/admin/people/op/two-factor-off", data={"csrf_token": csrf})
    assert r.status_code == 303 and not accounts.get_account(world.store, "op").two_factor


def test_wrong_codes_lock_the_second_step_and_a_changed_secret_file_says_so(world: World) -> None:
    _enrol_directly(world, "admin")
    client = TestClient(app_for(world, Settings.defaults(login_max_failures=2)), follow_redirects=False)
    _login(client, "admin", ADMIN_PASSWORD)
    csrf = form_token(client.get("/login/code").text)
    statuses = [client.post("/login/code?lang=en", data={"csrf_token": csrf, "code": "abcdef"}) for _ in range(3)]
    assert [r.status_code for r in statuses] == [401, 401, 429]
    assert "Too many failed attempts" in statuses[2].text and int(statuses[2].headers["retry-after"]) > 0
    moved = app_for(world)
    moved.state.secret = b"another secret file of 32 bytes!"
    other = TestClient(moved, follow_redirects=False)
    _login(other, "op", NEW_PASSWORD + " op")  # no second factor: a session at once
    _enrol_directly(world, "op")
    again = TestClient(moved, follow_redirects=False)
    _login(again, "op", NEW_PASSWORD + " op")
    r = again.post("/login/code?lang=en", data={"csrf_token": form_token(again.get("/login/code").text),
                                                "code": "123456"})  # fmt: skip
    assert r.status_code == 409 and "secret file changed" in r.text


@pytest.mark.parametrize(
    ("form", "fr"),
    [
        ({"role": "member", "email": "x@example.org"}, "choisissez le titulaire"),
        ({"role": "operator", "email": "x@example.org"}, "indiquez laquelle"),
        ({"role": "member", "holder": "alice", "email": "alice"}, "alice n'est pas une adresse électronique"),
        ({"role": "operator", "operator_of": "coop", "email": "admin@vallee.example"},
         "a déjà le compte admin : envoyez plutôt un lien"),
    ],
)
def test_a_refused_invitation_says_why_in_the_admins_language(world: World, form: dict, fr: str) -> None:
    invitations.set_email(world.store, CLI_ADMIN, "admin", "admin@vallee.example")
    client, csrf = _as(world, "admin")
    before = accounts.list_accounts(world.store)
    r = client.post("/admin/people/invite?lang=fr", data={"csrf_token": csrf, **form})
    assert r.status_code == 400 and fr in r.text.replace("&#39;", "'")
    assert accounts.list_accounts(world.store) == before
