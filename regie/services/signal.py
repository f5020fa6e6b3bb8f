"""The "when to consume" signal of a territory, from its public figures only (docs/signal.md).

Why here: the forecast (:mod:`regie.analytics.forecast`) and the levels (:mod:`regie.analytics.signal`) are pure;
this module reads what they need and nothing more: the territory's **published** balance per step
(:func:`regie.publication.balance.public_balance`: statistical secrecy, frozen cells — so the signal reveals
nothing about anyone that the territory page does not already show), the outdoor temperature (a weather station
describes no one: :func:`regie.governance.gate.read_open`), and a weather forecast when one is configured
(``signal_weather_forecast``: a file or an URL in one of the two formats of :func:`parse_weather`).

Data arrive late (Enedis delivers yesterday's load curves today), so the forecast starts where the public data
stop and runs past now: the horizon of a step is counted from the last public step, and its uncertainty is the
spread of the errors made at that horizon from the same time of day over the last ``ERROR_DAYS`` days.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import urllib.request
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from regie.analytics import forecast as fc
from regie.analytics import signal as sig
from regie.governance import gate
from regie.model import Inventory, SeriesKind, Step
from regie.publication.balance import public_balance
from regie.services import clear_sky
from regie.services.balance import BalanceRequestError, base_step
from regie.store import Store
from regie.store import published as cells

SIGNAL_STEP = 1800
#: Past days whose forecasts give the spread of the errors (one forecast a day, from the same time of day).
ERROR_DAYS = 28
#: History the forecast reads before the earliest of those forecasts (:data:`regie.analytics.forecast.NEEDED_DAYS`).
MODEL_DAYS = fc.NEEDED_DAYS
#: Fewer days of public data than this: no signal (a week of reference and a week of past errors at least).
MIN_DAYS = 15
#: Public data older than this before now: the signal says so instead of forecasting (levels "unknown").
MAX_LAG_S = 4 * 86_400
#: Days of recent public data the "how it works" figures are measured on.
SKILL_DAYS = 56
WEATHER_TIMEOUT_S = 10.0


class SignalError(ValueError):
    """The signal cannot be computed (says what and why)."""


@dataclass(frozen=True, slots=True)
class Signal:
    """The signal at ``issued``: one level per step from ``start`` (the step holding ``issued``)."""

    territory: str
    issued: int
    start: int
    step: int
    levels: list[str]
    expected_w: np.ndarray
    low_w: np.ndarray
    high_w: np.ndarray
    data_end: int | None  # end of the last public step used
    weather: str  # "forecast" (a weather forecast was used) or "clear-sky"
    stale: bool
    weather_problem: str | None = None  # why a configured forecast could not be used

    @property
    def now(self) -> str:
        return self.levels[0] if self.levels else sig.UNKNOWN

    def text(self) -> str:
        return sig.text_line(self.territory, self.start, self.step, self.levels, self.issued)


# ---------------------------------------------------------------- inputs


def signal_step(inv: Inventory) -> int:
    """30 minutes, or the metering step when it is coarser (the published cells cannot be cut)."""
    consumers = [s for s in inv.series if s.kind in (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION) and s.unit == "W"]
    base = base_step(consumers)
    return base * max(1, -(-SIGNAL_STEP // base))


def site_of(inv: Inventory) -> fc.Site:
    t = inv.territory
    if t.latitude is None or t.longitude is None:
        raise SignalError(f"territory {t.id} has no coordinates: the sun's position cannot be computed "
                          "(regie territory create --lat --lon)")  # fmt: skip
    alts = [s.altitude_m for s in inv.sites if s.altitude_m is not None]
    return fc.Site(t.latitude, t.longitude, float(np.median(alts)) if alts else 0.0, t.timezone)


def _temperature_series(inv: Inventory) -> str | None:
    ids = sorted(s.id for s in inv.series if s.kind is SeriesKind.TEMPERATURE and s.prm is None)
    return ids[0] if ids else None


def public_history(store: Store, inv: Inventory, a: int, b: int, step: int) -> fc.History:
    """The published balance of [a, b) per step as powers [W] (NaN where secrecy hides a figure), and the outdoor
    temperature on the same grid."""
    zone = inv.territory.zone
    try:
        bal = public_balance(store, datetime.fromtimestamp(a, zone), datetime.fromtimestamp(b, zone),
                             Step(seconds=step), inv.territory.id)  # fmt: skip
    except BalanceRequestError as exc:
        raise SignalError(str(exc)) from None
    t = a + step * np.arange((b - a) // step, dtype=np.int64)
    per_w = 3600.0 / step

    def watts(values: list[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v * per_w for v in values], dtype=float)

    p = bal["periods"]
    production = {src: watts(v) for src, v in p["production_wh"].items()}
    temp = None
    tid = _temperature_series(inv)
    if tid is not None:
        tt, tv = gate.read_open(store, tid, a, b)
        if len(tt):
            idx = (np.asarray(tt) - a) // step
            sums = np.bincount(idx, weights=tv, minlength=len(t))[: len(t)]
            counts = np.bincount(idx, minlength=len(t))[: len(t)]
            temp = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return fc.History(t, step, watts(p["consumption_wh"]), production, temp)


def _data_end(store: Store, inv: Inventory, step: int) -> int | None:
    period = store.data_period()
    if period is None:
        return None
    last = int(period[1].timestamp())
    return last - last % step + step


# ---------------------------------------------------------------- weather forecast


def parse_weather(text: str, origin: str = "the weather forecast") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Instants [UTC s] and values (``ghi`` [W/m²], ``temperature`` [°C]) of a weather forecast, in one of two
    documented formats (docs/signal.md):

    - CSV with a header ``time,ghi,temperature`` (either value column may be left out or empty), ``time`` an
      ISO 8601 date-time with its UTC offset, the instant the values hold at;
    - JSON in Open-Meteo's shape: ``{"utc_offset_seconds": 0, "hourly": {"time": [...],
      "shortwave_radiation": [...], "temperature_2m": [...]}}``, times local to ``utc_offset_seconds``.
    """
    body = text.lstrip()
    if body.startswith("{"):
        try:
            doc = json.loads(body)
            hourly = doc["hourly"]
            offset = int(doc.get("utc_offset_seconds", 0))
            times = [_instant(x, origin, offset) for x in hourly["time"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise SignalError(f"{origin}: not Open-Meteo JSON with hourly.time ({exc})") from None
        cols = {"ghi": hourly.get("shortwave_radiation"), "temperature": hourly.get("temperature_2m")}
        values = {k: _floats(v, origin, k) for k, v in cols.items() if v is not None}
        for k, v in values.items():
            if len(v) != len(times):
                raise SignalError(f"{origin}: {k} has {len(v)} values for {len(times)} times")
        return np.asarray(times, dtype=np.int64), values
    reader = csv.DictReader(io.StringIO(body))
    if not reader.fieldnames or "time" not in reader.fieldnames:
        raise SignalError(f"{origin}: CSV without a 'time' column in its header (expected time,ghi,temperature)")
    known = [k for k in ("ghi", "temperature") if k in reader.fieldnames]
    times, values = [], {k: [] for k in known}
    for line, row in enumerate(reader, start=2):
        times.append(_instant(row["time"], f"{origin}, line {line}"))
        for k in known:
            cell = (row.get(k) or "").strip()
            try:
                values[k].append(float(cell) if cell else np.nan)
            except ValueError:
                raise SignalError(f"{origin}, line {line}, column {k}: {cell!r} is not a number") from None
    return np.asarray(times, dtype=np.int64), {k: np.asarray(v, dtype=float) for k, v in values.items()}


def _instant(text: str, where: str, offset: int | None = None) -> int:
    try:
        d = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise SignalError(f"{where}: {text!r} is not an ISO 8601 date-time") from None
    if d.tzinfo is None:
        if offset is None:
            raise SignalError(f"{where}: {text!r} has no UTC offset (write e.g. 2025-06-01T12:00:00+00:00)")
        return int(d.replace(tzinfo=UTC).timestamp()) - offset
    return int(d.timestamp())


def _floats(values: list[Any], where: str, name: str) -> np.ndarray:
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        raise SignalError(f"{where}: {name} holds a value that is not a number") from None


def read_weather_source(source: str, timeout: float = WEATHER_TIMEOUT_S) -> str:
    """The text of a weather forecast from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as resp:
                return resp.read(16 * 1024 * 1024).decode("utf-8")
        except OSError as exc:
            raise SignalError(f"weather forecast {source}: {exc}") from None
    try:
        return Path(source).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise SignalError(f"weather forecast {source}: {exc.strerror or exc}") from None


def weather_on_grid(times: np.ndarray, values: dict[str, np.ndarray], t: np.ndarray, step: int) -> fc.Weather:
    """The forecast's values at the middle of each step (linear interpolation, NaN outside its span)."""
    order = np.argsort(times)
    x = times[order].astype(float)
    mid = (t + step // 2).astype(float)

    def on_grid(name: str) -> np.ndarray | None:
        if name not in values or len(x) == 0:
            return None
        y = values[name][order]
        ok = np.isfinite(y)
        if ok.sum() == 0:
            return None
        out = np.interp(mid, x[ok], y[ok])
        return np.where((mid >= x[ok][0]) & (mid <= x[ok][-1]), out, np.nan)

    return fc.Weather(ghi=on_grid("ghi"), temperature_c=on_grid("temperature"))


# ---------------------------------------------------------------- the signal


def _model(site: fc.Site, weather: fc.Weather | None, weather_t: np.ndarray | None) -> sig.Model:
    def model(h: fc.History, horizon_s: int) -> fc.Forecast:
        w = None
        if weather is not None and weather_t is not None:
            t = fc.future_grid(h.origin, horizon_s, h.step)
            idx = np.searchsorted(weather_t, t)
            inside = (idx < len(weather_t)) & (weather_t[np.minimum(idx, len(weather_t) - 1)] == t)

            def pick(v: np.ndarray | None) -> np.ndarray | None:
                if v is None:
                    return None
                return np.where(inside, v[np.minimum(idx, len(v) - 1)], np.nan)

            w = fc.Weather(pick(weather.ghi), pick(weather.temperature_c))
        return fc.forecast(h, horizon_s, site, w)

    return model


def compute_signal(store: Store, territory_id: str | None, now: float, weather_source: str | None = None) -> Signal:
    """The signal of a territory at ``now`` [UTC s]: one level per step of the next 36 hours (module docstring)."""
    inv = store.load_inventory(territory_id)
    step = signal_step(inv)
    start = int(now) - int(now) % step
    tid = inv.territory.id
    end = _data_end(store, inv, step)
    n = sig.HORIZON_S // step
    first = _first(store, step)
    if end is None or end < start - MAX_LAG_S or min(end, start) - first < MIN_DAYS * 86_400:
        nan = np.full(n, np.nan)
        return Signal(tid, int(now), start, step, [sig.UNKNOWN] * n, nan, nan, nan, end, "clear-sky", True)
    origin = min(end, start)
    lead = start - origin  # the public data stop this long before now
    horizon = lead + sig.HORIZON_S
    a = max(first - first % step, origin - (ERROR_DAYS + MODEL_DAYS) * 86_400)
    h = public_history(store, inv, a, origin, step)
    site = site_of(inv)
    clear_sky.prepare(site, step, a, origin + horizon)
    weather, used = None, "clear-sky"
    grid = fc.future_grid(origin, horizon, step)
    problem = None
    if weather_source:
        try:
            times, values = parse_weather(read_weather_source(weather_source), weather_source)
            weather = weather_on_grid(times, values, grid, step)
            used = "forecast"
        except SignalError as exc:  # a lamp keeps its signal when the weather service is down: clear sky
            problem = str(exc)
    model = _model(site, weather, grid if weather is not None else None)
    now_forecast = model(h, horizon)
    past_model = _model(site, None, None)  # past forecasts had no forecast file of their own: clear sky
    origins = [origin - k * 86_400 for k in range(ERROR_DAYS, 0, -1)]
    bt = sig.backtest(h, origins, horizon, past_model)
    q = sig.error_quantiles(bt.errors)
    keep = slice(lead // step, lead // step + n)
    expected = now_forecast.balance_w[keep]
    low, high = expected + q[0][keep], expected + q[1][keep]
    return Signal(tid, int(now), start, step, sig.levels(expected, low, high), expected, low, high, origin, used,
                  False, problem)  # fmt: skip


_SIGNAL_LOCK = threading.Lock()
_SIGNALS: weakref.WeakKeyDictionary[Store, dict[tuple[Any, ...], Signal]] = weakref.WeakKeyDictionary()


def current_signal(store: Store, territory_id: str | None, now: float, weather_source: str | None = None) -> Signal:
    """:func:`compute_signal`, kept per territory, step, weather source and state of the store: the levels
    change every step, not every request (``issued`` is the first request's)."""
    inv = store.load_inventory(territory_id)
    step = signal_step(inv)
    key = (inv.territory.id, int(now) - int(now) % step, weather_source, cells.fingerprint(store))
    with _SIGNAL_LOCK:
        cached = _SIGNALS.setdefault(store, {}).get(key)
    if cached is not None:
        return cached
    result = compute_signal(store, inv.territory.id, now, weather_source)
    with _SIGNAL_LOCK:
        per_store = _SIGNALS.setdefault(store, {})
        if len(per_store) > 16:
            per_store.clear()
        per_store[key] = result
    return result


def _first(store: Store, step: int) -> int:
    period = store.data_period()
    return int(period[0].timestamp()) if period else 0


# ---------------------------------------------------------------- how well it works, measured


_SKILL_LOCK = threading.Lock()
_SKILLS: weakref.WeakKeyDictionary[Store, dict[tuple[str, int, Any], dict[str, Any]]] = weakref.WeakKeyDictionary()


def measured_skill(store: Store, territory_id: str | None, until: int | None = None,
                   days: int = SKILL_DAYS) -> dict[str, Any] | None:  # fmt: skip
    """The signal's backtest on the territory's own recent public data: one forecast a day at noon local time
    over the last ``days`` days before ``until`` (default: the end of the data), each judged with the error
    spread of the ``ERROR_DAYS`` days before it, as the live signal is. None without enough data. Kept per state
    of the store."""
    inv = store.load_inventory(territory_id)
    step = signal_step(inv)
    end = _data_end(store, inv, step)
    if end is None:
        return None
    until = min(until or end, end)
    key = (inv.territory.id, until, cells.fingerprint(store))
    with _SKILL_LOCK:
        cached = _SKILLS.setdefault(store, {}).get(key)
    if cached is not None:
        return cached
    result = backtest_territory(store, inv, until - (days + 2) * 86_400, until)
    with _SKILL_LOCK:
        _SKILLS[store] = {key: result}
    return result


def _spread_known_at(bt: sig.Backtest, rows: list[int], origin: int, step: int) -> np.ndarray:
    """The error quantiles of the past forecasts ``rows`` as they were known at ``origin``: a past forecast's
    steps at or after ``origin`` had not happened yet (the live signal has no data there either)."""
    errors = bt.errors[rows].copy()
    when = bt.origins[rows][:, None] + step * np.arange(errors.shape[1], dtype=np.int64)[None, :]
    errors[when >= origin] = np.nan
    return sig.error_quantiles(errors)


def backtest_territory(store: Store, inv: Inventory, a: int, b: int) -> dict[str, Any] | None:
    """Forecasts issued every day at 12:00 local time over [a, b − 36 h], from the public data known then, each
    judged with the spread of the errors of the ``ERROR_DAYS`` days before it as far as they were known then (as the
    live signal is): MAE, skill against persistence, how often green (and red) was right."""
    step = signal_step(inv)
    first = max(_first(store, step), a - (ERROR_DAYS + MODEL_DAYS) * 86_400)
    first -= first % step
    b -= b % step
    if b - first < (MIN_DAYS + 2) * 86_400:
        return None
    h = public_history(store, inv, first, b, step)
    clear_sky.prepare(site_of(inv), step, first, b + sig.HORIZON_S)
    model = _model(site_of(inv), None, None)
    zone = inv.territory.zone
    noon = [int(datetime(d.year, d.month, d.day, 12, tzinfo=zone).timestamp())
            for d in _days(first + MIN_DAYS * 86_400, b - sig.HORIZON_S, zone)]  # fmt: skip
    noon = [o for o in noon if o >= a]
    if not noon:
        return None
    all_origins = sorted({o - k * 86_400 for o in noon for k in range(ERROR_DAYS + 1)})
    bt = sig.backtest(h, all_origins, sig.HORIZON_S, model)
    row = {int(o): i for i, o in enumerate(bt.origins)}
    exp, per, act, lows, highs, kept = [], [], [], [], [], []
    for o in noon:
        past = [row[o - k * 86_400] for k in range(ERROR_DAYS, 0, -1) if o - k * 86_400 in row]
        if o not in row or not past:
            continue
        q = _spread_known_at(bt, past, o, step)
        i = row[o]
        exp.append(bt.expected[i]), per.append(bt.persisted[i]), act.append(bt.actual[i])
        lows.append(q[0]), highs.append(q[1]), kept.append(o)
    if not exp:
        return None
    judged = sig.Backtest(np.asarray(kept), np.array(exp), np.array(per), np.array(act))
    s = sig.skill(judged, np.array(lows), np.array(highs))
    return {"from": datetime.fromtimestamp(kept[0], zone).date().isoformat(),
            "until": datetime.fromtimestamp(kept[-1], zone).date().isoformat(),
            "horizon_hours": sig.HORIZON_S // 3600, "step_s": step, **s.as_dict()}  # fmt: skip


#: The day-ahead signal: issued at this local hour, it is read from this many seconds after (so each half-hour
#: of a day takes its level from the noon before, 12 to 36 hours ahead).
DAY_AHEAD_HOUR = 12
DAY_AHEAD_LEAD_S = 12 * 3600


def day_ahead_levels(store: Store, inv: Inventory, a: int, b: int) -> tuple[np.ndarray, int, list[str]]:
    """The level of each signal step of [a, b) as the **day-ahead signal** said it: the one issued at the last
    noon (local time) at least 12 hours before the step, from the public data known at that noon, its spread
    being the errors of the ``ERROR_DAYS`` forecasts before it as far as they were known then — what
    :func:`compute_signal` returns at that noon when the data are up to date. Returns (starts of the steps
    [UTC s], step [s], levels); ``unknown`` where there was not enough public data then.

    Why a replay: the levels as issued are not kept; the public data they came from are, and the forecast is
    deterministic, so they are computed again (the monthly digest's "green hours")."""
    step = signal_step(inv)
    zone = inv.territory.zone
    a -= a % step
    b -= b % step
    t = np.arange(a, b, step, dtype=np.int64)
    levels = [sig.UNKNOWN] * len(t)
    end = _data_end(store, inv, step)
    if not len(t) or end is None:
        return t, step, levels
    noons = [int(datetime(d.year, d.month, d.day, DAY_AHEAD_HOUR, tzinfo=zone).timestamp())
             for d in _days(a - 3 * 86_400, b, zone)]  # fmt: skip
    issued = np.asarray(noons, dtype=np.int64)
    which = np.searchsorted(issued, t - DAY_AHEAD_LEAD_S, side="right") - 1  # the last noon ≥ 12 h before
    first = _first(store, step)
    wanted = sorted({int(issued[i]) for i in which if i >= 0 and issued[i] <= end
                     and issued[i] - first >= MIN_DAYS * 86_400})  # fmt: skip
    if not wanted:
        return t, step, levels
    start = max(first - first % step, wanted[0] - (ERROR_DAYS + MODEL_DAYS + 1) * 86_400)
    h = public_history(store, inv, start, min(end, wanted[-1]), step)
    clear_sky.prepare(site_of(inv), step, start, wanted[-1] + sig.HORIZON_S)
    origins = sorted({o - k * 86_400 for o in wanted for k in range(ERROR_DAYS + 1)})
    bt = sig.backtest(h, [o for o in origins if o > start], sig.HORIZON_S, _model(site_of(inv), None, None))
    row = {int(o): i for i, o in enumerate(bt.origins)}
    by_origin: dict[int, list[str]] = {}
    for o in wanted:
        past = [row[o - k * 86_400] for k in range(ERROR_DAYS, 0, -1) if o - k * 86_400 in row]
        if o not in row or not past:
            continue
        q = _spread_known_at(bt, past, o, step)
        e = bt.expected[row[o]]
        by_origin[o] = sig.levels(e, e + q[0], e + q[1])
    for i, (ti, w) in enumerate(zip(t, which, strict=True)):
        o = int(issued[w]) if w >= 0 else None
        if o in by_origin:
            j = int(ti - o) // step
            if j < len(by_origin[o]):
                levels[i] = by_origin[o][j]
    return t, step, levels


def _days(a: int, b: int, zone) -> list:
    d0 = datetime.fromtimestamp(a, zone).date()
    d1 = datetime.fromtimestamp(b, zone).date()
    return [d0.fromordinal(o) for o in range(d0.toordinal() + 1, d1.toordinal() + 1)]


# ---------------------------------------------------------------- JSON-LD


#: The JSON-LD context of ``/api/signal`` and of the MQTT topic ``.../json`` (every term in docs/signal.md).
CONTEXT: dict[str, Any] = {
    "@vocab": "urn:regie:signal#",
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "territory": "schema:areaServed",
    "issued": {"@id": "schema:dateCreated", "@type": "xsd:dateTime"},
    "start": {"@id": "schema:startTime", "@type": "xsd:dateTime"},
    "end": {"@id": "schema:endTime", "@type": "xsd:dateTime"},
    "dataUntil": {"@type": "xsd:dateTime"},
    "steps": {"@container": "@list"},
    "unitCode": "schema:unitCode",
}


def as_jsonld(s: Signal, zone: Any) -> dict[str, Any]:
    """The signal as a JSON-LD document: one entry per step with its level and expected balance [W] and bounds."""

    def iso(x: int) -> str:
        return datetime.fromtimestamp(int(x), zone).isoformat()

    def watts(x: float) -> float | None:
        return round(float(x)) if np.isfinite(x) else None

    steps = [{"start": iso(s.start + i * s.step), "end": iso(s.start + (i + 1) * s.step), "level": lv,
              "expectedBalance": watts(s.expected_w[i]), "balanceLow": watts(s.low_w[i]),
              "balanceHigh": watts(s.high_w[i])} for i, lv in enumerate(s.levels)]  # fmt: skip
    return {
        "@context": CONTEXT,
        "@type": "ConsumptionSignal",
        "territory": s.territory,
        "issued": iso(s.issued),
        "now": s.now,
        "stale": s.stale,
        "dataUntil": iso(s.data_end) if s.data_end is not None else None,
        "weather": s.weather,
        "weatherProblem": s.weather_problem,
        "stepSeconds": s.step,
        "unitCode": "WTT",
        "quantiles": [sig.LOW, sig.HIGH],
        "text": s.text(),
        "steps": steps,
    }


# ---------------------------------------------------------------- MQTT


def mqtt_topic(template: str, territory: str) -> str:
    """The retained topic of a territory's signal (``{territory}`` replaced by its id)."""
    topic = template.replace("{territory}", territory)
    if not topic or any(c in topic for c in "+#\0"):
        raise SignalError(f"signal_mqtt_topic {template!r}: an MQTT topic to publish to has no '+', '#' or NUL")
    return topic


def publish_mqtt(s: Signal, zone: Any, host: str, port: int, topic: str, username: str | None = None,
                 password: str | None = None, timeout: float = 10.0) -> list[str]:  # fmt: skip
    """Publish the signal, retained (a lamp that connects gets it at once), QoS 1, waiting for the broker's
    acknowledgements: the text line on ``topic``, the JSON-LD on ``topic/json``. Returns the topics written."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"regie-signal-{s.territory}-{s.issued}")
    if username:
        client.username_pw_set(username, password)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise SignalError(f"MQTT broker {host}:{port}: {exc}") from None
    client.loop_start()
    try:
        messages = {topic: s.text(), f"{topic}/json": json.dumps(as_jsonld(s, zone), separators=(",", ":"))}
        infos = [client.publish(t, payload, qos=1, retain=True) for t, payload in messages.items()]
        for info in infos:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise SignalError(f"MQTT broker {host}:{port} did not acknowledge the signal within {timeout:g} s")
        return list(messages)
    finally:
        client.disconnect()
        client.loop_stop()
