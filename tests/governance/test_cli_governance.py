"""`regie user / consent / audit / member`: the governance commands end to end on a SQLite store."""

from __future__ import annotations

import io
import zipfile

import pytest
from governance_data import inventory
from sqlalchemy import update
from typer.testing import CliRunner

from regie.cli import app
from regie.store import open_store
from regie.store.schema import access_log


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    store = open_store(url)
    store.save_inventory(inventory())
    store.close()
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    return url


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_user_commands(env) -> None:
    r = run(
        "user", "add", "alice", "--role", "member", "--holder", "alice", "--password-stdin", stdin="a long password\n"
    )
    assert r.exit_code == 0, r.output
    assert "a long password" not in r.output
    assert run("user", "add", "eve", "--role", "member", "--password-stdin", stdin="a long password\n").exit_code != 0
    assert "alice" in run("user", "list").output
    assert run("user", "passwd", "alice", "--password-stdin", stdin="another long one\n").exit_code == 0
    assert run("user", "disable", "alice").exit_code == 0
    assert "disabled" in run("user", "disable", "nobody").output or run("user", "disable", "nobody").exit_code != 0


def test_consent_commands(env) -> None:
    r = run(
        "consent", "grant", "--subject", "alice", "--to", "operation:acc-village",
        "--purpose", "dpv:FulfilmentOfContractualObligation", "--from", "2025-01-01", "--expires", "2026-12-31",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    gid = r.output.split("grant ")[1].split()[0]
    assert run("consent", "list", "--subject", "alice").exit_code == 0
    assert '"dpv:ConsentGiven"' in run("consent", "list", "--receipt", gid).output
    assert run("consent", "withdraw", gid[:10]).exit_code == 0
    assert '"dpv:ConsentWithdrawn"' in run("consent", "list", "--receipt", gid).output
    too_long = run(
        "consent", "grant", "--subject", "alice", "--to", "operation:x", "--purpose", "dpv:ServiceProvision",
        "--from", "2025-01-01", "--expires", "2099-01-01",
    )  # fmt: skip
    assert too_long.exit_code != 0 and "3 years" in too_long.output


def test_consent_grant_takes_the_finer_levels(env) -> None:
    args = ("consent", "grant", "--subject", "alice", "--to", "organisation:coop", "--from", "2025-01-01",
            "--purpose", "dpv:FulfilmentOfContractualObligation", "--expires", "2027-06-30")  # fmt: skip
    r = run(*args, "--granularity", "PT15M")
    assert r.exit_code == 0 and "(PT15M," in r.output, r.output
    gid = r.output.split("grant ")[1].split()[0]
    assert '"regie:granularity": "PT15M"' in run("consent", "list", "--receipt", gid).output
    bad = run(*args, "--granularity", "PT5M")
    assert bad.exit_code != 0 and "PT10M" in bad.output and "PT15M" in bad.output
    assert "PT10M" in run("consent", "grant", "--help").output


def test_audit_verify_names_the_edited_entry(env) -> None:
    run("user", "add", "alice", "--role", "member", "--holder", "alice", "--password-stdin", stdin="a long password\n")
    run("user", "add", "bob", "--role", "member", "--holder", "bob", "--password-stdin", stdin="a long password\n")
    cp = run("audit", "checkpoint")
    assert cp.exit_code == 0 and "checkpoint at entry 2" in cp.output
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "intact" in ok.output
    store = open_store(env)
    with store.engine.begin() as conn:
        conn.execute(update(access_log).where(access_log.c.seq == 1).values(entry='{"seq":1}'))
    store.close()
    bad = run("audit", "verify")
    assert bad.exit_code == 1 and "entry 1: edited" in bad.output


def test_member_export_erase_correct(env, tmp_path) -> None:
    out = tmp_path / "alice.zip"
    r = run("member", "export", "alice", "--output", str(out))
    assert r.exit_code == 0, r.output
    assert "profile.jsonld" in zipfile.ZipFile(io.BytesIO(out.read_bytes())).namelist()
    assert run("member", "correct", "alice", "--email", "a@example.org").exit_code == 0
    assert run("member", "erase", "alice").exit_code != 0  # needs --yes
    r = run("member", "erase", "alice", "--yes")
    assert r.exit_code == 0 and "erased alice" in r.output
    assert run("audit", "verify").exit_code == 0
