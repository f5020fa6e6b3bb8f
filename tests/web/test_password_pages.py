"""Changing one's password on the web: the policy's refusals said in French and English, the current
password checked, every other session ended (issue 18: "a password of twelve `a` is accepted")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from governance_world import PASSWORD, World
from test_account_pages import as_, world  # noqa: F401 (the fixture)

from regie.governance import accounts


def _change(client: TestClient, world: World, who: str, new: str, current: str = PASSWORD, again: str | None = None):  # noqa: F811
    form = {"current": current, "new": new, "again": new if again is None else again, "csrf_token": world.csrf(who)}
    return client.post("/me/password", data=form)


@pytest.mark.parametrize(
    ("lang", "said"), [("fr", "trop courant ou trop facile à deviner"), ("en", "too common or too easy to guess")]
)
def test_twelve_a_are_refused_for_an_admin_in_the_visitors_language(world: World, lang: str, said: str) -> None:  # noqa: F811
    r = _change(as_(world, "admin", lang), world, "admin", "a" * 12)
    assert r.status_code == 400 and said in r.text
    hasher = world.app().state.password_hasher
    assert accounts.authenticate(world.store, "admin", PASSWORD, "127.0.0.1", hasher=hasher).ok  # unchanged


def test_an_operator_needs_a_strong_password(world: World) -> None:  # noqa: F811
    r = _change(as_(world, "op", "en"), world, "op", "sunshine2024!")
    assert r.status_code == 400 and "strength 2 out of 4, 3 needed" in r.text
    r = _change(as_(world, "op", "fr"), world, "op", "sunshine2024!")
    assert "robustesse 2 sur 4, 3 exigée" in r.text


def test_the_current_password_and_the_confirmation_are_checked(world: World) -> None:  # noqa: F811
    client = as_(world, "alice", "en")
    assert "current password is wrong" in _change(client, world, "alice", "hydro barrage pommier", "guess").text
    assert "passwords differ" in _change(client, world, "alice", "hydro barrage pommier", again="other").text
    no_csrf = {"current": PASSWORD, "new": "x" * 20, "again": "x" * 20}
    assert client.post("/me/password", data=no_csrf).status_code == 403


def test_a_change_ends_other_sessions_and_keeps_this_one(world: World) -> None:  # noqa: F811
    client = as_(world, "alice", "en")
    other = as_(world, "alice", "en")
    r = _change(client, world, "alice", "hydro barrage pommier")
    assert r.status_code == 303 and r.headers["location"] == "/me/password?done=1"
    assert "password is changed" in client.get("/me/password?done=1").text  # the new session cookie works
    assert other.get("/api/me").status_code == 401  # the old session is gone
    hasher = world.app().state.password_hasher
    assert accounts.authenticate(world.store, "alice", "hydro barrage pommier", "127.0.0.1", hasher=hasher).ok
