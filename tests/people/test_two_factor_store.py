"""Two-factor authentication in the store, on SQLite and PostgreSQL: enrolment confirmed by a first code, the
secret kept sealed, a code never accepted twice, recovery codes each once, wrong codes throttled, every
change in the access log, and nothing left after an erasure."""

from __future__ import annotations

import pyotp
import pytest
from people_world import FAST, NEW_PASSWORD, SECRET, World
from sqlalchemy import select

from regie.governance import accounts, audit, invitations, rights, two_factor
from regie.governance.accounts import CLI_ADMIN, Role, ThrottlePolicy
from regie.governance.two_factor import TwoFactorError
from regie.store.schema import account, account_token, login_throttle, recovery_code

T = 1_800_000_000  # a fixed instant, on a step boundary (T % 30 == 0)


def _enrol(world: World, username: str = "op", at: int = T) -> tuple[pyotp.TOTP, list[str]]:
    acct = accounts.get_account(world.store, username)
    enrolment = two_factor.begin_enrolment(world.store, acct, SECRET)
    app = pyotp.parse_uri(enrolment.uri)
    codes = two_factor.confirm_enrolment(world.store, acct, SECRET, app.at(at), now=at)
    assert codes is not None
    return app, codes


def _check(world: World, code: str, at: int, username: str = "op", addr: str = "192.0.2.1", **kw):
    acct = accounts.get_account(world.store, username)
    return two_factor.check_code(world.store, acct, SECRET, code, addr, now=at, **kw)


def test_enrolment_needs_a_first_right_code_and_keeps_the_secret_sealed(world: World) -> None:
    op = accounts.get_account(world.store, "op")
    enrolment = two_factor.begin_enrolment(world.store, op, SECRET)
    assert two_factor.begin_enrolment(world.store, op, SECRET).secret == enrolment.secret  # a reload: same QR
    assert enrolment.uri.startswith("otpauth://totp/regie:op?") and enrolment.qr.startswith("<svg")
    with world.store.engine.connect() as conn:
        stored = conn.execute(select(account.c.totp_secret).where(account.c.username == "op")).scalar_one()
    assert stored.startswith("v1:") and enrolment.secret not in stored
    app = pyotp.TOTP(enrolment.secret)
    assert two_factor.confirm_enrolment(world.store, op, SECRET, app.at(T + 90), now=T) is None  # 3 steps ahead
    assert not accounts.get_account(world.store, "op").two_factor
    codes = two_factor.confirm_enrolment(world.store, op, SECRET, app.at(T), now=T)
    assert codes is not None and len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)  # XXXX-XXXX-XXXX-XXXX, 80 bits
    assert accounts.get_account(world.store, "op").two_factor
    with world.store.engine.connect() as conn:
        hashes = {r.code_hash for r in conn.execute(select(recovery_code))}
    assert len(hashes) == 10 and not any(c in h or c.replace("-", "") in h for c in codes for h in hashes)
    with pytest.raises(TwoFactorError, match="already on"):
        two_factor.begin_enrolment(world.store, op, SECRET)


def test_a_code_is_accepted_once_and_never_an_earlier_one_after_it(world: World) -> None:
    app, _ = _enrol(world, at=T)
    assert not _check(world, app.at(T), T + 5).ok  # the enrolment's own code, replayed in its window
    assert _check(world, app.at(T + 30), T + 31).ok
    assert _check(world, app.at(T + 30), T + 32).reason == "invalid"  # replay
    assert _check(world, app.at(T + 60), T + 45).ok  # the next step, one step early: within the drift
    assert not _check(world, app.at(T + 30), T + 50).ok  # an earlier step than the last one accepted
    assert not _check(world, app.at(T + 150), T + 100).ok  # two steps ahead: out of the drift
    assert _check(world, app.at(T + 90), T + 100).ok  # one step behind: within the drift


def test_a_recovery_code_works_once_however_it_is_typed(world: World) -> None:
    _, codes = _enrol(world)
    typed = codes[0].replace("-", " ").lower()
    first = _check(world, typed, T + 10)
    assert first.ok and first.how == "recovery"
    assert not _check(world, codes[0], T + 11).ok
    assert two_factor.recovery_left(world.store, accounts.get_account(world.store, "op")) == 9
    assert _check(world, codes[1], T + 12).ok
    actions = [e.entry["action"] for e in audit.entries(world.store, kind="account")]
    assert actions.count("recovery_code_used") == 2 and "two_factor_enabled" in actions


def test_wrong_codes_are_throttled_like_passwords(world: World) -> None:
    app, _ = _enrol(world)
    policy = ThrottlePolicy(max_failures=3, base_lock=60)
    wrong = next(c for c in ("000000", "111111") if c not in (app.at(T), app.at(T + 30), app.at(T + 60)))
    for i in range(3):
        assert _check(world, wrong, T + 30 + i, policy=policy).reason == "invalid"
    locked = _check(world, app.at(T + 40), T + 40, policy=policy)
    assert locked.reason == "locked" and locked.retry_after > 0  # even the right code waits
    assert _check(world, app.at(T + 120), T + 120, policy=policy).ok  # after the lock


