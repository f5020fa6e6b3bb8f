"""Login, logout, cookies, CSRF, throttling and API keys of the web face (``regie.web.auth``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient
from governance_world import PASSWORD, World, build_world

from regie.config import Settings
from regie.governance import accounts
from regie.store import open_store
from regie.web import auth


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'auth.sqlite'}")
    yield build_world(store)
    store.close()


def client_for(world: World, base_url: str = "http://testserver", **state) -> TestClient:
    app = world.app()
    for k, v in state.items():
        setattr(app.state, k, v)
    return TestClient(app, base_url=base_url, follow_redirects=False)


def login_token(client: TestClient, path: str = "/login") -> str:
    r = client.get(path)
    assert r.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


def set_cookie_headers(response) -> dict[str, SimpleCookie]:
    out = {}
    for header in response.headers.get_list("set-cookie"):
        c = SimpleCookie()
        c.load(header)
        for name in c:
            out[name] = c
    return out


def log_in(client: TestClient, username: str, password: str = PASSWORD, next_path: str = ""):
    token = login_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": next_path}
    )


def test_login_over_http_sets_an_httponly_lax_cookie_and_lands_on_the_home_page(world: World) -> None:
    client = client_for(world)
    r = log_in(client, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/me"
    cookies = set_cookie_headers(r)
    morsel = cookies[auth.PLAIN_COOKIE][auth.PLAIN_COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax" and morsel["path"] == "/"
    assert not morsel["secure"], "over plain http a Secure cookie would never come back"
    assert client.get("/me").status_code == 200
    assert client.get("/api/me").json()["username"] == "alice"
    assert log_in(client_for(world), "op").headers["location"] == "/operator"
    assert log_in(client_for(world), "admin").headers["location"] == "/admin"


def test_login_over_https_uses_a_host_prefixed_secure_cookie(world: World) -> None:
    client = client_for(world, base_url="https://testserver")
    r = log_in(client, "alice")
    assert r.status_code == 303
    cookies = set_cookie_headers(r)
    assert auth.PLAIN_COOKIE not in cookies
    morsel = cookies[auth.SECURE_COOKIE][auth.SECURE_COOKIE]
    assert morsel["secure"] and morsel["httponly"] and morsel["path"] == "/" and not morsel["domain"]
    assert client.get("/api/me").status_code == 200


def test_configured_secure_cookies_ignore_a_plain_cookie(world: World) -> None:
    client = client_for(world, settings=Settings.defaults(cookie_secure=True))
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions["alice"])
    assert client.get("/api/me").status_code == 401
    client.cookies.clear()
    client.cookies.set(auth.SECURE_COOKIE, world.sessions["alice"])
    assert client.get("/api/me").status_code == 200


def test_login_needs_the_forms_csrf_token(world: World) -> None:
    client = client_for(world)
    login_token(client)
    r = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "regie_session" not in r.headers.get("set-cookie", "")


def test_wrong_password_then_lockout(world: World) -> None:
    client = client_for(world)
    r = log_in(client, "alice", "not the password at all")
    assert r.status_code == 401
    assert 'data-testid="login-problem"' in r.text
    for _ in range(accounts.ThrottlePolicy().max_failures - 1):
        log_in(client, "alice", "not the password at all")
    r = log_in(client, "alice")  # the right password, but the account is locked now
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "regie_session" not in r.headers.get("set-cookie", "")


def test_unknown_user_reads_like_a_wrong_password(world: World) -> None:
    a = log_in(client_for(world), "nobody", "whatever password")
    b = log_in(client_for(world), "alice", "whatever password")
    assert a.status_code == b.status_code == 401
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", a.text) == strip.sub("", b.text).replace("alice", "nobody")


def test_logout_revokes_the_session_in_the_store(world: World) -> None:
    client = client_for(world)
    log_in(client, "bob")
    token = client.cookies.get(auth.PLAIN_COOKIE)
    page = client.get("/me")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/logout", data={}).status_code == 403  # no CSRF token
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert accounts.resolve_session(world.store, token) is None
    replay = client_for(world)
    replay.cookies.set(auth.PLAIN_COOKIE, token)
    assert replay.get("/api/me").status_code == 401


def test_a_new_session_on_every_login(world: World) -> None:
    client = client_for(world)
    client.cookies.set(auth.PLAIN_COOKIE, "chosen-by-an-attacker")
    r = log_in(client, "alice")
    fresh = set_cookie_headers(r)[auth.PLAIN_COOKIE][auth.PLAIN_COOKIE].value
    assert fresh != "chosen-by-an-attacker"
    assert accounts.resolve_session(world.store, fresh).username == "alice"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_no_open_redirect_after_login(world: World, target: str) -> None:
    assert log_in(client_for(world), "alice", next_path=target).headers["location"] == "/me"


def test_login_comes_back_to_the_page_asked_for(world: World) -> None:
    client = client_for(world)
    r = client.get("/me?granularity=P1M")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/me%3Fgranularity%3DP1M"
    next_path = "/me?granularity=P1M"
    assert log_in(client, "alice", next_path=next_path).headers["location"] == next_path


def test_a_disabled_account_loses_its_session_and_its_keys(world: World) -> None:
    client = client_for(world)
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions["alice"])
    assert client.get("/api/me").status_code == 200
    accounts.disable_account(world.store, "alice")
    assert client.get("/api/me").status_code == 401
    keyed = client_for(world)
    r = keyed.get("/api/me", headers={"Authorization": f"Bearer {world.keys['alice-key']}"})
    assert r.status_code == 401


def test_an_invalid_api_key_is_refused_not_downgraded_to_public(world: World) -> None:
    r = client_for(world).get("/api/me", headers={"Authorization": "Bearer " + "0" * 32})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_an_api_key_acts_as_its_owner_without_csrf(world: World) -> None:
    client = client_for(world)
    headers = {"Authorization": f"Bearer {world.keys['alice-key']}"}
    assert (
        client.get("/api/me", headers=headers).json() | {"via": "api_key"}
        == client.get("/api/me", headers=headers).json()
    )
    r = client.post(f"/api/me/grants/{world.grant_id}/withdraw", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_a_session_json_post_needs_the_csrf_header(world: World) -> None:
    client = client_for(world)
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions["alice"])
    assert client.post(f"/api/me/grants/{world.grant_id}/withdraw").status_code == 403
    r = client.post(f"/api/me/grants/{world.grant_id}/withdraw", headers={"X-CSRF-Token": world.csrf("alice")})
    assert r.status_code == 200


def test_neither_passwords_nor_tokens_reach_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(world)
    log_in(client, "alice", "a wrong password 123")
    log_in(client, "alice")
    token = client.cookies.get(auth.PLAIN_COOKIE)
    client.get("/api/me", headers={"Authorization": f"Bearer {world.keys['alice-key']}"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (PASSWORD, "a wrong password 123", token, world.keys["alice-key"]):
        assert secret not in text


def test_safe_next() -> None:
    assert auth.safe_next("/me?x=1") == "/me?x=1"
    assert auth.safe_next(None) == "/me"
    assert auth.safe_next("//x", "/admin") == "/admin"


def test_regie_key_add_owner_makes_a_personal_key(world: World, tmp_path) -> None:
    from typer.testing import CliRunner

    from regie.cli import app

    url = str(world.store.engine.url)
    runner = CliRunner()
    refused = runner.invoke(app, ["key", "add", "x", "--owner", "nobody", "--database-url", url])
    assert refused.exit_code != 0 and "no account" in refused.output
    done = runner.invoke(
        app, ["key", "add", "bob's script", "--scope", "read", "--owner", "bob", "--database-url", url]
    )
    assert done.exit_code == 0, done.output
    secret = done.output.strip().splitlines()[-1]
    r = client_for(world).get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.json()["username"] == "bob" and r.json()["via"] == "api_key"
