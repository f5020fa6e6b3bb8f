"""Accounts: argon2 hashes, rehash on new parameters, throttling that survives a restart, sessions, CSRF."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from governance_data import FAST, NOW, PASSWORD
from sqlalchemy import select

from regie.governance import accounts, audit
from regie.governance.accounts import AccountError, Role, ThrottlePolicy
from regie.store import open_store
from regie.store.schema import account


def stored_hash(store, username: str) -> str:
    with store.engine.connect() as conn:
        return conn.execute(select(account.c.password_hash).where(account.c.username == username)).scalar_one()


def test_password_is_stored_as_argon2id_never_in_clear(store, people) -> None:
    h = stored_hash(store, "alice")
    assert h.startswith("$argon2id$") and PASSWORD not in h
    assert PASSWORD not in "".join(e.entry.__repr__() for e in audit.entries(store))
    assert accounts.authenticate(store, "alice", PASSWORD, "10.0.0.1", hasher=FAST, now=NOW).ok
    assert not accounts.authenticate(store, "alice", "wrong password!", "10.0.0.1", hasher=FAST, now=NOW).ok


def test_hash_is_upgraded_when_parameters_change(store, people) -> None:
    old = stored_hash(store, "alice")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert accounts.authenticate(store, "alice", PASSWORD, "10.0.0.1", hasher=stronger, now=NOW).ok
    new = stored_hash(store, "alice")
    assert new != old and "m=16,t=2" in new
    assert not stronger.check_needs_rehash(new)


def test_account_rules(store, people) -> None:
    with pytest.raises(AccountError, match="12 to 1024"):
        accounts.create_account(store, "eve", "short", Role.ADMIN, hasher=FAST)
    with pytest.raises(AccountError, match="holder"):
        accounts.create_account(store, "eve", PASSWORD, Role.MEMBER, hasher=FAST)
    with pytest.raises(AccountError, match="no person"):
        accounts.create_account(store, "eve", PASSWORD, Role.MEMBER, holder_id="nobody", hasher=FAST)
    with pytest.raises(AccountError, match="already exists"):
        accounts.create_account(store, "alice", PASSWORD, Role.MEMBER, holder_id="alice", hasher=FAST)
    with pytest.raises(AccountError, match="only an admin"):
        accounts.create_account(store, "eve", PASSWORD, Role.ADMIN, actor=people["alice"], hasher=FAST)
    assert [a.username for a in accounts.list_accounts(store)] == ["admin", "alice", "bob", "dave", "op"]


def test_lockout_after_repeated_failures_survives_a_restart(store, store_url, people) -> None:
    policy = ThrottlePolicy(max_failures=3, base_lock=60, window=900)
    for i in range(3):
        r = accounts.authenticate(
            store, "alice", "not the password", "10.0.0.1", policy=policy, hasher=FAST, now=NOW + i
        )
        assert r.reason == "invalid"
    reopened = open_store(store_url)  # a restart: a new process, the same database
    try:
        r = accounts.authenticate(reopened, "alice", PASSWORD, "10.0.0.9", policy=policy, hasher=FAST, now=NOW + 10)
        assert r.reason == "locked" and r.retry_after > 0  # even the right password waits
        later = NOW + 2 + 61
        assert accounts.authenticate(reopened, "alice", PASSWORD, "10.0.0.9", policy=policy, hasher=FAST, now=later).ok
    finally:
        reopened.close()


def test_lock_doubles_with_each_further_failure(store, people) -> None:
    policy = ThrottlePolicy(max_failures=2, base_lock=60, window=10_000, max_lock=10_000)
    t = NOW
    accounts.authenticate(store, "bob", "not the password", "10.0.0.2", policy=policy, hasher=FAST, now=t)
    waits = []
    for _ in range(3):
        accounts.authenticate(store, "bob", "not the password", "10.0.0.2", policy=policy, hasher=FAST, now=t)
        r = accounts.authenticate(store, "bob", PASSWORD, "10.0.0.2", policy=policy, hasher=FAST, now=t)
        assert r.reason == "locked"
        waits.append(r.retry_after)
        t += r.retry_after  # wait it out, then fail again
    assert waits == [60, 120, 240]


def test_one_address_trying_many_accounts_is_throttled(store, people) -> None:
    policy = ThrottlePolicy(max_failures=100, max_failures_addr=4)
    for i in range(4):
        accounts.authenticate(store, f"user{i}", "guess guess guess", "192.0.2.7", policy=policy, hasher=FAST, now=NOW)
    r = accounts.authenticate(store, "alice", PASSWORD, "192.0.2.7", policy=policy, hasher=FAST, now=NOW)
    assert r.reason == "locked"
    assert accounts.authenticate(store, "alice", PASSWORD, "192.0.2.8", policy=policy, hasher=FAST, now=NOW).ok


def test_disabled_account_cannot_log_in_and_loses_its_sessions(store, people) -> None:
    token = accounts.create_session(store, people["bob"], now=NOW)
    assert accounts.resolve_session(store, token, now=NOW + 1).username == "bob"
    accounts.disable_account(store, "bob", now=NOW + 2)
    assert accounts.resolve_session(store, token, now=NOW + 3) is None
    assert accounts.authenticate(store, "bob", PASSWORD, "10.0.0.1", hasher=FAST, now=NOW + 4).reason == "disabled"
    assert [e.entry["action"] for e in audit.entries(store, kind="account")][-1] == "disabled"


def test_sessions_expire_are_revoked_and_stored_hashed(store, people) -> None:
    token = accounts.create_session(store, people["alice"], ttl=3600, now=NOW)
    with store.engine.connect() as conn:
        assert token not in str(conn.exec_driver_sql("SELECT token_hash FROM web_session").all())
    assert accounts.resolve_session(store, token, now=NOW + 3599).username == "alice"
    assert accounts.resolve_session(store, token, now=NOW + 3600) is None
    other = accounts.create_session(store, people["alice"], now=NOW)
    accounts.revoke_session(store, other, now=NOW + 1)
    assert accounts.resolve_session(store, other, now=NOW + 2) is None
    assert accounts.resolve_session(store, "forged", now=NOW) is None


def test_password_change_ends_sessions(store, people) -> None:
    token = accounts.create_session(store, people["alice"], now=NOW)
    accounts.set_password(store, "alice", "another long password", actor=people["alice"], hasher=FAST, now=NOW + 1)
    assert accounts.resolve_session(store, token, now=NOW + 2) is None
    assert accounts.authenticate(store, "alice", "another long password", "10.0.0.1", hasher=FAST, now=NOW + 3).ok
    with pytest.raises(AccountError):
        accounts.set_password(store, "alice", "bob's new password", actor=people["bob"], hasher=FAST)


def test_csrf_token_is_bound_to_the_session() -> None:
    secret = b"k" * 32
    token = accounts.csrf_token("session-1", secret)
    assert accounts.csrf_ok(token, "session-1", secret)
    assert not accounts.csrf_ok(token, "session-2", secret)
    assert not accounts.csrf_ok(token, "session-1", b"x" * 32)
    assert not accounts.csrf_ok(None, "session-1", secret)
    assert not accounts.csrf_ok("", None, secret)


# ---------------------------------------------------------------- password policy (NIST SP 800-63B §5.1.1.2)


def test_twelve_a_are_refused_even_for_an_admin(store, people) -> None:
    """Issue 18: "a password of twelve `a` is accepted (even for an admin)"."""
    for role, kw in ((Role.ADMIN, {}), (Role.OPERATOR, {"operator_of": "coop"}), (Role.MEMBER, {"holder_id": "eve"})):
        with pytest.raises(accounts.PasswordRejected, match="too common") as caught:
            accounts.create_account(store, f"eve-{role.value}", "a" * 12, role, hasher=FAST, **kw)
        assert caught.value.reason == "common"
    with pytest.raises(accounts.PasswordRejected, match="too common"):
        accounts.set_password(store, "admin", "a" * 12, hasher=FAST)


@pytest.mark.parametrize(
    "password",
    ["password1234", "motdepasse123", "azertyuiop12", "1234567890ab", "qwertyuiop[]", "dave-dave-dave", "regieregie12"],
)
def test_common_and_predictable_passwords_are_refused_for_everyone(store, people, password: str) -> None:
    """From zxcvbn's list of the most common passwords (French ones included), sequences, keyboard walks,
    repeats, and the account's own name or the service's."""
    with pytest.raises(accounts.PasswordRejected) as caught:
        accounts.set_password(store, "dave", password, hasher=FAST)
    assert caught.value.reason == "common"


def test_admins_and_operators_need_a_strong_password(store, people) -> None:
    """Not in any list, yet guessable: fine for a member, not for an account that opens other people's data."""
    accounts.set_password(store, "dave", "sunshine2024!", hasher=FAST)
    for who in ("admin", "op"):
        with pytest.raises(accounts.PasswordRejected, match="score 3") as caught:
            accounts.set_password(store, who, "sunshine2024!", hasher=FAST)
        assert (caught.value.reason, caught.value.params["needed"]) == ("weak", accounts.STRONG_SCORE)
        accounts.set_password(store, who, "hydro barrage pommier", hasher=FAST)


