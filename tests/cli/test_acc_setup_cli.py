"""`regie acc ...`: create an operation, add participants, record an exit, change the key, show it — the same
governance functions as the pages (``regie.governance.acc_setup``), with clear refusals."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regie import cli
from regie.cli import app
from regie.governance import audit, consent
from regie.model import DeliveryPoint, Membership, Producer, Site, Source
from regie.store import open_store
from regie.store.operations import load_operation

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))
import _acc_store

PRM_FAR = "30000000000011"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.console, "width", 200)


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'acc.sqlite'}"
    store = open_store(url)
    inv = _acc_store.inventory()
    inv.producers.append(Producer("parc", "Parc", Source.PV, 250_000.0, prm=_acc_store.PRM_P, site_id="site-0"))
    inv.sites.append(Site("far", "Far away", "village", _acc_store.LAT + 0.27, _acc_store.LON, 700.0))
    inv.delivery_points.append(DeliveryPoint(PRM_FAR, "far", "C5", 6.0, "residential"))
    inv.memberships.append(Membership("joan", PRM_FAR, date(2020, 1, 1)))
    store.save_inventory(inv)
    store.close()
    return url


def run(url: str, *args: str):
    return CliRunner().invoke(app, [*args, "--database-url", url])


def test_an_operation_set_up_from_the_shell(url: str) -> None:
    r = run(url, "acc", "operation", "create", "acc-cli", "--name", "Soleil", "--pmo", "coop", "--step", "PT15M")
    assert r.exit_code == 0, r.output
    assert "operation acc-cli created for coop in territory village (PT15M, key default)" in r.output
    r = run(url, "acc", "participant", "add", "acc-cli", _acc_store.PRM_P, "--role", "producer",
            "--entry", "2025-03-01", "--name", "Parc")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "consent requested of coop for the PMO" in r.output
    assert "producers' peak power 0.250 MW (below 3 MW, arrêté du 21 novembre 2019, art. 2)" in r.output
    r = run(url, "acc", "participant", "add", "acc-cli", _acc_store.PRM_A, "--entry", "2025-04-01", "--name", "Anna",
            "--email", "anna@example.org", "--base-url", "https://regie.example.org")  # fmt: skip
    assert r.exit_code == 0, r.output
    # no SMTP server in the settings: the one-time link is printed, alone on its line, for the admin to hand over
    assert "anna invited as" in r.output and "invitation not sent by e-mail" in r.output
    link = next(line for line in r.output.splitlines() if line.startswith("https://regie.example.org/invite/"))
    r = run(url, "acc", "participant", "add", "acc-cli", _acc_store.PRM_B, "--entry", "2025-04-01", "--name", "Joan")
    assert r.exit_code == 0, r.output
    assert "largest distance 0.22 km (limit 2 km, arrêté du 21 novembre 2019, art. 1)" in r.output

    # refused: 30 km away; a producer past the power limit; a bad date — nothing stored
    r = run(url, "acc", "participant", "add", "acc-cli", PRM_FAR, "--entry", "2025-05-01")
    assert r.exit_code == 2 and "more than the 2 km allowed" in r.output
    r = run(url, "acc", "participant", "add", "acc-cli", _acc_store.PRM_C, "--role", "producer",
            "--entry", "2025-05-01", "--peak-kw", "5000")  # fmt: skip
    assert r.exit_code == 2 and "must stay below 5 MW" in r.output
    r = run(url, "acc", "participant", "add", "acc-cli", _acc_store.PRM_C, "--entry", "1 May")
    assert r.exit_code == 2 and "--entry '1 May': write the day as YYYY-MM-DD" in r.output

    r = run(url, "acc", "participant", "exit", "acc-cli", _acc_store.PRM_B, "--on", "2025-09-01")
    assert r.exit_code == 0 and "counts until 2025-09-01 (excluded)" in r.output, r.output
    r = run(url, "acc", "key", "set", "acc-cli", "static", "--from", "2025-07-01",
            "--params", f'{{"shares": {{"{_acc_store.PRM_A}": 0.6, "{_acc_store.PRM_B}": 0.4}}}}')  # fmt: skip
    assert r.exit_code == 0 and "acc-cli: key static from 2025-07-01" in r.output, r.output
    r = run(url, "acc", "key", "set", "acc-cli", "priority", "--from", "2025-08-01", "--params", "{share: 1}")
    assert r.exit_code == 2 and "--params is not JSON" in r.output
    r = run(url, "acc", "key", "set", "acc-cli", "nope", "--from", "2025-08-01")
    assert r.exit_code == 2 and "choose one of default, static, priority" in r.output

    r = run(url, "acc", "operation", "show", "acc-cli")
    assert r.exit_code == 0, r.output
    assert "Soleil (acc-cli) · PMO coop · PT15M · mainland · key default" in r.output
    assert "key from 2025-07-01: static" in r.output
    assert r.output.count("requested") == 2 and "not in today" in r.output  # Joan left on 1 September 2025
    assert _acc_store.PRM_A not in r.output  # PRMs are masked

    store = open_store(url)
    try:
        stored = load_operation(store, "acc-cli")
        assert [(p.prm, p.exit) for p in stored.operation.participants] == [
            (_acc_store.PRM_P, None), (_acc_store.PRM_A, None), (_acc_store.PRM_B, date(2025, 9, 1))]
        assert [(k.since, k.key) for k in stored.key_periods] == [(date(2025, 7, 1), "static")]
        asked = consent.list_grants(store, recipient_id="coop")
        assert sorted(g.subject_id for g in asked) == ["anna", "coop", "joan"]
        assert {g.requested_by for g in asked} == {"pmo:coop for cli"}
        from regie.governance import invitations

        invited, _ = invitations.check_invitation(store, link.rsplit("/", 1)[1])
        assert (invited.holder_id, invited.email) == ("anna", "anna@example.org")
        actions = [e.entry["action"] for e in audit.entries(store, kind="acc_setup")]
        assert actions == ["operation/create", *["participant/add"] * 3, "participant/exit", "key/set"]
    finally:
        store.close()
