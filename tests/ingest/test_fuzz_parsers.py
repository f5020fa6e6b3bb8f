"""Hostile input to every parser of regie.ingest: arbitrary bytes, and input shaped like each format but
wrong. A parser either reads it or raises :class:`regie.ingest.IngestError` (what, where, why) — never
another exception, which the API would turn into a 500 (issue 18, "no 500 from any input").

Derandomised by CI (``.ci/run``), so a landing never depends on the draw of the day; a failure found once
is kept in the examples below.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from regie.ingest import IngestError, adapters
from regie.ingest.emoncms_input import parse_bulk, parse_fulljson, parse_legacy, parse_mqtt, parse_post
from regie.ingest.enedis_acc import parse_acc_curves

PARIS = ZoneInfo("Europe/Paris")
NOW = 1_795_347_670
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Lines shaped like each format, to get past the first checks and reach the parsing of values.
HEADERS = {
    "csv": "time,power\n",
    "enedis-portal": (
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;"
        "Etape metier;Unite\n30002000000001;Courbe de charge;01/01/2025;02/01/2025;Energie active;"
        "Consommation;Comptage Brut;W\nHorodate;Valeur\n"
    ),
    "enedis-r63": (
        "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;"
        "Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire\n"
    ),
}
CELL = st.one_of(
    st.sampled_from(["", "1e400", "-1e400", "nan", "inf", "9" * 400, "2025-01-01T00:00:00+01:00", "0", "-1",
                     "30002000000001", "PT30M", "PT0M", "P1D", "W", "kW", "Wh", "R", "2025-13-45 25:61:00",
                     "1767225600000000", "\x00", '"', ";", ","]),
    st.text(max_size=12),
)  # fmt: skip
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _read(fmt: str, data: bytes) -> None:
    with contextlib.suppress(IngestError):
        for _ in adapters()[fmt].parse(io.BytesIO(data), "fuzz", zone=PARIS, now=NOW):
            pass


@pytest.mark.parametrize("fmt", sorted(adapters()))
@FUZZ
@given(data=st.binary(max_size=600))
@example(data=b"PK\x03\x04" + b"\x00" * 40)
@example(data=b"\x1f\x8b\x08\x00" + b"\x00" * 40)
def test_arbitrary_bytes_give_an_ingest_error_or_readings(fmt: str, data: bytes) -> None:
    _read(fmt, data)


@pytest.mark.parametrize("fmt", sorted(HEADERS))
@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=14), max_size=6), sep=st.sampled_from([";", ","]))
def test_rows_shaped_like_the_format_but_wrong_give_an_ingest_error(fmt: str, rows: list[list[str]], sep: str) -> None:
    body = HEADERS[fmt] + "".join(sep.join(r) + "\n" for r in rows)
    _read(fmt, body.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(doc=JSONISH, reading=st.dictionaries(st.sampled_from(["value", "date", "interval_length", "measure_type"]),
                                            CELL, max_size=4))  # fmt: skip
def test_dataconnect_json_of_the_wrong_shape_gives_an_ingest_error(doc, reading) -> None:
    shaped = {"meter_reading": {"usage_point_id": "30002000000001", "reading_type": {"unit": "W"},
                                "interval_reading": [reading, reading]}}  # fmt: skip
    for body in (doc, shaped, {"meter_reading": doc}):
        try:
            data = json.dumps(body).encode()
        except ValueError:
            continue
        _read("enedis-dataconnect", data)


@FUZZ
@given(text=st.text(max_size=400))
def test_acc_curves_of_any_text_give_an_ingest_error(text: str) -> None:
    with contextlib.suppress(IngestError):
        parse_acc_curves(io.StringIO(text), zone=PARIS)


# ---------------------------------------------------------------- the emoncms input formats


@FUZZ
@given(data=st.one_of(st.text(max_size=200), st.builds(json.dumps, JSONISH)),
       params=st.dictionaries(st.sampled_from(["sentat", "offset", "time"]), CELL, max_size=2))  # fmt: skip
@example(data="[" * 100_000, params={})
@example(data='[[0, "n", 1]]', params={"time": "1e400"})
@example(data=f'[[{10**30}, "n", 1]]', params={"time": "0"})
@example(data='[[0, "n", 1e400]]', params={"sentat": "0"})
def test_bulk_bodies_give_a_format_error_or_frames(data: str, params: dict[str, str]) -> None:
    with contextlib.suppress(IngestError):
        parse_bulk(data, params, now=NOW)


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["node", "time", "json", "fulljson", "csv", "data"]), CELL, max_size=4))
@example(params={"time": "1e400", "csv": "1"})
@example(params={"fulljson": "[" * 100_000})
@example(params={"csv": "1e400"})
def test_input_posts_give_a_format_error_or_a_frame(params: dict[str, str]) -> None:
    with contextlib.suppress(IngestError):
        parse_post(params, now=NOW, zone=PARIS)
    for parse in (parse_fulljson, parse_legacy):
        with contextlib.suppress(IngestError):
            parse(params.get("fulljson", ""))


@FUZZ
@given(topic=st.text(max_size=30),
       payload=st.one_of(st.binary(max_size=100), st.builds(lambda x: json.dumps(x).encode(), JSONISH)))
@example(topic="emon/n", payload=b'{"time": 1e400, "a": 1}')
@example(topic="emon/n", payload=b"[" * 100_000)
def test_mqtt_messages_give_a_format_error_or_a_frame(topic: str, payload: bytes) -> None:
    for t in (topic, "emon/" + topic):
        with contextlib.suppress(IngestError):
            parse_mqtt(t, payload, base="emon", now=NOW, zone=PARIS)


# ---------------------------------------------------------------- the import API, end to end


@pytest.fixture(scope="module")
def import_client(tmp_path_factory):
    from test_importer import _client  # the import API with a write key, as the importer's own tests use it

    from regie.model import Inventory, Territory
    from regie.store import open_store

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'regie.sqlite'}")
    store.save_inventory(Inventory(Territory("village", "Village")))
    yield _client(store)
    store.close()


OPTION_VALUES = st.one_of(
    CELL, st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)
OPTIONS = st.dictionaries(
    st.sampled_from(["unit", "columns", "time_column", "time_format", "timezone", "convention", "step", "kind",
                     "prefix", "chunk_rows", "block_points", "limits", "zone", "now", "other"]),
    OPTION_VALUES, max_size=4,
)  # fmt: skip


SAMPLES = sorted((Path(__file__).parents[1] / "data").glob("*.[cj]s[vo]*"))  # real files: options reach the parsing
STRING_OPTIONS = st.dictionaries(st.sampled_from(["unit", "columns", "time_column", "time_format", "timezone",
                                                  "convention", "step", "kind", "prefix"]), CELL, max_size=4)


@pytest.mark.parametrize("fmt", sorted(adapters()))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.binary(max_size=300), st.sampled_from([h.encode() for h in HEADERS.values()]),
                      st.sampled_from(SAMPLES).map(Path.read_bytes)),
       options=st.one_of(OPTIONS.map(json.dumps), STRING_OPTIONS.map(json.dumps), st.text(max_size=20)))  # fmt: skip
@example(body=b"time,power\n1,2\n2,3\n", options='{"columns": "power=x:W", "time_format": "unix", "chunk_rows": "a"}')
@example(body=b"time,power\n1,2\n2,3\n", options='{"columns": 5, "unit": [1]}')
def test_the_import_api_never_answers_5xx(import_client, fmt: str, body: bytes, options: str) -> None:
    r = import_client.post(f"/api/import/{fmt}", files={"file": ("fuzz", body)}, data={"options": options})
    assert r.status_code < 500, r.text
    if r.status_code == 400:
        assert r.json()["detail"]["error"]
