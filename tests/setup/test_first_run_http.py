"""The first-run setup over HTTP: pages redirect to /setup, a wrong token is refused and throttled, the CSRF
token is checked, a bad form creates nothing, and once an admin exists the page is gone and the token void.
Every attempt is in the access log."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from regie.governance import accounts, audit, territories
from regie.governance.accounts import ThrottlePolicy
from regie.store import Store, open_store
from regie.web.app import create_app
from regie.web.setup_pages import offer

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
STRONG = "granite meadow lantern quietly"
POLICY = ThrottlePolicy(max_failures=3, max_failures_addr=10, window=600, base_lock=60, max_lock=600)


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    yield s
    s.close()


def _app(store: Store):
    app = create_app(store)
    app.state.password_hasher = FAST
    token = offer(app, store, POLICY)
    return app, token


def _client(app) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.headers["Accept-Language"] = "en"
    return client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form(client: TestClient, token: str, **changes: str) -> dict[str, str]:
    page = client.get("/setup", params={"token": token})
    assert page.status_code == 200 and 'data-testid="setup-form"' in page.text
    form = {"csrf_token": _csrf(page.text), "token": token, "username": "maire", "email": "maire@example.org",
            "password": STRONG, "again": STRONG, "id": "prats", "name": "Prats-de-Mollo-la-Preste",
            "insee": "66150", "timezone": "Europe/Paris", "latitude": "42.40", "longitude": "2.48", "step": "PT30M"}
    return form | changes


def _setup_log(store: Store) -> list[str]:
    return [e.entry["action"] for e in audit.entries(store, kind="setup")]


def test_pages_redirect_to_setup_and_a_right_token_makes_the_admin_and_the_territory(store: Store) -> None:
    app, token = _app(store)
    assert token and len(token) >= 40
    client = _client(app)
    for path in ("/", "/admin", "/me", "/live"):
        r = client.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/setup"), path
    assert client.post("/input/post", data={}).status_code == 503
    assert client.get("/healthz").status_code == 200 and client.get("/static/regie.css").status_code == 200
    r = client.post("/setup", data=_form(client, token))
    assert (r.status_code, r.headers["location"]) == (303, "/admin")
    admin = accounts.get_account(store, "maire")
    assert admin.role is accounts.Role.ADMIN and admin.territory_id is None and admin.email == "maire@example.org"
    t = territories.get_territory(store, "prats")
    assert (t.name, t.insee, t.latitude, t.longitude, t.step) == ("Prats-de-Mollo-la-Preste", "66150", 42.4, 2.48,
                                                                  "PT30M")  # fmt: skip
    assert "Prats-de-Mollo-la-Preste" in client.get("/admin").text  # logged in as the new admin
    # the page is gone, the token void, the other pages free
    assert client.get("/setup").status_code == 404
    assert client.get("/setup", params={"token": token}).status_code == 404
    assert client.post("/setup", data=_form_without_page(token)).status_code == 404
    assert client.get("/").status_code == 200
    assert _setup_log(store) == ["token_accepted", "token_accepted", "done"]
    kinds = [e.kind for e in audit.entries(store)]
    assert "account" in kinds and "territory" in kinds


def _form_without_page(token: str) -> dict[str, str]:
    return {"token": token, "username": "eve", "password": STRONG, "again": STRONG, "id": "x", "name": "X"}


def test_a_wrong_token_is_refused_throttled_and_logged(store: Store) -> None:
    app, token = _app(store)
    client = _client(app)
    csrf = _csrf(client.get("/setup").text)
    for _ in range(POLICY.max_failures):
        r = client.post("/setup/token", data={"csrf_token": csrf, "token": "guess"})
        assert r.status_code == 401 and "setup token is wrong" in r.text
    r = client.post("/setup/token", data={"csrf_token": csrf, "token": token})  # even the right one now waits
    assert r.status_code == 429 and "try again in" in r.text and int(r.headers["Retry-After"]) > 0
    assert _setup_log(store) == ["token_refused"] * 3 + ["token_locked"]
    assert accounts.list_accounts(store) == []
    # another address is not locked by this one's failures
    other = TestClient(app, follow_redirects=False, client=("10.0.0.2", 5000))
    page = other.get("/setup")
    assert other.post("/setup/token", data={"csrf_token": _csrf(page.text), "token": token}).status_code == 200


def test_the_forms_need_their_csrf_token(store: Store) -> None:
    app, token = _app(store)
    client = _client(app)
    client.get("/setup")
    assert client.post("/setup/token", data={"token": token}).status_code == 403
    form = _form(client, token)
    del form["csrf_token"]
    assert client.post("/setup", data=form).status_code == 403
    assert accounts.list_accounts(store) == [] and territories.list_territories(store) == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"password": "a" * 12, "again": "a" * 12}, "too common"),
        ({"password": "sunshine2024!", "again": "sunshine2024!"}, "harder to guess"),
        ({"again": "something else entirely"}, "passwords differ"),
        ({"insee": "661"}, "INSEE code has 5 characters"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"latitude": "north"}, "Give both latitude"),
        ({"longitude": ""}, "Give both latitude"),
        ({"step": "PT5M"}, "metering step is one of"),
        ({"id": "pr ats"}, "territory's id is a short name"),
        ({"username": "Maire Principal"}, "A username has 2 to 64"),
        ({"email": "maire"}, "e-mail address does not look right"),
    ],
)
def test_a_bad_form_says_why_and_creates_nothing(store: Store, changes: dict[str, str], said: str) -> None:
    app, token = _app(store)
    client = _client(app)
    r = client.post("/setup", data=_form(client, token, **changes))
    assert r.status_code == 400 and said in r.text
    assert 'value="Prats-de-Mollo-la-Preste"' in r.text  # what was typed is kept
    assert accounts.list_accounts(store) == [] and territories.list_territories(store) == []
    assert client.get("/").status_code == 303  # still to be set up


def test_a_french_visitor_reads_the_page_in_french(store: Store) -> None:
    app, _ = _app(store)
    client = _client(app)
    client.headers["Accept-Language"] = "fr"
    page = client.get("/setup")
    assert "Configurer cette régie" in page.text and "Jeton de configuration" in page.text
    r = client.post("/setup/token", data={"csrf_token": _csrf(page.text), "token": "guess"})
    assert "Ce jeton de configuration est faux" in r.text


def test_an_admin_made_from_the_shell_ends_the_setup(store: Store) -> None:
    app, token = _app(store)
    client = _client(app)
    assert client.get("/").status_code == 303
    accounts.create_account(store, "root", STRONG, "admin", hasher=FAST)
    assert client.get("/setup", params={"token": token}).status_code == 404
    assert client.get("/").status_code == 404  # no redirect: the usual "no territory yet" page
    assert _setup_log(store) == []  # a void token is not even checked
    assert offer(create_app(store), store) is None  # the next `regie serve` prints no token


def test_a_store_with_a_territory_but_no_admin_needs_only_the_admin(store: Store) -> None:
    territories.create_territory(store, accounts.CLI_ADMIN, territories.territory_from("prats", "Prats"))
    app, token = _app(store)
    client = _client(app)
    page = client.get("/setup", params={"token": token})
    assert 'data-testid="setup-existing"' in page.text and "Prats" in page.text
    r = client.post("/setup", data=_form(client, token, id="", name=""))
    assert r.status_code == 303
    assert [t.id for t in territories.list_territories(store)] == ["prats"]
    r = _client(app).get("/setup")
    assert r.status_code == 404


def test_an_app_built_without_the_offer_has_no_setup_page(store: Store) -> None:
    client = _client(create_app(store))
    assert client.get("/setup").status_code == 404
    assert client.get("/").status_code == 404  # the usual "no territory yet" page, no redirect
