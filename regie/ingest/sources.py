"""What the file adapters share: the batch they yield, and vectorised parsing of times, numbers and units.

Why vectorised: an Enedis R63 file or an emoncms archive holds millions of points; one Python call per
row caps an import at ~100,000 points/s, numpy over whole columns reaches millions. Errors still name the
file, the line and the field: the vectorised check finds the first bad row, then says what is wrong with it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from regie.ingest.errors import IngestError
from regie.model import IntervalConvention, Readings, SeriesKind, Step

#: A reading more than this far in the future is refused: a wrong year or zone, never a real measurement.
MAX_FUTURE_S = 86400

#: Units a file may use, mapped onto the unit regie stores and the factor to get there (kW → W × 1000).
UNIT_SCALE: dict[str, tuple[str, float]] = {
    "W": ("W", 1.0),
    "kW": ("W", 1e3),
    "MW": ("W", 1e6),
    "Wh": ("Wh", 1.0),
    "kWh": ("Wh", 1e3),
    "MWh": ("Wh", 1e6),
    "VA": ("VA", 1.0),
    "kVA": ("VA", 1e3),
    "degC": ("degC", 1.0),
    "°C": ("degC", 1.0),
    "C": ("degC", 1.0),
    "%": ("%", 1.0),
    "V": ("V", 1.0),
    "A": ("A", 1.0),
}
_UNIT_FOLDED = {k.casefold(): v for k, v in UNIT_SCALE.items()}


def unit_scale(unit: str, *, source: str | None = None, line: int | None = None, field: str | None = None):
    """(regie unit, factor) for a unit as files write it; an unknown unit is an IngestError, never a guess."""
    text = str(unit).strip()
    found = UNIT_SCALE.get(text) or _UNIT_FOLDED.get(text.casefold())
    if found is None:
        known = ", ".join(UNIT_SCALE)
        raise IngestError(f"unknown unit {text!r} (known: {known})", source=source, line=line, field=field)
    return found


@dataclass(frozen=True, slots=True)
class SourceReadings(Readings):
    """A :class:`Readings` batch keyed by the source's own identifier (PRM, feed id, column), with what the
    importer needs to place it on a series.

    ``t`` is already UTC and stamped at the interval *start* (END-stamped sources are converted by the
    adapter, once); ``values`` are already in ``unit`` (kW → W done). ``steps`` gives each point's interval
    [s] for interval data, so that the importer can turn average power into energy (Wh = W × s / 3600) or
    back when the target series uses the other quantity. ``progress`` is the fraction of the source read so
    far, for progress bars.
    """

    unit: str = "W"
    step: Step | None = None
    steps: np.ndarray | None = None
    kind: SeriesKind | None = None
    prm: str | None = None
    name: str = ""
    convention: IntervalConvention = IntervalConvention.START
    progress: float | None = None


def series_kind(kind: SeriesKind | str | None, default: SeriesKind, *, source: str | None = None) -> SeriesKind:
    """The ``kind`` option of an import (consumption, production, ...), or ``default`` when not given."""
    if not kind:
        return default
    try:
        return SeriesKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in SeriesKind)
        raise IngestError(f"unknown kind {str(kind)[:40]!r}: one of {known}", source=source, field="kind") from None


def check_not_future(t: np.ndarray, lines: np.ndarray | None, *, source: str, field: str, now: float | None = None):
    """Refuse readings stamped later than now + 1 day (a wrong year, a unit mistake in an epoch...)."""
    if len(t) == 0:
        return
    limit = int(now if now is not None else time.time()) + MAX_FUTURE_S
    bad = np.flatnonzero(t > limit)
    if len(bad):
        i = int(bad[0])
        when = pd.Timestamp(int(t[i]), unit="s", tz="UTC").isoformat()
        raise IngestError(
            f"timestamp {when} is in the future (more than a day ahead)",
            source=source,
            line=int(lines[i]) if lines is not None else None,
            field=field,
        )


def parse_numbers(texts: np.ndarray, *, decimal_comma: bool, source: str, field: str, lines: np.ndarray) -> np.ndarray:
    """Strings to float64; empty = NaN (a gap). Text that is not a number is an IngestError naming its line.

    Fast path: the column as fixed-width bytes, ``,`` → ``.`` in place, numpy's C conversion; only when
    that fails does a slow pass look for the offending row.
    """
    obj = np.asarray(texts, dtype=object)
    if len(obj) == 0:
        return np.zeros(0)
    try:
        raw = np.array(obj, dtype="S")
    except (UnicodeEncodeError, TypeError):
        raw = None
    if raw is not None:
        if raw.dtype.itemsize < 3:
            raw = raw.astype("S3")
        m = raw.view(np.uint8).reshape(len(raw), raw.dtype.itemsize)
        if decimal_comma:
            m[m == ord(",")] = ord(".")
        raw[m[:, 0] == 0] = b"nan"  # empty: a gap
        try:
            values = raw.astype(np.float64)
        except ValueError:
            pass
        else:
            literal = np.isnan(values) & (m[:, 0] != 0) & (raw != b"nan")
            if not literal.any() and not np.isinf(values).any():
                return values
    return _parse_numbers_slow(obj, decimal_comma=decimal_comma, source=source, field=field, lines=lines)


def _parse_numbers_slow(obj: np.ndarray, *, decimal_comma: bool, source: str, field: str, lines: np.ndarray):
    s = pd.Series(obj, dtype=object, copy=False)
    missing = s.isna().to_numpy()
    if missing.any():
        s = s.where(~missing, "")
    s = s.astype(str)
    if decimal_comma:
        s = s.str.replace(",", ".", regex=False)
    stripped = s.str.strip()
    values = pd.to_numeric(stripped.replace("", np.nan), errors="coerce").to_numpy(np.float64, copy=True)
    bad = np.isnan(values) & (stripped != "").to_numpy() & (stripped.str.lower() != "nan").to_numpy()
    bad |= np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IngestError(f"{obj[i]!r} is not a number", source=source, line=int(lines[i]), field=field)
    return values


class _Shown:
    """Bytes cells shown as text in error messages."""

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw

    def __getitem__(self, i):
        if isinstance(i, int | np.integer):
            return bytes(self.raw[i]).decode("utf-8", errors="replace")
        return _Shown(self.raw[i])

    def __len__(self) -> int:
        return len(self.raw)


def _bad_time(texts: np.ndarray, ok: np.ndarray, *, source: str, field: str, lines: np.ndarray, why: str):
    i = int(np.flatnonzero(~ok)[0])
    raise IngestError(f"{texts[i]!r} {why}", source=source, line=int(lines[i]), field=field)


def parse_times(
    texts: np.ndarray,
    *,
    zone: ZoneInfo | str,
    source: str,
    field: str,
    lines: np.ndarray,
    keys: np.ndarray | None = None,
    seen: dict | None = None,
) -> np.ndarray:
    """ISO 8601 strings to UTC unix seconds (int64), whole columns at once.

    Accepted: ``YYYY-MM-DD``, ``YYYY-MM-DD[T ]HH:MM[:SS]``, optionally followed by ``Z``, ``±HH:MM`` or
    ``±HHMM``. Times with an offset are exact. Local times without one are placed in ``zone``: a wall time
    that does not exist (the spring-forward hour) is an error; one that happens twice (the autumn hour) is
    taken, in file order, as summer time the first time it appears and winter time the second time — per
    ``keys`` (one PRM's rows) when a file interleaves several sources.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.int64)
    if texts.dtype.kind == "S":  # already bytes (read so by pandas): shown decoded in messages
        raw = texts
        obj = _Shown(texts)
    else:
        obj = np.asarray(texts, dtype=object)
        try:
            raw = np.array(obj, dtype="S")
        except (UnicodeEncodeError, TypeError):
            ascii_ok = np.array([str(x).isascii() for x in obj])
            _bad_time(obj, ascii_ok, source=source, field=field, lines=lines, why="is not an ISO 8601 time")
    width = raw.dtype.itemsize
    if width < 19:  # pad so that every layout can be sliced the same way
        raw = raw.astype("S19")
        width = 19
    m = raw.view(np.uint8).reshape(n, width)
    lengths = np.char.str_len(raw)
    date_only = lengths == 10
    main = np.array(m[:, :19], order="C")  # a copy: ``raw`` may be a read-only buffer
    has_time = ~date_only
    # A date alone means midnight; "HH:MM" without seconds gets ":00".
    short = has_time & ((lengths == 16) | ((lengths > 16) & (m[:, 16] != ord(":"))))
    main[date_only, 10:] = np.frombuffer(b"T00:00:00", np.uint8)
    main[short, 16:] = np.frombuffer(b":00", np.uint8)
    sep_ok = date_only | (main[:, 10] == ord("T")) | (main[:, 10] == ord(" "))
    main[:, 10] = ord("T")
    suffix_at = np.where(date_only, 10, np.where(short, 16, 19))
    # Offset suffix: "", "Z", "+HH:MM", "+HHMM" (vectorised by the suffix's length).
    suffix_len = lengths - suffix_at
    idx = np.arange(n)
    first = m[idx, np.minimum(suffix_at, width - 1)]
    naive = suffix_len == 0
    zulu = (suffix_len == 1) & (first == ord("Z"))
    signed = ((suffix_len == 6) | (suffix_len == 5)) & ((first == ord("+")) | (first == ord("-")))
    ok = sep_ok & (naive | zulu | signed) & (lengths >= 10)
    if not ok.all():
        _bad_time(obj, ok, source=source, field=field, lines=lines, why="is not an ISO 8601 time")
    offset = np.zeros(n, np.int64)
    if signed.any():
        s = np.flatnonzero(signed)
        a = suffix_at[s]
        digits = m[s[:, None], a[:, None] + np.array([1, 2])] - 48
        colon = suffix_len[s] == 6
        mpos = a + np.where(colon, 4, 3)
        mins = m[s[:, None], mpos[:, None] + np.array([0, 1])] - 48
        good = (digits <= 9).all(1) & (mins <= 9).all(1) & (~colon | (m[s, a + 3] == ord(":")))
        if not good.all():
            bad = np.ones(n, bool)
            bad[s[~good]] = False
            _bad_time(obj, bad, source=source, field=field, lines=lines, why="has a malformed UTC offset")
        hh = digits[:, 0].astype(np.int64) * 10 + digits[:, 1]
        mm = mins[:, 0].astype(np.int64) * 10 + mins[:, 1]
        sign = np.where(m[s, a] == ord("-"), -1, 1)
        offset[s] = sign * (hh * 3600 + mm * 60)
    try:
        wall = main.view("S19").ravel().astype("datetime64[s]").astype(np.int64)
    except ValueError:
        ok = np.ones(n, bool)
        for i, v in enumerate(main.view("S19").ravel()):  # error path only: find the row
            try:
                np.datetime64(v.decode("ascii"), "s")
            except ValueError:
                ok[i] = False
                break
        _bad_time(obj, ok, source=source, field=field, lines=lines, why="is not a valid date and time")
    t = wall - offset
    if naive.any():
        local = np.flatnonzero(naive)
        t[local] = localize(
            wall[local],
            zone,
            keys=None if keys is None else np.asarray(keys)[local],
            texts=obj[local],
            lines=lines[local],
            source=source,
            field=field,
            seen=seen,
        )
    return t


def localize(
    wall: np.ndarray,
    zone: ZoneInfo | str,
    *,
    keys: np.ndarray | None = None,
    texts: np.ndarray | None = None,
    lines: np.ndarray | None = None,
    source: str = "",
    field: str = "",
    seen: dict | None = None,
) -> np.ndarray:
    """Local wall-clock seconds to UTC seconds; the repeated autumn hour is resolved by order (see
    :func:`parse_times`), a time in the spring gap is an IngestError."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    idx = pd.DatetimeIndex(wall.astype("datetime64[s]"))
    n = len(wall)
    summer = idx.tz_localize(tz, ambiguous=np.ones(n, bool), nonexistent="NaT")
    nat = summer.isna()
    if nat.any():
        i = int(np.flatnonzero(nat)[0])
        what = texts[i] if texts is not None else str(idx[i])
        raise IngestError(
            f"{what!r} does not exist in {tz.key} (the hour skipped when clocks go forward)",
            source=source,
            line=int(lines[i]) if lines is not None else None,
            field=field,
        )
    winter = idx.tz_localize(tz, ambiguous=np.zeros(n, bool), nonexistent="NaT")
    t_summer = summer.as_unit("s").asi8
    t_winter = winter.as_unit("s").asi8
    ambiguous = t_summer != t_winter
    if not ambiguous.any():
        return t_summer
    # The n-th occurrence of an ambiguous wall time (per key, in file order): first = summer, then winter.
    # ``seen`` carries the count over from earlier chunks of the same file.
    seen = {} if seen is None else seen
    out = t_summer.copy()
    for i in np.flatnonzero(ambiguous):  # a few rows per key and year: a loop is fine
        k = (keys[i] if keys is not None else None, int(wall[i]))
        n_seen = seen.get(k, 0)
        seen[k] = n_seen + 1
        if n_seen:
            out[i] = t_winter[i]
    return out


def infer_steps(t_end: np.ndarray, *, allowed: tuple[int, ...] = (300, 600, 900, 1800, 3600)) -> np.ndarray:
    """Per-point step [s] of an END-stamped load curve that does not say its step (portal CSV, old Data
    Connect). A value stamped at its interval's end covers the time since the previous stamp, so that gap is
    its step when the curve already ran at it (the gap before is the same) or goes on at it (the gap after is
    the same): the last hourly value before half-hours is an hour. Otherwise the shorter of the gaps to its
    neighbours, since a missing value makes one gap long, not both; a step a Linky meter does not record at
    falls back to the most common step of the file."""
    n = len(t_end)
    if n == 0:
        return np.zeros(0, np.int64)
    if n == 1:
        return np.full(1, 1800, np.int64)
    d = np.diff(t_end)
    far = np.iinfo(np.int64).max
    prev = np.concatenate([[far], d])
    nxt = np.concatenate([d, [far]])
    before = np.concatenate([[far, far], d[:-1]])  # the gap ending at the previous stamp
    steady = np.isin(prev, allowed) & ((prev == before) | (prev == nxt))
    step = np.where(steady, prev, np.minimum(prev, nxt))
    valid = np.isin(step, allowed)
    if not valid.all():
        common = d[np.isin(d, allowed)]
        fallback = int(pd.Series(common).mode().iloc[0]) if len(common) else 1800
        step = np.where(valid, step, fallback)
    return step.astype(np.int64)


def dominant_step(steps: np.ndarray) -> Step | None:
    """The most common step of a batch, as the Step a new series gets."""
    if steps is None or len(steps) == 0:
        return None
    values, counts = np.unique(steps, return_counts=True)
    return Step(seconds=int(values[np.argmax(counts)]))


def decode_text(data: bytes, *, source: str) -> str:
    """Bytes to text: UTF-8 (a BOM is dropped), else Windows-1252 — what Excel writes on French systems."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise IngestError(f"not a text file ({exc.reason} at byte {exc.start})", source=source) from None


def sniff_separator(header: str, *, source: str, line: int = 1) -> str:
    """``;`` (Enedis, French Excel) or ``,``: whichever splits the header line."""
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    sep, n = max(counts.items(), key=lambda kv: kv[1])
    if n == 0:
        raise IngestError("cannot tell the separator: the header has no ';', ',' or tab", source=source, line=line)
    return sep


def csv_parser_error(exc: Exception, *, source: str, first_line: int) -> IngestError:
    """A pandas tokenizer error as an IngestError naming the line (pandas counts from the header)."""

    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if m:
        return IngestError(
            f"expected {m[1]} fields, found {m[3]} (wrong separator or a stray one?)",
            source=source,
            line=first_line + int(m[2]) - 1,
        )
    if "columns specified" in str(exc):  # usecols beyond what the rows hold: they use another separator
        return IngestError(
            "the rows have fewer fields than the header (wrong separator?)", source=source, line=first_line
        )
    return IngestError(f"not a readable CSV: {exc}", source=source)
