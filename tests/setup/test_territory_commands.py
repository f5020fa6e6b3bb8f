"""`regie territory create / list` and `regie user add --territory`: the same governance function as the setup
page, from the shell; and :func:`create_territory` itself on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from regie.cli import app, console
from regie.governance import accounts, audit, territories
from regie.store import open_store

STRONG = "granite meadow lantern quietly"


@pytest.fixture
def env(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(console, "width", 200)  # the table's cells whole, not cut to a narrow terminal
    return url


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_territory_create_list_and_a_scoped_admin(env: str) -> None:
    r = run("territory", "create", "--id", "prats", "--name", "Prats-de-Mollo-la-Preste", "--insee", "66150",
            "--timezone", "Europe/Paris", "--lat", "42.40", "--lon", "2.48", "--step", "PT30M")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert run("territory", "create", "--id", "serralongue", "--name", "Serralongue").exit_code == 0
    listed = run("territory", "list").output
    assert "prats" in listed and "66150" in listed and "PT30M" in listed and "serralongue" in listed
    r = run("user", "add", "maire", "--role", "admin", "--territory", "prats", "--email", "maire@example.org",
            "--password-stdin", stdin=STRONG + "\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    store = open_store(env)
    try:
        maire = accounts.get_account(store, "maire")
        assert (maire.territory_id, maire.email) == ("prats", "maire@example.org")
        assert [t.id for t in territories.visible(store, maire)] == ["prats"]
        logged = [e.entry for e in audit.entries(store, kind="territory")]
        assert [(e["action"], e["territory_id"], e["actor"]) for e in logged] == [
            ("created", "prats", "cli"), ("created", "serralongue", "cli")]
        assert logged[0]["detail"] == {"name": "Prats-de-Mollo-la-Preste", "timezone": "Europe/Paris",
                                       "latitude": 42.4, "longitude": 2.48, "insee": "66150", "step": "PT30M"}
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--id", "prats", "--name", "Again"], "territory 'prats' already exists"),
        (["--id", "x", "--name", "X", "--insee", "661"], "an INSEE code is 5 characters"),
        (["--id", "x", "--name", "X", "--timezone", "Paris"], "unknown time zone 'Paris'"),
        (["--id", "x", "--name", "X", "--lat", "42"], "give both latitude"),
        (["--id", "x", "--name", "X", "--lat", "91", "--lon", "2"], "latitude (-90 to 90)"),
        (["--id", "x", "--name", "X", "--step", "PT7M"], "not one of PT10M, PT15M, PT30M, PT1H"),
        (["--id", "x y", "--name", "X"], "letters, digits"),
        (["--id", "x", "--name", " "], "needs a name"),
    ],
)
def test_a_bad_territory_is_refused_with_why_and_nothing_changes(env: str, args: list[str], said: str) -> None:
    assert run("territory", "create", "--id", "prats", "--name", "Prats").exit_code == 0
    r = run("territory", "create", *args)
    assert r.exit_code == 2 and said in " ".join(r.output.replace("│", " ").split()), r.output
    store = open_store(env)
    try:
        assert [t.name for t in territories.list_territories(store)] == ["Prats"]
    finally:
        store.close()


def test_user_add_refuses_an_unknown_territory(env: str) -> None:
    r = run("user", "add", "maire", "--role", "admin", "--territory", "nowhere", "--password-stdin",
            stdin=STRONG + "\n")  # fmt: skip
    assert r.exit_code == 2 and "no territory 'nowhere'" in r.output


def test_create_territory_on_each_backend(store_url: str) -> None:
    store = open_store(store_url)
    try:
        t = territories.territory_from("prats", "Prats", insee="2a004", latitude=42.4, longitude=2.48, step="PT15M")
        territories.create_territory(store, accounts.CLI_ADMIN, t, now=1_750_000_000)
        assert territories.get_territory(store, "prats") == t and t.insee == "2A004"
        assert store.load_inventory("prats").territory == t  # an empty territory loads: no site, no series yet
        with pytest.raises(territories.TerritoryError, match="already exists") as refused:
            territories.create_territory(store, accounts.CLI_ADMIN, t)
        assert refused.value.code == "exists"
        scoped = accounts.create_account(store, "adm", STRONG, "admin", territory_id="prats")
        with pytest.raises(territories.TerritoryError, match="runs territory 'prats' only"):
            territories.create_territory(store, scoped, territories.territory_from("other", "Other"))
        member = accounts.Account(99, "m", accounts.Role.MEMBER)
        with pytest.raises(territories.TerritoryError, match="only an admin"):
            territories.create_territory(store, member, territories.territory_from("other", "Other"))
        assert [x.id for x in territories.list_territories(store)] == ["prats"]
        entry = audit.entries(store, kind="territory")[0]
        assert (entry.at, entry.entry["territory_id"], entry.entry["actor"]) == (1_750_000_000, "prats", "cli")
        assert audit.verify(store, None, None).ok
    finally:
        store.close()
