"""The emoncms input formats, rule by rule (rules cited in regie/ingest/emoncms_input.py)."""

from __future__ import annotations

import math
import zlib
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.ingest.emoncms_input import (
    EmoncmsFormatError,
    Frame,
    clean_node,
    decode_body,
    decode_hex,
    group,
    parse_bulk,
    parse_mqtt,
    parse_post,
)
from regie.ingest.inputs import guess_unit, series_key_for

NOW = 1_795_347_670


def test_post_csv_numbers_inputs_from_one() -> None:
    frame, full = parse_post({"node": "10", "csv": "100,200,300"}, now=NOW)
    assert frame == Frame(NOW, "10", {"1": 100.0, "2": 200.0, "3": 300.0})
    assert not full


def test_post_legacy_json_drops_braces_and_quotes() -> None:
    frame, _ = parse_post({"node": "emontx", "json": '{power1:100,"temp":20.5}', "time": "1700000000"}, now=NOW)
    assert frame == Frame(1_700_000_000, "emontx", {"power1": 100.0, "temp": 20.5})


def test_post_node_from_path_wins_and_is_cleaned() -> None:
    frame, _ = parse_post({"node": "5", "data": "1"}, now=NOW, node="my<node>")
    assert frame.node == "mynode"
    assert clean_node("") == "0" and clean_node(99) == "99" and clean_node(10.0) == "10"


def test_post_fulljson_and_its_reply_flag() -> None:
    frame, full = parse_post({"node": "n", "fulljson": '{"power":12.5,"on":true,"x":null}'}, now=NOW)
    assert full
    assert frame.inputs["power"] == 12.5 and frame.inputs["on"] == 1.0 and math.isnan(frame.inputs["x"])


def test_post_time_as_date_string_in_the_territory_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    frame, _ = parse_post({"csv": "1", "time": "2026-07-01 12:00:00"}, now=NOW, zone=paris)
    assert frame.t == 1_782_900_000  # 10:00 UTC
    frame, _ = parse_post({"csv": "1", "time": "2026-07-01T12:00:00+00:00"}, now=NOW, zone=paris)
    assert frame.t == 1_782_907_200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"node": "1"}, "Request contains no data via csv, json or data tag"),
        ({"csv": "100,abc"}, "Format error: csv value is not numeric"),
        ({"json": "power:abc"}, "Format error, json value is not numeric"),
        ({"json": ":5"}, "Format error, json key missing or invalid character"),
        ({"fulljson": '{"a":{"b":1}}'}, "Error decoding JSON string (invalid or too deeply nested)"),
        ({"fulljson": "[1,2]"}, "Input must be a JSON object"),
        ({"fulljson": '{"a":"text"}'}, "Format error, json value is not numeric"),
    ],
)
def test_post_format_errors_use_emoncms_messages(params: dict, message: str) -> None:
    with pytest.raises(EmoncmsFormatError) as err:
        parse_post(params, now=NOW)
    assert err.value.why == message


def test_bulk_sentat_maps_send_time_to_server_now() -> None:
    data = '[[1795347644,"testnode",{"power1":110,"power2":210,"vrms":231}],[1795347654,99,1.5,2.5]]'
    frames = parse_bulk(data, {"sentat": "1795347660"}, now=NOW)
    # time = now - (sentat - t): the emonhub's clock error cancels out
    assert frames == [
        Frame(NOW - 16, "testnode", {"power1": 110.0, "power2": 210.0, "vrms": 231.0}),
        Frame(NOW - 6, "99", {"1": 1.5, "2": 2.5}),
    ]


@pytest.mark.parametrize(
    ("params", "times"),
    [
        ({}, [NOW - 4, NOW - 2, NOW]),  # legacy: the last row arrived now
        ({"offset": "-10"}, [NOW + 10, NOW + 12, NOW + 14]),  # time_ref = now - offset
        ({"time": "1387730127"}, [1387730127, 1387730129, 1387730131]),
        ({"sentat": "4"}, [NOW - 4, NOW - 2, NOW]),
    ],
)
def test_bulk_time_reference_modes(params: dict, times: list[int]) -> None:
    frames = parse_bulk("[[0,16,1137],[2,17,1437,3164],[4,19,1412,3077]]", params, now=NOW)
    assert [f.t for f in frames] == times
    assert frames[1].inputs == {"1": 1437.0, "2": 3164.0}


