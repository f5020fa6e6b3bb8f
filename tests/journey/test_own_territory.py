"""A community starts regie on its own data, in a real headless Chromium against the real `regie serve` (a
subprocess on a free loopback port, an empty data folder), with its mails caught by a real SMTP server:

setup with the console's token → the inventory workbook uploaded (the example village of
docs/getting-started.md as XLSX: 33 delivery points, 2 producers, 2 transformers, 1 ACC operation) → its
Enedis R63 file uploaded → a member, the town hall and the cooperative's PMO invited by e-mail → the member
sets a password, sees their curve and grants the commune daily access → the town hall reads daily values →
the PMO adds a participant, who is invited and consents → the operation's flows show."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browsing import LoopbackOnly
from playwright.sync_api import expect
from servers import answering, read_until
from smtp_box import Mailbox, free_port, link_in

from regie.governance import audit, consent
from regie.inventory.files import read_book, write_book
from regie.store import open_store
from regie.store.operations import load_operation

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples"
ADMIN_PASSWORD = "granit prairie lanterne doucement"
PASSWORDS = {"habitant1": "tilleul horloge navire", "mairie": "fontaine clocher platane",
             "pmo": "coopérative soleil partagé", "habitant2": "ruisseau mésange prairie"}  # fmt: skip
HOME_2, HOME_3, SCHOOL_PV = "50100000000002", "50100000000003", "50200000000002"


@dataclass
class Served:
    url: str
    store_url: str
    token: str
    env: dict[str, str]


@pytest.fixture
def served(tmp_path: Path, smtp: Mailbox) -> Iterator[Served]:
    """`regie init` then `regie serve` on an empty data folder, mailing through the loopback SMTP server."""
    port = free_port()
    store_url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env |= {"REGIE_DATA_DIR": str(tmp_path / "data"), "REGIE_DATABASE_URL": store_url, "PYTHONPATH": str(ROOT),
            "REGIE_SMTP_HOST": "127.0.0.1", "REGIE_SMTP_PORT": str(smtp.port), "REGIE_SMTP_SECURITY": "none",
            "REGIE_SMTP_SENDER": "regie@exemple.example", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "regie.cli", "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "regie.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        token = read_until(proc, re.compile(r"setup token: (\S+)"), 90, []).group(1)
        url = f"http://127.0.0.1:{port}"
        answering(url, proc, 60)
        yield Served(url, store_url, token, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _workbook(tmp_path: Path) -> Path:
    """The example village as an XLSX file, its operation reduced to the school's roof and one household (the
    participants the PMO adds come later, through the pages; each must consent before flows are computed)."""
    book = read_book(EXAMPLE / "village")
    book["acc_participants"] = [r for r in book["acc_participants"] if r["prm"] in (SCHOOL_PV, HOME_3)]
    return write_book(tmp_path / "village.xlsx", book)


def _login(page, url: str, username: str, password: str, then: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{url}{then}")


def _invite(admin, url: str, **fields: str) -> None:
    admin.goto(f"{url}/admin/people")
    admin.get_by_test_id("invite-role").select_option(fields["role"])
    if "holder" in fields:
        admin.get_by_test_id("invite-holder").select_option(fields["holder"])
        expect(admin.get_by_test_id("invite-email")).to_have_value(fields["email"])  # from the inventory, by script
    else:
        admin.get_by_test_id("invite-operator-of").fill(fields["operator_of"])
        admin.get_by_test_id("invite-email").fill(fields["email"])
    if "username" in fields and admin.get_by_test_id("invite-username").count():
        admin.get_by_test_id("invite-username").fill(fields["username"])
    admin.get_by_test_id("invite-admin-submit").click()
    expect(admin.get_by_test_id("delivery-mailed")).to_be_visible()


def _accept_invitation(page, smtp: Mailbox, email: str, username: str, then: str, accept: bool = False) -> str:
    """Open the mailed link, accept every consent asked (if told to), choose the password; the account's name."""
    page.goto(link_in(smtp.wait_for(email), "invite"))
    invited = page.get_by_test_id("invited-as").inner_text()
    if accept:
        for request in page.get_by_test_id("invite-request").all():
            request.get_by_test_id("choice-accept").check()
    page.get_by_test_id("new-password").fill(PASSWORDS[username])
    page.get_by_test_id("again-password").fill(PASSWORDS[username])
    page.get_by_test_id("invite-submit").click()
    page.wait_for_url(f"**{then}")
    return invited


