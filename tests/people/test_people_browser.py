"""The whole journey in headless Chromium over a real server on loopback, with the mails caught by a real
SMTP server: the admin, obliged to use a second factor, enrols at login; invites an operator and a member;
the operator opens the mailed link, chooses a password, enrols, logs in again with a TOTP code and with a
recovery code (once); the member opens their link, accepts the consent asked of them, and later resets a
forgotten password by e-mail."""

from __future__ import annotations

import time

import pyotp
import pytest
from people_world import ADMIN_PASSWORD, NEW_PASSWORD, Mailbox, app_for, build_world, link_in
from playwright.sync_api import expect
from servers import AppServer
from web.browsing import LoopbackOnly

from regie.governance import consent
from regie.store import open_store

MEMBER_PASSWORD = "prairie ruisseau mésange"
NEW_MEMBER_PASSWORD = "tilleul horloge navire"


@pytest.fixture
def journey(tmp_path, smtp: Mailbox, chromium):
    world = build_world(open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}"))
    app = app_for(world, smtp.settings(require_two_factor="admins_operators"))
    with AppServer(app) as server:
        pages = LoopbackOnly(chromium, server.url)
        yield world, server, pages
        pages.close()
    world.store.close()


def _login(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill('[data-testid="username"]', username)
    page.fill('[data-testid="password"]', password)
    page.click('[data-testid="login-submit"]')


def _enrol(page) -> tuple[pyotp.TOTP, str, list[str]]:
    """On an enrolment page: read the key as a person would type it into their app, confirm a code, keep the
    recovery codes shown."""
    app = pyotp.TOTP(page.inner_text('[data-testid="enrol-secret"]'))
    expect(page.locator('[data-testid="enrol-qr"] svg')).to_have_count(1)
    first = app.now()
    page.fill('[data-testid="enrol-code"]', first)
    page.click('[data-testid="enrol-submit"]')
    expect(page.locator('[data-testid="recovery-code"]')).to_have_count(10)  # the codes page, once it has loaded
    codes = page.locator('[data-testid="recovery-code"]').all_inner_texts()
    return app, first, codes


def test_invite_set_password_enrol_and_log_in(journey, smtp: Mailbox) -> None:
    world, server, pages = journey
    url = server.url

    # the admin must use a second factor: the login goes through the enrolment first
    admin = pages.new_page()
    _login(admin, url, "admin", ADMIN_PASSWORD)
    admin.wait_for_url("**/login/enrol**")
    expect(admin.locator('[data-testid="enrol-forced"]')).to_be_visible()
    _enrol(admin)
    admin.click('[data-testid="codes-continue"]')
    admin.wait_for_url(f"{url}/admin")

    # invite an operator of the cooperative, and alice as a member (her address comes from the inventory)
    admin.click('[data-testid="people-link"]')
    admin.select_option('[data-testid="invite-role"]', "operator")
    admin.fill('[data-testid="invite-operator-of"]', "coop")
    admin.fill('[data-testid="invite-email"]', "pmo@coop.example")
    admin.click('[data-testid="invite-admin-submit"]')
    expect(admin.locator('[data-testid="delivery-mailed"]')).to_be_visible()
    admin.select_option('[data-testid="invite-holder"]', "alice")
    # filled from the inventory by the page's script, on the change
    expect(admin.locator('[data-testid="invite-email"]')).to_have_value("alice@example.org")
    expect(admin.locator('[data-testid="invite-role"]')).to_have_value("member")
    admin.click('[data-testid="invite-admin-submit"]')
    # the page before the click said "mailed" too (pmo's invitation): wait for alice's row of the answer
    expect(admin.locator('[data-testid="people-row"][data-username="alice"]')).to_have_count(1)
    expect(admin.locator('[data-testid="delivery-mailed"]')).to_be_visible()
    statuses = admin.locator('[data-testid="people-row"][data-username="pmo"] [data-testid="people-status"]')
    expect(statuses).to_contain_text("invité")

    # the operator opens the mailed link, chooses a password, and must enrol before the session opens
    op = pages.new_page()
    op.goto(link_in(smtp.wait_for("pmo@coop.example"), "invite"))
    expect(op.locator('[data-testid="invited-as"]')).to_contain_text("pmo")
    op.fill('[data-testid="new-password"]', NEW_PASSWORD)
    op.fill('[data-testid="again-password"]', NEW_PASSWORD)
    op.click('[data-testid="invite-submit"]')
    op.wait_for_url("**/login/enrol**")
    app, first, codes = _enrol(op)
    op.click('[data-testid="codes-continue"]')
    op.wait_for_url(f"{url}/operator")
    op.goto(link_in(smtp.wait_for("pmo@coop.example"), "invite"))  # the link again: used
    expect(op.locator('[data-testid="link-problem"]')).to_have_attribute("data-problem", "used")

    # next login: password, then a code (the next time step: the enrolment's own code cannot be replayed)
    again = pages.new_page()
    _login(again, url, "pmo", NEW_PASSWORD)
    again.wait_for_url("**/login/code**")
    again.fill('[data-testid="code"]', first)  # the enrolment's code, replayed
    again.click('[data-testid="code-submit"]')
    expect(again.locator('[data-testid="problem"]')).to_be_visible()
    again.fill('[data-testid="code"]', app.at(time.time() + 30))
    again.click('[data-testid="code-submit"]')
    again.wait_for_url(f"{url}/operator")

    # a recovery code works once
    for attempt in range(2):
        other = pages.new_page()
        _login(other, url, "pmo", NEW_PASSWORD)
        other.wait_for_url("**/login/code**")
        other.fill('[data-testid="code"]', codes[0])
        other.click('[data-testid="code-submit"]')
        if attempt == 0:
            other.wait_for_url(f"{url}/operator")
        else:
            # the answer to the POST is the code page again, with the problem: wait for it, not the page left
            expect(other.locator('[data-testid="problem"]')).to_be_visible()
            assert "/login/code" in other.url

    # alice opens her link, accepts the cooperative's request, chooses a password (members need no 2FA)
    alice = pages.new_page()
    alice.goto(link_in(smtp.wait_for("alice@example.org"), "invite"))
    request = alice.locator(f'[data-testid="invite-request"][data-id="{world.request_id}"]')
    expect(request).to_contain_text("Coopérative")
    request.locator('[data-testid="choice-accept"]').check()
    alice.fill('[data-testid="new-password"]', MEMBER_PASSWORD)
    alice.fill('[data-testid="again-password"]', MEMBER_PASSWORD)
    alice.click('[data-testid="invite-submit"]')
    alice.wait_for_url(f"{url}/me")
    grant = alice.locator(f'[data-testid="grant"][data-id="{world.request_id}"]')
    expect(grant).to_have_attribute("data-status", "given")
    assert consent.get_grant(world.store, world.request_id).status is consent.Status.GIVEN

    # later, alice forgot her password: the link comes by e-mail
    forgot = pages.new_page()
    forgot.goto(f"{url}/login")
    forgot.click('[data-testid="forgot-link"]')
    forgot.fill('[data-testid="forgot-email"]', "alice@example.org")
    forgot.click('[data-testid="forgot-submit"]')
    expect(forgot.locator('[data-testid="forgot-sent"]')).to_be_visible()
    reset = next(m for m in _wait_two(smtp, "alice@example.org") if "/reset/" in m.as_string())
    forgot.goto(link_in(reset, "reset"))
    forgot.fill('[data-testid="new-password"]', NEW_MEMBER_PASSWORD)
    forgot.fill('[data-testid="again-password"]', NEW_MEMBER_PASSWORD)
    forgot.click('[data-testid="reset-submit"]')
    expect(forgot.locator('[data-testid="reset-done"]')).to_be_visible()
    alice.goto(f"{url}/me")  # her session on the other page ended with the reset
    alice.wait_for_url("**/login**")
    _login(forgot, url, "alice", NEW_MEMBER_PASSWORD)
    forgot.wait_for_url(f"{url}/me")

    unknown = pages.new_page()
    unknown.goto(f"{url}/invite/{'A' * 43}")
    expect(unknown.locator('[data-testid="link-problem"]')).to_contain_text("Ce lien est inconnu")


def _wait_two(smtp: Mailbox, to: str, timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [m for m in smtp.messages if to in (m["To"] or "")]
        if len(mails) >= 2:
            return mails
        time.sleep(0.05)
    raise AssertionError(f"no second mail to {to}")
