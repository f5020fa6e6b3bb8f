"""`regie key add NAME --site SITE`: a sensor key bound to a declared site, ingest only, listed with its site."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from regie import cli
from regie.cli import app
from regie.ingest import apikeys
from regie.model import Inventory, Site, Territory
from regie.store import open_store


@pytest.fixture
def url(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(cli.console, "width", 200)
    u = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    store = open_store(u)
    store.save_inventory(Inventory(Territory("vallee", "Vallée"), sites=[Site("school", "École", "vallee")]))
    store.close()
    return u


def run(url: str, *args: str):
    return CliRunner().invoke(app, ["key", *args, "--database-url", url])


def said(result) -> str:
    """The output without the error panel's frame and line breaks."""
    return " ".join(result.output.replace("│", " ").split())


def test_key_add_site(url: str) -> None:
    done = run(url, "add", "emonpi école", "--site", "school")
    assert done.exit_code == 0, done.output
    assert "(ingest, site school)" in done.output
    secret = done.output.strip().splitlines()[-1]
    store = open_store(url)
    try:
        key = apikeys.verify(store, secret)
        assert key is not None and (key.site_id, key.scopes) == ("school", frozenset({"ingest"}))
    finally:
        store.close()
    listed = run(url, "list")
    assert "school" in listed.output and secret not in listed.output


def test_key_add_site_refuses_what_it_cannot_be(url: str) -> None:
    bad = run(url, "add", "emonpi", "--site", "nowhere")
    assert bad.exit_code != 0 and "no site 'nowhere'" in said(bad)
    bad = run(url, "add", "emonpi", "--site", "school", "--scope", "read")
    assert bad.exit_code != 0 and "only have the 'ingest' scope" in said(bad)
    store = open_store(url)
    try:
        assert apikeys.list_keys(store) == []
    finally:
        store.close()