def test_a_village_starts_on_its_own_data(chromium, served: Served, smtp: Mailbox, tmp_path: Path) -> None:
    url = served.url
    pages = LoopbackOnly(chromium, url)
    try:
        # 1. the first run: the token printed on the console, the first admin, the territory
        admin = pages.new_page()
        admin.goto(f"{url}/")
        expect(admin).to_have_url(f"{url}/setup")
        admin.get_by_test_id("setup-token").fill(served.token)
        admin.get_by_test_id("setup-token-submit").click()
        admin.get_by_test_id("setup-username").fill("secretaire")
        admin.get_by_test_id("setup-email").fill("secretaire@example.org")
        admin.get_by_test_id("setup-password").fill(ADMIN_PASSWORD)
        admin.get_by_test_id("setup-again").fill(ADMIN_PASSWORD)
        admin.get_by_test_id("setup-id").fill("exemple")
        admin.get_by_test_id("setup-name").fill("Commune exemple")
        admin.get_by_test_id("setup-insee").fill("66150")
        admin.get_by_test_id("setup-latitude").fill("42,4019")
        admin.get_by_test_id("setup-longitude").fill("2.4697")
        admin.get_by_test_id("setup-submit").click()
        admin.wait_for_url(f"{url}/admin")

        # 2. the inventory workbook: what it changes first, then applied
        admin.get_by_test_id("inventory-link").click()
        admin.get_by_test_id("import-file").set_input_files(str(_workbook(tmp_path)))
        with admin.expect_navigation():  # the preview page, loaded whole once the upload's answer has arrived
            admin.get_by_test_id("import-preview").click()
        added = admin.locator('[data-testid="change"][data-action="added"]')
        assert added.count() >= 33 + 2 + 2 + 1, added.count()  # delivery points, producers, transformers, operation
        with admin.expect_navigation():  # applied once answered: a goto sooner would cancel the request
            admin.get_by_test_id("apply").click()
        expect(admin.get_by_test_id("done")).to_be_visible()
        admin.goto(f"{url}/admin/inventory")
        expect(admin.get_by_test_id("count-delivery_points").get_by_test_id("current")).to_have_text("33")

        # 3. the Enedis file: every reading placed, none in the quarantine
        admin.goto(f"{url}/import")
        admin.get_by_test_id("format").select_option("enedis-r63")
        admin.get_by_test_id("files").set_input_files(str(EXAMPLE / "village-r63.csv"))
        admin.get_by_test_id("upload").click()
        expect(admin.get_by_test_id("quarantined")).to_have_text("0")
        expect(admin.get_by_test_id("points-written")).to_have_text(re.compile(r"^4\s?752$"))  # "4 752" in French

        # 4. invitations: a household (its address from the inventory), the town hall, the cooperative's PMO
        _invite(admin, url, role="member", holder="p01", email="habitant1@example.org")
        _invite(admin, url, role="operator", operator_of="commune", email="mairie@example.org")
        _invite(admin, url, role="operator", operator_of="coop-soleil", email="pmo@example.org")

        # 5. the member opens the link, chooses a password, sees their curve, grants the commune daily values
        member = pages.new_page()
        assert "habitant1" in _accept_invitation(member, smtp, "habitant1@example.org", "habitant1", "/me")
        view = member.get_by_test_id("data-view")
        view.first.wait_for()
        assert view.count() >= 1 and member.get_by_test_id("data-table").locator("tbody tr").count() >= 1
        member.get_by_test_id("new-grant").click()
        member.get_by_test_id("recipient").select_option("organisation:commune")
        member.get_by_test_id("grant-granularity-input").select_option("P1D")
        member.get_by_test_id("purpose").select_option("dpv:CombatClimateChange")
        member.get_by_test_id("data-from").fill("2025-01-01")
        member.get_by_test_id("give-grant").click()
        granted = member.locator('[data-testid="grant"][data-status="given"]')
        expect(granted).to_have_count(1)

        # 6. the town hall reads the member's daily values, and nothing finer
        town = pages.new_page()
        _accept_invitation(town, smtp, "mairie@example.org", "mairie", "/operator")
        town.get_by_test_id("read-data").click()
        daily = town.get_by_test_id("data-view")
        expect(daily.first).to_have_attribute("data-granularity", "P1D")
        expect(town.get_by_test_id("data-table").locator("tbody tr")).to_have_count(3)  # the file's three days

        # 7. the PMO adds a household to the operation; its holder, invited, consents; the flows are computed
        pmo = pages.new_page()
        _accept_invitation(pmo, smtp, "pmo@example.org", "pmo", "/operator")
        pmo.goto(f"{url}/acc/acc-ecole/setup")
        pmo.get_by_test_id("add-prm").fill(HOME_2)
        pmo.get_by_test_id("add-entry").fill("2025-06-01")
        pmo.get_by_test_id("add-submit").click()
        pmo.wait_for_url("**/acc/acc-ecole/setup?done=added")
        expect(pmo.get_by_test_id("not-consented")).to_have_count(3)  # the roof, the file's household, the new one
        _invite(admin, url, role="member", holder="p02", email="habitant2@example.org")
        neighbour = pages.new_page()
        _accept_invitation(neighbour, smtp, "habitant2@example.org", "habitant2", "/me", accept=True)
        # the commune's roof and the household of the file agreed on paper with the PMO: the régie enters it
        for subject, category, prm in (("commune", "production", SCHOOL_PV), ("p03", "consumption", HOME_3)):
            subprocess.run(
                [sys.executable, "-m", "regie.cli", "consent", "grant", "--subject", subject, "--to",
                 "organisation:coop-soleil", "--purpose", "dpv:FulfilmentOfContractualObligation",
                 "--from", "2025-01-01", "--expires", "2027-12-31", "--granularity", "PT30M",
                 "--category", category, "--prm", prm],
                env=served.env, check=True, capture_output=True,
            )  # fmt: skip
        pmo.goto(f"{url}/acc/acc-ecole?period=2025-06")
        flows = pmo.get_by_test_id("acc-flows")
        expect(flows).to_be_visible()
        assert pmo.get_by_test_id("acc-flows-table").locator("tbody tr").count() >= 3
    finally:
        pages.close()

    store = open_store(served.store_url)
    try:
        participants = load_operation(store, "acc-ecole").operation.participants
        assert sorted(p.prm for p in participants) == [HOME_2, HOME_3, SCHOOL_PV]
        asked = consent.list_grants(store, subject_id="p02")
        assert [g.status for g in asked] == [consent.Status.GIVEN]
        kinds = {e.kind for e in audit.entries(store)}
        assert {"setup", "inventory", "access", "consent", "acc_setup"} <= kinds, kinds
        assert audit.verify(store).ok
    finally:
        store.close()