def test_no_composition_rule_and_generated_passwords_pass(store, people) -> None:
    """NIST: no "one digit, one capital" rules; a long phrase passes, and so do the demo's drawn passwords."""
    import secrets

    accounts.set_password(store, "admin", "correct horse battery staple", hasher=FAST)
    for _ in range(20):
        accounts.set_password(store, "admin", secrets.token_urlsafe(12), hasher=FAST)  # as regie.demo draws them
    with pytest.raises(accounts.PasswordRejected, match="12 to 1024"):
        accounts.set_password(store, "admin", "x" * 1025, hasher=FAST)


def test_an_unknown_user_is_checked_against_a_real_argon2_hash_that_no_password_matches() -> None:
    """The stand-in hash for an unknown user is made without hashing (no 64 MiB at import) but must cost a real
    check with the hasher's parameters and match nothing."""
    from argon2.exceptions import VerifyMismatchError

    for hasher in (FAST, PasswordHasher()):
        fake = accounts.unmatchable_hash(hasher)
        assert not hasher.check_needs_rehash(fake)  # the hasher's own parameters: the same work as a real hash
        assert fake != accounts.unmatchable_hash(hasher)
        for guess in ("", PASSWORD, "x"):
            with pytest.raises(VerifyMismatchError):
                hasher.verify(fake, guess)
