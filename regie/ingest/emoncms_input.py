"""Parse what emoncms clients send (``/input/post``, ``/input/bulk``, MQTT ``emon/...``) into readings.

Pure functions, no I/O: the HTTP routes (:mod:`regie.web.emoncms`) and the MQTT ingester
(:mod:`regie.ingest.mqtt`) call them and hand the result to :mod:`regie.ingest.inputs`.

The rules are emoncms's own, read from its source (emoncms/emoncms, AGPL; cited, not copied):

- ``Modules/input/input_methods.php``, ``InputMethods::post``: node from the path (``/input/post/<node>``)
  or ``node``, cleaned with ``preg_replace('/[^\\p{N}\\p{L}_\\s\\-.]/u', '', $nodeid)``, ``""`` → ``0``;
  ``time`` as unix seconds (else the server's now); data from ``json``, then ``fulljson``, ``csv``,
  ``data`` (first present wins). ``fulljson`` is real JSON (depth ≤ 2, an object); the others are the
  legacy "json": characters outside ``[\\p{N}\\p{L}_\\s\\-.:,]`` are dropped, the text is split on ``,``,
  ``name:value`` pairs are named inputs and bare values are numbered 1, 2, 3… (csv). ``null`` is allowed.
- ``InputMethods::bulk``: ``data=[[t, node, v1, v2, ...], ...]``. Time reference, in this order:
  ``sentat`` → ``time_ref = now - sentat``; ``offset`` → ``time_ref = now - offset``; ``time`` →
  ``time_ref = time``; none (legacy) → ``time_ref = now - t_last``. Each row's time is
  ``time_ref + (int) t``, so with ``sentat`` a row sent ``sentat - t`` seconds before the request is
  stamped that long before the server's now (the sender's clock error cancels out). Rows of fewer than
  3 items are skipped; values are numbered from 1 and an empty value (``""``, ``null``) keeps its number
  without a reading; a ``{"name": value}`` object names its inputs (emonhub ``sendnames``; regie takes
  every pair of the object, as current emoncms does — the 2019 source took only the first).
- The error texts below are emoncms's ("Format error, json string supplied is not valid", ...).
- Compressed bulk bodies: emonhub ``interfacers/EmonHubEmoncmsHTTPInterfacer.py`` sends
  ``zlib.compress(data)`` as the raw POST body with ``&cb=1`` ("cb = compression binary") and no
  Content-Type; ``c=1`` carries the same zlib stream hex-encoded in ``data``. regie accepts a
  compressed body holding either the bare JSON (emonhub) or a form ``data=...&...``.
- MQTT (``scripts/services/emoncms_mqtt/emoncms_mqtt.php``, ``message()``): ``:`` is dropped from the
  topic, the base topic is removed, the first level is the node. A payload that decodes as a JSON object
  (depth ≤ 2) names its inputs, a ``time`` key (any case; unix seconds or a date string) stamps them,
  else the receipt time does; deeper topic levels prefix the names (``emon/n/a/b`` + ``{"x":1}`` →
  ``a_b_x``). Otherwise ``emon/<node>/<a>/<b>`` carries one value for input ``a_b``, and ``emon/<node>``
  carries CSV values numbered **from 0** (``$name = 0; ... $name++``, unlike ``input/post``'s 1).

Deviation, on purpose: PHP's ``(float) "abc"`` is 0; regie refuses a text where a number is expected
(the whole request, with the emoncms-style message) instead of storing a made-up zero.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from regie.ingest.errors import IngestError
from regie.ingest.limits import MAX_INFLATED_BODY

_NODE_DROP = re.compile(r"[^\w\s\-.]", re.UNICODE)  # \w = \p{L} \p{N} _ in Python's Unicode regex
_LEGACY_DROP = re.compile(r"[^\w\s\-.:,]", re.UNICODE)
_PHP_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
MAX_BODY = MAX_INFLATED_BODY  # a decompressed bulk body larger than this is refused (zip bomb)

Samples = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


class EmoncmsFormatError(IngestError):
    """A request emoncms would refuse; ``why`` is emoncms's own message, sent back to the client."""