def test_new_recovery_codes_replace_the_old_and_turning_off_deletes_everything(world: World) -> None:
    _, old = _enrol(world)
    op = accounts.get_account(world.store, "op")
    new = two_factor.new_recovery_codes(world.store, op)
    assert not _check(world, old[0], T + 10).ok and _check(world, new[0], T + 11).ok
    with pytest.raises(TwoFactorError, match="only the account itself or an admin"):
        two_factor.disable(world.store, op, accounts.Account(50, "mallory", Role.MEMBER))
    two_factor.disable(world.store, op, CLI_ADMIN)
    assert not accounts.get_account(world.store, "op").two_factor
    with world.store.engine.connect() as conn:
        assert conn.execute(select(recovery_code)).all() == []
        assert conn.execute(select(account.c.totp_secret).where(account.c.username == "op")).scalar_one() is None
    actions = [e.entry["action"] for e in audit.entries(world.store, kind="account")]
    assert actions[-3:] == ["recovery_codes_renewed", "recovery_code_used", "two_factor_disabled"]


def test_a_secret_sealed_under_another_secret_file_says_what_to_do(world: World) -> None:
    app, _ = _enrol(world)
    op = accounts.get_account(world.store, "op")
    with pytest.raises(TwoFactorError, match="regie user two-factor-off"):
        two_factor.check_code(world.store, op, b"another secret file, 32 bytes!!", app.at(T + 30), "::1", now=T + 30)


@pytest.mark.parametrize(
    ("setting", "admin", "operator", "member"),
    [("none", False, False, False), ("admins_operators", True, True, False), ("all", True, True, True)],
)
def test_who_must_use_a_second_factor(setting: str, admin: bool, operator: bool, member: bool) -> None:
    roles = (Role.ADMIN, Role.OPERATOR, Role.MEMBER)
    assert [two_factor.required(setting, r) for r in roles] == [admin, operator, member]


def test_login_step_follows_the_account_and_the_setting(world: World) -> None:
    op = accounts.get_account(world.store, "op")
    assert two_factor.login_step(op, "none") is None
    assert two_factor.login_step(op, "admins_operators") == "enrol"
    _enrol(world)
    assert two_factor.login_step(accounts.get_account(world.store, "op"), "none") == "code"
    token = two_factor.begin_login(world.store, op, "code", now=T)
    assert two_factor.pending_login(world.store, token, "enrol", now=T) is None  # another step's token
    assert two_factor.pending_login(world.store, token, "code", now=T + two_factor.LOGIN_STEP_TTL) is None
    assert two_factor.pending_login(world.store, token, "code", now=T + 5).username == "op"
    assert two_factor.finish_login(world.store, token, "code", now=T + 5)
    assert not two_factor.finish_login(world.store, token, "code", now=T + 6)


def test_erasure_deletes_the_links_and_recovery_codes_of_the_erased_accounts(world: World) -> None:
    inv = invitations.invite(world.store, CLI_ADMIN, email="alice@example.org", role="member", holder_id="alice")
    invitations.accept_invitation(world.store, inv.token, NEW_PASSWORD)
    _enrol(world, "alice")
    invitations.reset_link(world.store, CLI_ADMIN, "alice")
    _enrol(world, "op")
    alice_id = inv.account.id
    assert _check(world, "abcdef", T + 40, username="alice").reason == "invalid"  # a counter naming her
    with world.store.engine.connect() as conn:
        assert conn.execute(select(login_throttle).where(login_throttle.c.key == "second-factor:alice")).all()
        assert conn.execute(select(account_token).where(account_token.c.account_id == alice_id)).all()
        assert len(conn.execute(select(recovery_code).where(recovery_code.c.account_id == alice_id)).all()) == 10
    rights.erase_member(world.store, CLI_ADMIN, "alice")
    with world.store.engine.connect() as conn:
        assert conn.execute(select(account_token).where(account_token.c.account_id == alice_id)).all() == []
        assert conn.execute(select(recovery_code).where(recovery_code.c.account_id == alice_id)).all() == []
        assert [r.key for r in conn.execute(select(login_throttle)) if "alice" in r.key] == []
        # the operator's, who was not erased, stay
        assert len(conn.execute(select(recovery_code)).all()) == 10
    assert accounts.get_account(world.store, "alice") is None


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(world: World) -> None:
    """Someone who knows the password logs in again and again to get fresh guesses at the code: refused."""
    app, _ = _enrol(world)
    policy = ThrottlePolicy(max_failures=3, base_lock=600)
    wrong = next(c for c in ("000000", "111111") if c not in {app.at(T + d) for d in range(0, 200, 30)})
    for i in range(3):
        assert accounts.authenticate(world.store, "op", NEW_PASSWORD + " op", "192.0.2.1", now=T + i,
                                     hasher=FAST).ok  # fmt: skip
        assert _check(world, wrong, T + 30 + i, addr=f"192.0.2.{i}", policy=policy).reason == "invalid"
    assert accounts.authenticate(world.store, "op", NEW_PASSWORD + " op", "192.0.2.1", now=T + 5, hasher=FAST).ok
    assert _check(world, app.at(T + 60), T + 60, addr="198.51.100.7", policy=policy).reason == "locked"
