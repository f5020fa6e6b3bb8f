"""The first run as a newcomer lives it, in a real headless Chromium against the real `regie serve` (a
subprocess on a free loopback port, a temporary data folder and store): the token is read from what the
command prints; a wrong one is refused; the right one leads to the admin and the territory; then the setup
page is gone and the access log holds every step. And an admin of every territory picks a territory in the
header's chooser."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from browsing import loopback_page
from playwright.sync_api import expect
from servers import AppServer, answering, read_until
from two_territories import build

from regie.governance import accounts, audit, territories
from regie.store import open_store

pytestmark = pytest.mark.browser
STRONG = "granite meadow lantern quietly"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    store_url: str
    token: str
    link: str
    output: list[str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`regie serve` on an empty store, as a newcomer starts it (after `regie init`)."""
    port = free_port()
    store_url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    env = {**os.environ, "REGIE_DATA_DIR": str(tmp_path / "data"), "REGIE_DATABASE_URL": store_url,
           "PYTHONPATH": str(ROOT), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    env.pop("REGIE_PORT", None)
    subprocess.run([sys.executable, "-m", "regie.cli", "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "regie.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        link = read_until(proc, re.compile(r"(http://\S+/setup\?token=\S+)"), 60, seen).group(1)
        token = read_until(proc, re.compile(r"setup token: (\S+)"), 60, seen).group(1)
        base = f"http://127.0.0.1:{port}"
        answering(base, proc, 60, lambda: "".join(seen))
        yield Served(base, store_url, token, link, seen)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_first_run_with_the_token_of_the_console(chromium, served: Served) -> None:
    assert served.link == f"{served.url}/setup?token={served.token}"
    with loopback_page(chromium, served.url) as page:
        page.goto(served.url + "/")  # any page leads to the setup
        expect(page).to_have_url(served.url + "/setup")
        expect(page.get_by_role("heading", name="Configurer cette régie")).to_be_visible()
        page.get_by_test_id("setup-token").fill("not-the-token")
        page.get_by_test_id("setup-token-submit").click()
        expect(page.get_by_test_id("setup-problem")).to_contain_text("Ce jeton de configuration est faux")
        page.get_by_test_id("setup-token").fill(served.token)
        page.get_by_test_id("setup-token-submit").click()
        page.get_by_test_id("setup-username").fill("maire")
        page.get_by_test_id("setup-email").fill("maire@example.org")
        page.get_by_test_id("setup-password").fill("sunshine2024!")  # too weak for an admin: refused first
        page.get_by_test_id("setup-again").fill("sunshine2024!")
        page.get_by_test_id("setup-id").fill("prats")
        page.get_by_test_id("setup-name").fill("Prats-de-Mollo-la-Preste")
        page.get_by_test_id("setup-insee").fill("66150")
        page.get_by_test_id("setup-latitude").fill("42,40")  # a French decimal comma is understood
        page.get_by_test_id("setup-longitude").fill("2.48")
        page.get_by_test_id("setup-step").select_option("PT15M")
        page.get_by_test_id("setup-submit").click()
        expect(page.get_by_test_id("setup-problem")).to_contain_text("difficile à deviner")
        expect(page.get_by_test_id("setup-name")).to_have_value("Prats-de-Mollo-la-Preste")  # kept
        page.get_by_test_id("setup-password").fill(STRONG)
        page.get_by_test_id("setup-again").fill(STRONG)
        page.get_by_test_id("setup-submit").click()
        page.wait_for_url(served.url + "/admin")
        expect(page.get_by_test_id("territories")).to_contain_text("Prats-de-Mollo-la-Preste (prats, INSEE 66150)")
        expect(page.get_by_test_id("accounts")).to_contain_text("maire")
        response = page.goto(served.url + "/setup?token=" + served.token)  # gone, token void
        assert response.status == 404
    assert httpx.get(served.link).status_code == 404
    store = open_store(served.store_url)
    try:
        t = territories.get_territory(store, "prats")
        assert (t.insee, t.latitude, t.longitude, t.step, t.timezone) == ("66150", 42.4, 2.48, "PT15M", "Europe/Paris")
        assert accounts.get_account(store, "maire").email == "maire@example.org"
        steps = [e.entry.get("action") for e in audit.entries(store) if e.kind in ("setup", "account", "territory")]
        assert steps == ["token_refused", "token_accepted", "token_accepted", "token_accepted", "created",
                         "created", "done"]  # fmt: skip
    finally:
        store.close()


def test_an_admin_of_every_territory_picks_one_in_the_header(chromium, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'two.sqlite'}")
    world = build(store)
    try:
        with AppServer(world.client().app) as server, loopback_page(chromium, server.url) as page:
            page.context.add_cookies([{"name": "regie_session", "value": world.sessions["root"],
                                       "url": server.url}])  # fmt: skip
            page.goto(server.url + "/")
            expect(page.locator("h1").first).to_contain_text("Vallée-Test")  # the main territory (data first)
            page.get_by_test_id("territory-select").select_option("mont")
            page.wait_for_url(re.compile(r".*territory=mont"))
            expect(page.locator("h1").first).to_contain_text("Mont-Test")
            page.goto(server.url + "/report")  # the choice is remembered
            expect(page.locator("main")).to_contain_text("Mont-Test")
    finally:
        store.close()
