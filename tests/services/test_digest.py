"""The monthly digest through a real SMTP server on loopback (aiosmtpd): only to members who opted in, in
their language, with the month's figures, each send logged, and a one-time unsubscribe link that works
without logging in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient
from member_world import END, FAST, PARIS, SECRET, START, World, build, home_power
from smtp_box import Mailbox, body, subject
from typer.testing import CliRunner

from regie.cli import app as cli
from regie.governance import accounts
from regie.mail import server_from_settings
from regie.model import Readings
from regie.services import digest
from regie.services import signal as signals
from regie.store import member_preferences as prefs
from regie.store import open_store
from regie.web import i18n
from regie.web.app import create_app

BASE = "https://regie.bourg.example"


def translate(lang: str):
    return i18n.translations(lang).gettext


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'digest.sqlite'}")
    yield build(store)
    store.close()


def _opt_in(world: World, who: str, language: str, option: str = "base") -> int:
    acct = accounts.get_account(world.store, who)
    assert acct is not None
    prefs.put(world.store, acct.id, prefs.Preferences(option, True, language))
    return acct.id


def test_nothing_is_sent_without_opt_in(world: World, smtp: Mailbox) -> None:
    out = digest.send_digests(world.store, server_from_settings(smtp.settings()), "2025-09", base_url=BASE,
                              translate=translate)  # fmt: skip
    assert out == [] and smtp.messages == [] and prefs.digest_history(world.store) == []


def test_digest_in_each_language_with_the_figures_and_logged(world: World, smtp: Mailbox) -> None:
    alice = _opt_in(world, "alice", "fr")
    zoe = _opt_in(world, "zoe", "en", "hphc")
    server = server_from_settings(smtp.settings())
    out = digest.send_digests(world.store, server, "2025-09", base_url=BASE, translate=translate)
    assert sorted((o.username, o.outcome) for o in out) == [("alice", "sent"), ("zoe", "sent")]
    fr, en = smtp.wait_for("h01@example.org"), smtp.wait_for("h13@example.org")
    assert subject(fr) == "Votre énergie en 2025-09" and subject(en) == "Your energy in 2025-09"
    text = body(fr)
    assert "Votre consommation : 174,0 kWh" in text  # 30 days × 5.8 kWh
    assert re.search(r"\d+ % de votre électricité venait de la production du village", text)
    assert "taux d'autoproduction :" in text and "Coût estimé" in text
    assert "Your consumption: 390.0 kWh" in body(en)  # h13: (150 + 325) W + 400 W four hours a day, 30 days
    assert fr["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert fr["List-Unsubscribe"].startswith(f"<{BASE}/digest/unsubscribe/")
    history = prefs.digest_history(world.store)
    assert sorted((a, m, o) for a, m, _, o, _ in history) == sorted([(alice, "2025-09", "sent"),
                                                                     (zoe, "2025-09", "sent")])  # fmt: skip
    # the same month again: skipped, unless forced
    again = digest.send_digests(world.store, server, "2025-09", base_url=BASE, translate=translate)
    assert {o.outcome for o in again} == {"skipped"} and len(smtp.messages) == 2


def test_unsubscribe_link_works_once_without_login(world: World, smtp: Mailbox) -> None:
    alice = _opt_in(world, "alice", "en")
    digest.send_digests(world.store, server_from_settings(smtp.settings()), "2025-09", base_url=BASE,
                        translate=translate)  # fmt: skip
    link = re.findall(rf"{re.escape(BASE)}/digest/unsubscribe/[A-Za-z0-9_-]+", body(smtp.wait_for("h01@example.org")))
    assert len(link) == 1
    app = create_app(world.store)
    app.state.secret, app.state.password_hasher = SECRET, FAST
    client = TestClient(app, follow_redirects=False)  # no session
    path = link[0].removeprefix(BASE)
    page = client.get(path)
    assert page.status_code == 200 and 'data-testid="unsubscribe-confirm"' in page.text
    assert prefs.get(world.store, alice).digest  # a GET (a mail scanner) changes nothing
    done = client.post(path)
    assert done.status_code == 200 and 'data-testid="unsubscribed"' in done.text
    assert not prefs.get(world.store, alice).digest and prefs.get(world.store, alice).language == "en"
    used = client.post(path)
    assert used.status_code == 400 and 'data-problem="used"' in used.text
    assert client.get("/digest/unsubscribe/forged").status_code == 400
    smtp.messages.clear()
    assert digest.send_digests(world.store, server_from_settings(smtp.settings()), "2025-10", base_url=BASE,
                               translate=translate) == []  # fmt: skip


def test_a_refusing_server_is_logged_as_failed(world: World) -> None:
    from smtp_box import free_port

    alice = _opt_in(world, "alice", "fr")
    closed = server_from_settings(Mailbox(free_port()).settings())  # nothing listens there
    out = digest.send_digests(world.store, closed, "2025-09", base_url=BASE, translate=translate)
    assert [o.outcome for o in out] == ["failed"]
    assert [(a, o) for a, _, _, o, _ in prefs.digest_history(world.store)] == [(alice, "failed")]


def test_the_command(world: World, smtp: Mailbox, tmp_path, monkeypatch) -> None:
    _opt_in(world, "alice", "fr")
    url = str(world.store.engine.url)
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REGIE_PUBLIC_URL", BASE)
    r = CliRunner().invoke(cli, ["digest", "--month", "2025-13"])
    assert r.exit_code == 2 and "not YYYY-MM" in r.output
    r = CliRunner().invoke(cli, ["digest", "--month", "2025-09"])  # no SMTP server configured
    assert r.exit_code == 0 and "nothing was sent" in r.output and smtp.messages == []
    monkeypatch.setenv("REGIE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("REGIE_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("REGIE_SMTP_SECURITY", "none")
    r = CliRunner().invoke(cli, ["digest", "--month", "2025-09"])
    assert r.exit_code == 0, r.output
    assert "alice: sent" in r.output and "1 sent" in r.output
    assert smtp.wait_for("h01@example.org")["List-Unsubscribe"].startswith(f"<{BASE}/digest/unsubscribe/")


# ---------------------------------------------------------------- the signal's green hours used


@pytest.fixture
def sunny(tmp_path) -> Iterator[World]:
    """The same village with a park three times larger (9 kW from 10:00 to 16:00 UTC): a surplus every day then."""
    store = open_store(f"sqlite:///{tmp_path / 'sunny.sqlite'}")
    world = build(store)
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    hour = (t % 86400) / 3600
    store.write([Readings("pv", t, np.where((hour >= 10) & (hour < 16), 9000.0, 0.0))])
    yield world
    store.close()


def test_the_day_ahead_replay_is_what_the_signal_said_at_noon_the_day_before(sunny: World) -> None:
    """Each half-hour of 2025-09-15 gets the level that /api/signal?at=2025-09-14T12:00 gave it."""
    inv = sunny.store.load_inventory()
    a = int(datetime(2025, 9, 15, tzinfo=PARIS).timestamp())
    t, step, levels = signals.day_ahead_levels(sunny.store, inv, a, a + 86400)
    assert t[0] == a
    noon = int(datetime(2025, 9, 14, 12, tzinfo=PARIS).timestamp())
    live = signals.compute_signal(sunny.store, None, noon)
    assert step == 1800 and len(levels) == 48 and live.start == noon
    assert levels == live.levels[24:72]
    assert "green" in levels and "red" in levels


def test_the_digest_says_how_much_was_consumed_in_green_hours(sunny: World, smtp: Mailbox) -> None:
    _opt_in(sunny, "alice", "fr")
    _opt_in(sunny, "zoe", "en")
    digest.send_digests(sunny.store, server_from_settings(smtp.settings()), "2025-09", base_url=BASE,
                        translate=translate)  # fmt: skip
    fr, en = body(smtp.wait_for("h01@example.org")), body(smtp.wait_for("h13@example.org"))
    # independently: alice's load as the world defines it, over the steps the replayed signal called green
    a = int(datetime(2025, 9, 1, tzinfo=PARIS).timestamp())
    b = int(datetime(2025, 10, 1, tzinfo=PARIS).timestamp())
    t, _, levels = signals.day_ahead_levels(sunny.store, sunny.store.load_inventory(), a, b)
    green = np.array(levels) == "green"
    hour = (t % 86400) / 3600
    assert green.sum() > 30 * 8 and np.all((hour[green] >= 10) & (hour[green] < 16))  # green is the real surplus
    for text, i, fmt in ((fr, 1, "{:.0f} % de votre consommation"), (en, 13, "{:.0f} % of your consumption")):
        load = home_power(i, t) * 0.5  # Wh per half-hour
        share = load[green].sum() / load[np.array(levels) != "unknown"].sum()
        daytime = load[(hour >= 10) & (hour < 16)].sum() / load.sum()  # the surplus hours' part (18 % for alice)
        assert 0.6 * daytime < share <= daytime + 1e-9
        assert fmt.format(100 * share) in text, text
    hours = f"{green.sum() / 2:.1f}".rstrip("0").rstrip(".")
    assert f"The signal was green for {hours} hours this month" in en
    assert "le signal de la veille, tel qu'émis à midi" in fr


def test_green_hours_are_unknown_before_the_signal_has_data(sunny: World, smtp: Mailbox) -> None:
    """December 2023 is before the data: no signal could be issued (15 days of public data at least), the mail
    says the figure is unknown instead of "0 %"."""
    _opt_in(sunny, "zoe", "en")
    digest.send_digests(sunny.store, server_from_settings(smtp.settings()), "2023-12", base_url=BASE,
                        translate=translate)  # fmt: skip
    text = body(smtp.wait_for("h13@example.org"))
    assert "The signal's green hours: unknown this month (not enough public figures)." in text
    assert "of your consumption fell in the half-hours" not in text


def test_green_hours_of_a_month_the_signal_covers_in_part(sunny: World, smtp: Mailbox) -> None:
    """January 2024, the data's first month: the signal has levels from its third week only; the share is over
    those half-hours and the mail says how much consumption was left out."""
    _opt_in(sunny, "zoe", "en")
    digest.send_digests(sunny.store, server_from_settings(smtp.settings()), "2024-01", base_url=BASE,
                        translate=translate)  # fmt: skip
    text = body(smtp.wait_for("h13@example.org"))
    assert re.search(r"\d+ % of your consumption fell in the half-hours the signal called green", text)
    left = re.search(r"The signal had no level for ([\d,.]+) kWh of your consumption", text)
    assert left is not None and 100 < float(left.group(1).replace(",", "")) < 403  # part of the month's 403 kWh