class EmoncmsRangeError(EmoncmsFormatError):
    """A request emoncms itself would choke on (``time=1e400``, a value past a float, JSON nested 100 000
    deep): refused with a message and HTTP 400, where emoncms would fail."""


@dataclass(slots=True)
class Frame:
    """The inputs of one node at one instant (one row of a bulk request, one post, one MQTT message)."""

    t: int
    node: str
    inputs: dict[str, float] = field(default_factory=dict)


def clean_node(node: object) -> str:
    """A node id as emoncms keeps it: letters, digits, ``_``, space, ``-``, ``.``; empty → ``"0"``."""
    if isinstance(node, bool):
        node = int(node)
    if isinstance(node, float) and node.is_integer():
        node = int(node)
    text = _NODE_DROP.sub("", str(node)).strip() if node is not None else ""
    return text or "0"


def clean_name(name: object) -> str:
    """An input name: the node rule, so names from JSON keys cannot smuggle odd characters."""
    return _NODE_DROP.sub("", str(name)).strip()


def is_php_numeric(text: str) -> bool:
    return bool(_PHP_NUMERIC.match(text))


def _number(value: object, what: str) -> float:
    """A JSON value as a reading: numbers, numeric strings and booleans; NaN for null/empty. A number too
    large for a float (``1e400``, a 400-digit integer) is refused, not stored as infinity."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    x: float | None = None
    try:
        if isinstance(value, int | float):
            x = float(value)
        elif isinstance(value, str):
            if value.strip() == "" or value == "null":
                return math.nan
            if is_php_numeric(value):
                x = float(value)
    except OverflowError:
        x = math.inf
    if x is None:
        raise EmoncmsFormatError(f"Format error, {what} value is not numeric", field=what)
    if math.isinf(x):
        raise EmoncmsRangeError(f"Format error, {what} value is out of range", field=what)
    return x


#: A time beyond ±2^40 s (±34 000 years) is no reading's: refused before it overflows an int64 sum.
MAX_ABS_TIME = 1 << 40


def _bounded(t: int, what: str) -> int:
    if abs(t) > MAX_ABS_TIME:
        raise EmoncmsRangeError(f"Format error, {what} is out of range", field=what)
    return t


def _int_time(value: object, what: str) -> int:
    """PHP ``(int)`` of a time: truncates floats, accepts numeric strings, refuses anything else (and
    anything infinite or beyond :data:`MAX_ABS_TIME`: ``1e400`` is not a time)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _bounded(value, what)
    if isinstance(value, float) and math.isfinite(value):
        return _bounded(int(value), what)
    if isinstance(value, str) and is_php_numeric(value):
        if not math.isfinite(float(value)):
            raise EmoncmsRangeError(f"Format error, {what} is out of range", field=what)
        return _bounded(int(float(value)), what)
    if isinstance(value, float):
        raise EmoncmsRangeError(f"Format error, {what} is out of range", field=what)
    raise EmoncmsFormatError(f"Format error, {what} is not a unix time", field=what)


def parse_time(text: str, zone: ZoneInfo | None = None) -> int:
    """``time`` of an input post: unix seconds, or a date string (ISO 8601; a date without offset is
    read in ``zone``, the territory's, as emoncms reads it in the server's zone with ``strtotime``)."""
    text = str(text).strip()
    if is_php_numeric(text):
        return _int_time(text, "time")
    try:
        dt = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=zone or ZoneInfo("UTC"))
        return int(dt.timestamp())
    except (ValueError, OverflowError):
        raise EmoncmsFormatError(f"Error: bad timestamp format {text[:40]!r}", field="time") from None


