"""Invitation and reset mails through a real SMTP server on loopback (aiosmtpd): what they say in French and
English, the link they carry works, an unknown address gets nothing, a server that refuses leaves the admin
with the link to hand over; the same from the CLI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from people_world import (
    FAST,
    NEW_PASSWORD,
    SECRET,
    Mailbox,
    World,
    app_for,
    body,
    form_token,
    free_port,
    link_in,
    session_of,
    subject,
)
from typer.testing import CliRunner

from regie.cli import app as cli
from regie.config import Settings
from regie.governance import accounts, invitations
from regie.governance.accounts import CLI_ADMIN


@pytest.fixture
def sqlite_world(tmp_path) -> World:
    from people_world import build_world

    from regie.store import open_store

    return build_world(open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}"))


@pytest.mark.parametrize(
    ("lang", "title", "says"),
    [("fr", "Votre compte sur la régie de données", "choisir votre mot de passe"),
     ("en", "Your account on the energy-data trust", "To choose your password")],
)
def test_an_invitation_mail_in_the_chosen_language_carries_a_working_link(
    sqlite_world: World, smtp: Mailbox, lang: str, title: str, says: str
) -> None:
    world = sqlite_world
    client = TestClient(app_for(world, smtp.settings()), follow_redirects=False)
    session = session_of(world.store, "admin")
    client.cookies.set("regie_session", session)
    form = {"csrf_token": accounts.csrf_token(session, SECRET), "role": "member", "holder": "alice", "lang": lang}
    r = client.post("/admin/people/invite?lang=en", data=form)
    assert r.status_code == 200 and "The link was sent by e-mail" in r.text and "/invite/" not in r.text
    mail = smtp.wait_for("alice@example.org")
    assert subject(mail) == title and mail["From"] == "regie@vallee.example"
    text = body(mail)
    assert says in text and "alice" in text
    link = link_in(mail, "invite")
    assert link.startswith("http://testserver/invite/")
    acct, _ = invitations.check_invitation(world.store, link.rsplit("/", 1)[1])
    assert acct.username == "alice"


def test_the_forgot_form_mails_a_known_address_only(sqlite_world: World, smtp: Mailbox) -> None:
    world = sqlite_world
    invitations.set_email(world.store, CLI_ADMIN, "op", "pmo@coop.example")
    # an https public URL makes cookies Secure: the client speaks https too
    client = TestClient(app_for(world, smtp.settings(public_url="https://regie.vallee.example")),
                        base_url="https://testserver")  # fmt: skip
    for email in ("nobody@coop.example", "PMO@coop.example"):
        page = client.get("/password/forgot?lang=en")
        client.post("/password/forgot", data={"csrf_token": form_token(page.text), "email": email})
    mail = smtp.wait_for("pmo@coop.example")
    assert [m["To"] for m in smtp.messages] == ["pmo@coop.example"]  # nothing to the unknown address
    assert subject(mail) == "New password for the energy-data trust" and "\"op\"" in body(mail)
    link = link_in(mail, "reset")
    assert link.startswith("https://regie.vallee.example/reset/")  # the public URL, not the request's host
    path = link.removeprefix("https://regie.vallee.example")
    page = client.get(path)
    r = client.post(path, data={"csrf_token": form_token(page.text), "new": NEW_PASSWORD + " x",
                                "again": NEW_PASSWORD + " x"})  # fmt: skip
    assert r.status_code == 200
    assert accounts.authenticate(world.store, "op", NEW_PASSWORD + " x", "::1", hasher=FAST).ok


def test_a_server_that_cannot_be_reached_leaves_the_link_to_hand_over(sqlite_world: World) -> None:
    settings = Settings.defaults(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    inv = invitations.invite(sqlite_world.store, CLI_ADMIN, email="bob@example.org", role="member", holder_id="bob")
    delivery = invitations.deliver(settings, inv, "http://regie.test", "fr")
    assert not delivery.mailed and delivery.link == f"http://regie.test{inv.path}"
    assert "ConnectionRefusedError" in (delivery.problem or "")
    assert inv.token not in repr(delivery)


def test_the_cli_invites_and_prints_the_link_without_smtp(tmp_path, monkeypatch) -> None:
    from people_world import build_world

    from regie.store import open_store

    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    build_world(open_store(url)).store.close()
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    monkeypatch.setenv("REGIE_PUBLIC_URL", "https://regie.vallee.example")
    r = CliRunner().invoke(cli, ["user", "invite", "--email", "pmo@coop.example", "--role", "operator",
                                 "--operator-of", "coop"])  # fmt: skip
    assert r.exit_code == 0, r.output
    link = r.output.strip().splitlines()[-1]
    assert link.startswith("https://regie.vallee.example/invite/") and "no SMTP server" in r.output
    store = open_store(url)
    assert invitations.check_invitation(store, link.rsplit("/", 1)[1])[0].username == "pmo"
    store.close()
    r = CliRunner().invoke(cli, ["user", "invite", "--email", "x@coop.example", "--role", "operator"])
    assert r.exit_code == 2 and "needs --operator-of" in r.output
    r = CliRunner().invoke(cli, ["user", "reset-link", "op", "--base-url", "http://10.0.0.5:8000/"])
    assert r.exit_code == 0 and r.output.strip().splitlines()[-1].startswith("http://10.0.0.5:8000/reset/")
    assert CliRunner().invoke(cli, ["user", "email", "op", "not-an-address"]).exit_code == 2
    assert CliRunner().invoke(cli, ["user", "email", "op", "pmo2@coop.example"]).exit_code == 0
    assert CliRunner().invoke(cli, ["user", "two-factor-off", "nobody"]).exit_code == 2
    assert CliRunner().invoke(cli, ["user", "two-factor-off", "op"]).exit_code == 0


def test_the_cli_mails_through_smtp(tmp_path, monkeypatch, smtp: Mailbox) -> None:
    from people_world import build_world

    from regie.store import open_store

    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    build_world(open_store(url)).store.close()
    for key, value in {"DATABASE_URL": url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
                       "SMTP_SECURITY": "none", "PUBLIC_URL": "https://regie.vallee.example"}.items():  # fmt: skip
        monkeypatch.setenv(f"REGIE_{key}", value)
    r = CliRunner().invoke(cli, ["user", "invite", "--email", "bob@example.org", "--holder", "bob", "--lang", "en"])
    assert r.exit_code == 0 and "sent by e-mail" in r.output and "/invite/" not in r.output
    assert link_in(smtp.wait_for("bob@example.org"), "invite").startswith("https://regie.vallee.example/invite/")
