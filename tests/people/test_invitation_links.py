"""Invitations and reset links in the store, on SQLite and PostgreSQL: one-time, expiring, stored as hashes,
the invited account unusable until its link is used, a reset answering nothing about unknown addresses."""

from __future__ import annotations

import hashlib
import time

import pytest
from people_world import ADMIN_PASSWORD, FAST, NEW_PASSWORD, World
from sqlalchemy import select

from regie.governance import accounts, consent, invitations
from regie.governance.accounts import CLI_ADMIN, Role
from regie.governance.one_time import LinkProblem, TokenError
from regie.store.schema import account, account_token

NOW = int(time.time())


def _invite_alice(world: World, **kw) -> invitations.Invitation:
    return invitations.invite(world.store, CLI_ADMIN, email="Alice@Example.org", role="member", holder_id="alice", **kw)


def test_an_invited_account_cannot_log_in_until_its_link_is_used(world: World) -> None:
    inv = _invite_alice(world, now=NOW)
    assert inv.account.username == "alice" and inv.account.email == "alice@example.org"
    assert inv.path == f"/invite/{inv.token}" and len(inv.token) >= 43  # 256 bits, URL-safe Base64
    assert inv.expires_at == NOW + 7 * 86400
    for guess in ("", "!invited", ADMIN_PASSWORD):
        assert accounts.authenticate(world.store, "alice", guess, "127.0.0.1", hasher=FAST).reason == "invalid"
    assert [a.username for a, _ in invitations.pending_invitations(world.store)] == ["alice"]
    got = invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD, hasher=FAST, now=NOW + 60)
    assert got.username == "alice"
    assert accounts.authenticate(world.store, "alice", NEW_PASSWORD, "127.0.0.1", hasher=FAST).ok
    assert invitations.pending_invitations(world.store) == []


def test_only_the_hash_of_a_link_is_stored(world: World) -> None:
    inv = _invite_alice(world)
    with world.store.engine.connect() as conn:
        rows = conn.execute(select(account_token)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(inv.token.encode()).hexdigest()]
    assert rows[0].purpose == "invite" and rows[0].created_by == "cli"
    assert inv.token not in repr(inv) and inv.token not in repr(rows)


def test_a_used_expired_or_unknown_link_says_so(world: World) -> None:
    inv = _invite_alice(world, now=NOW)
    with pytest.raises(TokenError) as unknown:
        invitations.check_invitation(world.store, inv.token[:-2] + "xx")
    assert unknown.value.problem is LinkProblem.UNKNOWN
    with pytest.raises(TokenError) as expired:
        invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD, hasher=FAST, now=NOW + 7 * 86400)
    assert expired.value.problem is LinkProblem.EXPIRED
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD, hasher=FAST, now=NOW + 7 * 86400 - 1)
    with pytest.raises(TokenError) as used:
        invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD + " bis", hasher=FAST, now=NOW + 10)
    assert used.value.problem is LinkProblem.USED
    assert accounts.authenticate(world.store, "alice", NEW_PASSWORD, "127.0.0.1", hasher=FAST).ok  # unchanged


def test_a_refused_password_leaves_the_link_usable(world: World) -> None:
    inv = _invite_alice(world)
    with pytest.raises(accounts.PasswordRejected):
        invitations.accept_invitation(world.store, inv.token, "a" * 12, hasher=FAST)
    with pytest.raises(accounts.PasswordRejected):
        invitations.accept_invitation(world.store, inv.token, "alice@example.org", hasher=FAST)  # its own address
    invitations.check_invitation(world.store, inv.token)  # still valid
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD, hasher=FAST)


def test_inviting_again_replaces_the_link_and_an_active_address_is_refused(world: World) -> None:
    first = _invite_alice(world)
    second = _invite_alice(world)
    assert second.account.id == first.account.id
    with pytest.raises(TokenError) as replaced:
        invitations.check_invitation(world.store, first.token)
    assert replaced.value.problem is LinkProblem.USED
    with pytest.raises(invitations.InvitationError, match="already invited as 'alice'"):
        invitations.invite(world.store, CLI_ADMIN, email="alice@example.org", role="operator", operator_of="coop")
    invitations.accept_invitation(world.store, second.token, NEW_PASSWORD, hasher=FAST)
    with pytest.raises(invitations.InvitationError, match="already has the account 'alice'"):
        _invite_alice(world)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"email": "alice", "role": "member", "holder_id": "alice"}, "not an e-mail address"),
        ({"email": "a b@example.org", "role": "member", "holder_id": "alice"}, "not an e-mail address"),
        ({"email": "x@example.org", "role": "member"}, "needs --holder"),
        ({"email": "x@example.org", "role": "member", "holder_id": "nobody"}, "no person or organisation 'nobody'"),
        ({"email": "x@example.org", "role": "operator"}, "needs --operator-of"),
        ({"email": "x@example.org", "role": "public"}, "the public has no account"),
        ({"email": "x@example.org", "role": "king"}, "'king' is not a valid Role"),
    ],
)
def test_bad_invitations_say_why_and_create_nothing(world: World, kw: dict, message: str) -> None:
    before = accounts.list_accounts(world.store)
    with pytest.raises(ValueError, match=message):
        invitations.invite(world.store, CLI_ADMIN, **kw)
    assert accounts.list_accounts(world.store) == before