def test_bulk_empty_value_keeps_its_number_and_short_rows_are_skipped() -> None:
    frames = parse_bulk('[[0,1],[0,1,"",null,7]]', {"time": "100"}, now=NOW)
    assert frames == [Frame(100, "1", {"3": 7.0})]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "Format error, json string supplied is not valid"),
        ("[]", "Format error, json string supplied is not valid"),
        ("[[0,1,2],[]]", "Format error, last item in bulk data does not contain any data"),
        ('[[0,{"a":1},2]]', "Format error, node must not be an object"),
        ('[[0,1,"12W"]]', "Format error, bulk value is not numeric"),
        ('[["soon",1,2]]', "Format error, time is not a unix time"),
    ],
)
def test_bulk_format_errors(data: str, message: str) -> None:
    with pytest.raises(EmoncmsFormatError) as err:
        parse_bulk(data, {"time": "0"}, now=NOW)
    assert err.value.why == message


def test_compressed_bodies() -> None:
    body = b"[[0,1,2]]"
    assert decode_body(zlib.compress(body)) == body
    assert decode_hex(zlib.compress(body).hex()) == body.decode()
    with pytest.raises(EmoncmsFormatError):
        decode_body(b"not zlib")
    with pytest.raises(EmoncmsFormatError):
        decode_body(zlib.compress(b"0" * (70 * 1024 * 1024)))  # a bomb is refused, not inflated


def test_mqtt_topics() -> None:
    assert parse_mqtt("emon/emontx/power1", b"123.5", base="emon", now=NOW) == Frame(NOW, "emontx", {"power1": 123.5})
    assert parse_mqtt("emon/emontx/a/b", b"1", base="emon", now=NOW).inputs == {"a_b": 1.0}
    # CSV on emon/<node> is numbered from 0 (emoncms_mqtt.php), unlike input/post
    assert parse_mqtt("emon/7", b"1,2", base="emon", now=NOW) == Frame(NOW, "7", {"0": 1.0, "1": 2.0})
    f = parse_mqtt("emon/7", b'{"power":5,"Time":1700000000}', base="emon", now=NOW)
    assert f == Frame(1_700_000_000, "7", {"power": 5.0})
    assert parse_mqtt("emon/7/sub", b'{"x":1}', base="emon", now=NOW).inputs == {"sub_x": 1.0}
    with pytest.raises(EmoncmsFormatError):
        parse_mqtt("other/7", b"1", base="emon", now=NOW)
    with pytest.raises(EmoncmsFormatError):
        parse_mqtt("emon/7/x", b"hello", base="emon", now=NOW)


def test_group_keeps_arrival_order_per_input() -> None:
    g = group([Frame(10, "a", {"x": 1.0, "y": 2.0}), Frame(20, "a", {"x": 3.0})])
    np.testing.assert_array_equal(g[("a", "x")][0], [10, 20])
    np.testing.assert_array_equal(g[("a", "x")][1], [1.0, 3.0])
    np.testing.assert_array_equal(g[("a", "y")][1], [2.0])


@pytest.mark.parametrize(
    ("name", "unit", "factor"),
    [("power1", "W", 1), ("vrms", "V", 1), ("temp2", "degC", 1), ("kwh", "Wh", 1000), ("irms", "A", 1), ("1", "", 1)],
)
def test_unit_guess(name: str, unit: str, factor: float) -> None:
    assert guess_unit(name)[0] == unit and guess_unit(name)[2] == factor


def test_series_key_is_a_valid_id() -> None:
    assert series_key_for("test node", "power/1") == "emon-test_node-power_1"
