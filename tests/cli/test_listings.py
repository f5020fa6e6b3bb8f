"""Every listing command at 80 columns (ids and masked PRMs whole), and as CSV and JSON for scripts."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from regie.cli import app, console
from regie.governance import accounts, consent
from regie.ingest import apikeys
from regie.ingest.importer import Importer
from regie.ingest.inputs import InputService
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Person,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
    mask_prm,
)
from regie.store import open_store

DATA = Path(__file__).parents[1] / "data"
PRM = "30000000000042"
QUARANTINED = "**********7890"  # the R63 sample's PRM, undeclared here: quarantined, shown masked
NOW = 1_790_000_000
LONG_NAME = "Prats-de-Mollo-la-Preste, commune des Pyrénées-Orientales"
LISTS = [["user", "list"], ["consent", "list"], ["key", "list"], ["quarantine", "list"], ["input", "list"],
         ["territory", "list"]]  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A store with something in every list, with long names that a narrow table would have cut."""
    url = f"sqlite:///{tmp_path / 'lists.sqlite'}"
    store = open_store(url)
    store.save_inventory(
        Inventory(
            Territory("prats-de-mollo-la-preste", LONG_NAME, latitude=42.40, longitude=2.48),
            sites=[Site("maison-du-garde-forestier", "Maison du garde forestier", "prats-de-mollo-la-preste")],
            delivery_points=[DeliveryPoint(PRM, "maison-du-garde-forestier")],
            persons=[Person("marie-therese-delacroix", "Marie-Thérèse Delacroix")],
            memberships=[Membership("marie-therese-delacroix", PRM, date(2024, 1, 1))],
            series=[Series("conso-maison-garde", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM)],
        )
    )
    accounts.create_account(store, "marie-therese.delacroix", "a long enough password", "member",
                            holder_id="marie-therese-delacroix", display_name="Marie-Thérèse")  # fmt: skip
    accounts.create_account(store, "cooperative-soleil-du-vallespir", "a long enough password", "operator",
                            operator_of="cooperative-soleil-du-vallespir")  # fmt: skip
    for _ in range(2):
        consent.grant(store, accounts.CLI_ADMIN, subject_id="marie-therese-delacroix",
                      recipient_kind="organisation", recipient_id="cooperative-soleil-du-vallespir",
                      categories=["consumption", "production"], prms=[PRM], granularity="PT30M",
                      data_start=NOW - 86400 * 365, data_end=None, purpose="dpv:FulfilmentOfContractualObligation",
                      expires_at=NOW + 86400 * 365, now=NOW)  # fmt: skip
    apikeys.create_key(store, "emonPi du garage de la maison du garde forestier", ["read", "write"])
    apikeys.create_key(store, "esp32", ["ingest"], node="atelier-menuiserie-communale")
    Importer(store).import_path("enedis-r63", DATA / "enedis_r63_duplicates.csv")
    t = np.array([NOW, NOW + 10], np.int64)
    with InputService(store, clock=lambda: NOW + 20) as service:
        service.ingest({("chaufferie-bois-ecole", "temperature_depart_plancher"): (t, np.array([41.5, 41.75]))},
                       source="test")  # fmt: skip
    store.close()
    return url


def run(url: str, *args: str) -> str:
    """What the command wrote, byte for byte (CliRunner's ``output`` turns CRLF into LF)."""
    result = CliRunner().invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode()


def identifiers(url: str) -> dict[str, list[str]]:
    """What each list must show whole: ids, keys, names a person copies into the next command."""
    store = open_store(url)
    try:
        grants = [g.id for g in consent.list_grants(store)]
        keys = [str(k.id) for k in apikeys.list_keys(store)]
    finally:
        store.close()
    return {
        "user": ["marie-therese.delacroix", "cooperative-soleil-du-vallespir"],
        "consent": [*grants, mask_prm(PRM)],
        "key": keys,
        "quarantine": [QUARANTINED],
        "input": ["emon-chaufferie-bois-ecole-temperature_depart_plancher"],
        "territory": ["prats-de-mollo-la-preste"],
    }


@pytest.mark.parametrize("command", LISTS, ids=lambda c: c[0])
def test_at_80_columns_every_identifier_is_whole(url: str, command: list[str], monkeypatch) -> None:
    monkeypatch.setattr(console, "width", 80)
    out = run(url, *command)
    assert max(map(len, out.splitlines())) <= 80
    assert "…" not in out  # nothing cut: long cells wrap
    for ident in identifiers(url)[command[0]]:
        assert ident in out, f"{ident!r} is not whole in `regie {' '.join(command)}`:\n{out}"
    if command[0] == "quarantine":
        ref = re.search(r"\b[0-9a-f]{16}\b", out)
        assert ref and ref[0] in run(url, *command, "--format", "json")


@pytest.mark.parametrize("command", LISTS, ids=lambda c: c[0])
def test_csv_and_json_carry_the_same_rows(url: str, command: list[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(run(url, *command, "--format", "csv"), newline="")))
    data = json.loads(run(url, *command, "--format", "json"))
    assert rows and isinstance(data, list) and len(rows) == len(data)
    assert list(rows[0]) == list(data[0])  # the same stable keys, in the same order
    for ident in identifiers(url)[command[0]]:
        assert any(ident in str(v) for r in data for v in r.values()), ident
        assert any(ident in v for r in rows for v in r.values()), ident


def test_machine_formats_are_typed_and_rfc4180(url: str) -> None:
    raw = run(url, "key", "list", "--format", "csv")
    assert raw.startswith("id,name,scopes,node,site,created,revoked\r\n")
    keys = json.loads(run(url, "key", "list", "--format", "json"))
    assert keys[0]["scopes"] == ["read", "write"] and keys[0]["revoked"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", keys[0]["created"])
    held = json.loads(run(url, "quarantine", "list", "--format", "json"))
    assert held[0]["readings"] == 48 and held[0]["key"] == QUARANTINED  # a number, the PRM masked
    inputs = json.loads(run(url, "input", "list", "--format", "json"))
    assert inputs[0]["last_value"] == 41.75
    territory = list(csv.reader(io.StringIO(run(url, "territory", "list", "--format", "csv"), newline="")))
    assert territory[1][1] == LONG_NAME  # quoted: it holds a comma
    assert PRM not in run(url, "consent", "list", "--format", "json")  # masked in every format


def test_empty_lists(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    open_store(url).close()
    assert "empty" in run(url, "quarantine", "list")
    assert json.loads(run(url, "quarantine", "list", "--format", "json")) == []
    assert run(url, "input", "list", "--format", "csv") == "node,name,series,unit,last_time,last_value\r\n"
    bad = CliRunner().invoke(app, ["key", "list", "--format", "xml", "--database-url", url])
    assert bad.exit_code == 2 and "xml" in bad.output