def test_only_an_admin_invites(world: World) -> None:
    op = accounts.get_account(world.store, "op")
    with pytest.raises(invitations.InvitationError, match="only an admin"):
        invitations.invite(world.store, op, email="x@example.org", role="operator", operator_of="coop")


def test_usernames_are_made_from_the_address_and_kept_unique(world: World) -> None:
    a = invitations.invite(world.store, CLI_ADMIN, email="Op@coop.example", role="operator", operator_of="coop")
    b = invitations.invite(world.store, CLI_ADMIN, email="op@other.example", role="operator", operator_of="coop")
    c = invitations.invite(world.store, CLI_ADMIN, email="jean+régie@x.example", role="operator", operator_of="c")
    assert (a.account.username, b.account.username, c.account.username) == ("op-2", "op-3", "jean.r.gie")


def test_the_invited_member_answers_the_consents_asked_of_them(world: World) -> None:
    inv = _invite_alice(world)
    alice = inv.account
    (asked,) = invitations.requested_grants(world.store, alice)
    assert asked.id == world.request_id and asked.recipient_id == "coop"
    choices = {asked.id: "accept", "forged": "accept"}
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD, choices=choices, hasher=FAST)
    assert consent.get_grant(world.store, asked.id).status is consent.Status.GIVEN
    assert invitations.requested_grants(world.store, alice) == []


def test_leaving_a_consent_for_later_keeps_it_requested(world: World) -> None:
    inv = _invite_alice(world)
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD, choices={world.request_id: "later"},
                                  hasher=FAST)  # fmt: skip
    assert consent.get_grant(world.store, world.request_id).status is consent.Status.REQUESTED


def test_a_reset_link_lasts_an_hour_sets_the_password_and_ends_every_session(world: World) -> None:
    admin = accounts.get_account(world.store, "admin")
    with world.store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(account.update().where(account.c.username == "admin").values(email="admin@vallee.example"))
    session = accounts.create_session(world.store, admin)
    (reset,) = invitations.request_reset(world.store, " ADMIN@vallee.example ", now=NOW)
    assert reset.path.startswith("/reset/") and reset.expires_at == NOW + 3600
    with pytest.raises(TokenError) as late:
        invitations.reset_password(world.store, reset.token, NEW_PASSWORD, hasher=FAST, now=NOW + 3600)
    assert late.value.problem is LinkProblem.EXPIRED
    invitations.reset_password(world.store, reset.token, NEW_PASSWORD, hasher=FAST, now=NOW + 3599)
    assert accounts.resolve_session(world.store, session) is None
    assert accounts.authenticate(world.store, "admin", NEW_PASSWORD, "127.0.0.1", hasher=FAST).ok
    assert not accounts.authenticate(world.store, "admin", ADMIN_PASSWORD, "127.0.0.2", hasher=FAST).ok
    with pytest.raises(TokenError):
        invitations.reset_password(world.store, reset.token, NEW_PASSWORD + " encore", hasher=FAST, now=NOW + 3599)


def test_a_reset_for_an_unknown_or_malformed_address_makes_nothing(world: World) -> None:
    assert invitations.request_reset(world.store, "nobody@example.org") == []
    assert invitations.request_reset(world.store, "not an address") == []
    with world.store.engine.connect() as conn:
        assert conn.execute(select(account_token)).all() == []


def test_a_newer_reset_link_replaces_the_older_and_a_disabled_account_gets_none(world: World) -> None:
    first = invitations.reset_link(world.store, CLI_ADMIN, "op")
    second = invitations.reset_link(world.store, CLI_ADMIN, "op")
    with pytest.raises(TokenError):
        invitations.check_reset(world.store, first.token)
    assert invitations.check_reset(world.store, second.token).username == "op"
    accounts.disable_account(world.store, "op")
    with pytest.raises(TokenError) as disabled:
        invitations.check_reset(world.store, second.token)
    assert disabled.value.problem is LinkProblem.DISABLED
    with pytest.raises(invitations.InvitationError, match="disabled"):
        invitations.reset_link(world.store, CLI_ADMIN, "op")
    with pytest.raises(invitations.InvitationError, match="only an admin"):
        invitations.reset_link(world.store, accounts.Account(99, "x", Role.MEMBER), "admin")


def test_setting_a_password_by_one_link_spends_the_others(world: World) -> None:
    inv = _invite_alice(world)
    reset = invitations.reset_link(world.store, CLI_ADMIN, "alice")  # the invitation mail got lost
    invitations.reset_password(world.store, reset.token, NEW_PASSWORD, hasher=FAST)
    with pytest.raises(TokenError) as spent:
        invitations.check_invitation(world.store, inv.token)
    assert spent.value.problem is LinkProblem.USED
    assert invitations.pending_invitations(world.store) == []