def decode_body(body: bytes) -> bytes:
    """Inflate a ``cb=1`` body (zlib, as emonhub's ``zlib.compress``), refusing bombs and garbage."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(body, MAX_BODY)
    except zlib.error:
        raise EmoncmsFormatError("Format error, data could not be decompressed", field="cb") from None
    if d.unconsumed_tail:
        raise EmoncmsFormatError("Format error, decompressed data too large", field="cb")
    return out


def decode_hex(data: str) -> str:
    """``c=1``: ``data`` is the hex of a zlib stream."""
    try:
        raw = bytes.fromhex(data.strip())
    except ValueError:
        raise EmoncmsFormatError("Format error, data is not hexadecimal", field="data") from None
    return decode_body(raw).decode("utf-8", errors="replace")


def parse_legacy(datain: str) -> dict[str, float]:
    """The ``json``/``csv``/``data`` text of ``input/post``: ``a:1,b:2`` pairs or ``1,2,3`` values."""
    inputs: dict[str, float] = {}
    csvi = 0
    for pair in _LEGACY_DROP.sub("", datain).split(","):
        kv = pair.split(":")
        if len(kv) > 1:
            name, value = kv[0].strip(), kv[1].strip()
            if name == "":
                raise EmoncmsFormatError("Format error, json key missing or invalid character", field="json")
            if not is_php_numeric(value) and value != "null":
                raise EmoncmsFormatError("Format error, json value is not numeric", field="json")
            inputs[name] = math.nan if value == "null" else _number(value, "json")
        else:
            value = kv[0].strip()
            if not is_php_numeric(value) and value != "null":
                raise EmoncmsFormatError("Format error: csv value is not numeric", field="csv")
            csvi += 1
            inputs[str(csvi)] = math.nan if value == "null" else _number(value, "csv")
    return inputs


def _json(text: str | bytes) -> object:
    """``json.loads``, or None for invalid JSON; JSON nested too deep for Python's stack (100 000 ``[``: a
    RecursionError) is an :class:`EmoncmsRangeError`."""
    try:
        return json.loads(text)
    except ValueError:
        return None
    except RecursionError:
        raise EmoncmsRangeError("Format error, JSON nested too deeply", field="data") from None


def parse_fulljson(datain: str) -> tuple[dict[str, float], int | None]:
    """A ``fulljson`` object (``json_decode($datain, true, 2)``); its ``time`` key, if any, is returned."""
    obj = _json(datain)
    if obj is None or (isinstance(obj, dict) and any(isinstance(v, dict | list) for v in obj.values())):
        raise EmoncmsFormatError("Error decoding JSON string (invalid or too deeply nested)", field="fulljson")
    if not isinstance(obj, dict):
        raise EmoncmsFormatError("Input must be a JSON object", field="fulljson")
    t = None
    if "time" in obj:
        t = _int_time(obj.pop("time"), "time")
    inputs = {}
    for k, v in obj.items():
        name = clean_name(k)
        if name == "":
            raise EmoncmsFormatError("Format error, json key missing or invalid character", field="fulljson")
        inputs[name] = _number(v, "json")
    return inputs, t


def parse_post(
    params: Mapping[str, str], *, now: int, node: str | None = None, zone: ZoneInfo | None = None
) -> tuple[Frame, bool]:
    """One ``input/post`` request → (frame, whether it was ``fulljson``, which changes the reply)."""
    node_id = clean_node(node if node else params.get("node", "0"))
    t = parse_time(params["time"], zone) if "time" in params else now
    for key in ("json", "fulljson", "csv", "data"):
        if key in params:
            datain, kind = params[key], key
            break
    else:
        datain, kind = "", ""
    if datain == "":
        raise EmoncmsFormatError("Request contains no data via csv, json or data tag")
    if kind == "fulljson":
        inputs, t_json = parse_fulljson(datain)
        t = t_json if t_json is not None else t
    else:
        inputs = parse_legacy(datain)
    return Frame(t, node_id, inputs), kind == "fulljson"


def time_reference(params: Mapping[str, str], last_t: object, now: int) -> int:
    """The bulk time reference: ``sentat``, ``offset``, ``time`` or legacy (see the module doc)."""
    if "sentat" in params:
        return now - _int_time(params["sentat"], "sentat")
    if "offset" in params:
        return now - _int_time(params["offset"], "offset")
    if "time" in params:
        return _int_time(params["time"], "time")
    return now - _int_time(last_t, "time")


def parse_bulk(data: str | bytes, params: Mapping[str, str], *, now: int) -> list[Frame]:
    """``input/bulk`` ``data`` → frames, with emoncms's time rules (module doc)."""
    rows = _json(data)
    if not isinstance(rows, list) or not rows:
        raise EmoncmsFormatError("Format error, json string supplied is not valid", field="data")
    last = rows[-1]
    if not isinstance(last, list) or not last:
        raise EmoncmsFormatError("Format error, last item in bulk data does not contain any data", field="data")
    time_ref = time_reference(params, last[0], now)
    frames: list[Frame] = []
    for line, item in enumerate(rows, start=1):
        if not isinstance(item, list):
            raise EmoncmsFormatError("Format error, bulk item is not a list", line=line, field="data")
        if len(item) <= 2:
            continue
        t = _bounded(time_ref + _int_time(item[0], "time"), "time")
        if isinstance(item[1], dict | list):
            raise EmoncmsFormatError("Format error, node must not be an object", line=line, field="data")
        inputs: dict[str, float] = {}
        name = 1
        for value in item[2:]:
            if isinstance(value, dict):
                for k, v in value.items():
                    key = clean_name(k)
                    if key == "":
                        raise EmoncmsFormatError("Format error, json key missing or invalid character", line=line)
                    inputs[key] = _float_or_raise(v, line)
                continue
            if value is not None and value != "":
                inputs[str(name)] = _float_or_raise(value, line)
            name += 1
        frames.append(Frame(t, clean_node(item[1]), inputs))
    return frames


def _float_or_raise(value: object, line: int) -> float:
    try:
        return _number(value, "bulk")
    except EmoncmsFormatError as exc:
        raise EmoncmsFormatError(exc.why, line=line, field="data") from None


def parse_mqtt(topic: str, payload: bytes, *, base: str, now: int, zone: ZoneInfo | None = None) -> Frame:
    """One MQTT message of the emoncms convention (module doc) → a frame."""
    topic = topic.replace(":", "")
    base = base.rstrip("/")
    if topic != base and not topic.startswith(base + "/"):
        raise EmoncmsFormatError(f"topic {topic!r} is not under {base}/", field="topic")
    parts = topic[len(base) + 1 :].split("/")
    if not parts[0]:
        raise EmoncmsFormatError(f"topic {topic!r} names no node", field="topic")
    node = clean_node(parts[0])
    text = payload.decode("utf-8", errors="replace").strip()
    obj = None
    if text[:1] in ("{", "["):
        obj = _json(text)
    if isinstance(obj, dict | list):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        prefix = "".join(p + "_" for p in parts[1:])
        t, inputs = now, {}
        for k, v in items:
            if isinstance(v, dict | list):
                raise EmoncmsFormatError("Error decoding JSON string (invalid or too deeply nested)", field="payload")
            if str(k).lower() == "time":
                t = _int_time(v, "time") if not isinstance(v, str) or is_php_numeric(v) else parse_time(v, zone)
                continue
            name = clean_name(prefix + str(k))
            if name:
                inputs[name] = _number(v, "mqtt")
        return Frame(t, node, inputs)
    if len(parts) >= 2:
        name = clean_name("_".join(parts[1:]))
        if not name:
            raise EmoncmsFormatError(f"topic {topic!r} has an empty input name", field="topic")
        return Frame(now, node, {name: _number(text, "mqtt")})
    return Frame(now, node, {str(i): _number(v, "mqtt") for i, v in enumerate(text.split(","))})


def group(frames: Iterable[Frame]) -> Samples:
    """Frames → one (t, values) pair of arrays per (node, input), in arrival order (the store keeps the
    last value of a repeated instant)."""
    ts: dict[tuple[str, str], list[int]] = {}
    vs: dict[tuple[str, str], list[float]] = {}
    for f in frames:
        for name, v in f.inputs.items():
            key = (f.node, name)
            lt = ts.get(key)
            if lt is None:
                ts[key] = [f.t]
                vs[key] = [v]
            else:
                lt.append(f.t)
                vs[key].append(v)
    return {k: (np.array(ts[k], dtype=np.int64), np.array(vs[k], dtype=np.float64)) for k in ts}
