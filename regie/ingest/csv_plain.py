"""Plain CSV with a column mapping: one time column, value columns mapped onto series.

For everything that is neither Enedis nor emoncms: a spreadsheet export, a datalogger, a supplier's file.
The mapping says which column holds the time and how it is written, which columns go to which series,
and in which unit; nothing is guessed but the separator (``;``, ``,`` or tab) and the decimal mark.

Options (CLI ``-o key=value``, API form fields):

- ``time_column``: the column holding the time (default: the first one);
- ``time_format``: ``iso`` (ISO 8601, local times placed in ``timezone``), ``unix`` (seconds), ``unix_ms``,
  or a ``strftime`` pattern such as ``%d/%m/%Y %H:%M``;
- ``timezone``: zone of local times (default: the territory's, Europe/Paris);
- ``columns``: ``"col=series-id,col2=series-id2"`` (or a dict); a column's unit may follow the series id:
  ``"pv=pv-roof:kW"``. Default: every other column, series id = the column name in lower case;
- ``unit``: unit of columns that do not name one (W, kW, Wh, kWh, degC, ...); required;
- ``convention``: ``start``, ``end`` (Enedis-like: the stamp closes the interval) or ``instant``;
- ``step``: ISO 8601 step (``PT30M``); inferred from the stamps when absent and needed;
- ``kind``: consumption, production, temperature... for series the import creates.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from regie.ingest.errors import IngestError
from regie.ingest.registry import FileAdapter, register
from regie.ingest.sources import (
    SourceReadings,
    check_not_future,
    csv_parser_error,
    decode_text,
    dominant_step,
    localize,
    parse_numbers,
    parse_times,
    series_kind,
    sniff_separator,
    unit_scale,
)
from regie.model import IntervalConvention, SeriesKind, Step

PARIS = ZoneInfo("Europe/Paris")


def parse_mapping(columns: str | dict[str, str] | None) -> dict[str, tuple[str, str | None]]:
    """``"a=s1,b=s2:kWh"`` → ``{"a": ("s1", None), "b": ("s2", "kWh")}``."""
    if columns is None:
        return {}
    items = columns.items() if isinstance(columns, dict) else (p.split("=", 1) for p in columns.split(",") if p.strip())
    out: dict[str, tuple[str, str | None]] = {}
    for item in items:
        if len(item) != 2:
            raise IngestError(f"column mapping {'='.join(item)!r} is not column=series", field="columns")
        col, target = (x.strip() for x in item)
        sid, _, unit = target.partition(":")
        out[col] = (sid.strip(), unit.strip() or None)
    return out


def read_csv_plain(path: str | Path, **options) -> Iterator[SourceReadings]:
    """Read a plain CSV file with a column mapping (see the module docstring for the options)."""
    path = Path(path)
    with open(path, "rb") as fh:
        yield from parse_csv_plain(fh, path.name, **options)


def parse_csv_plain(
    stream: BinaryIO | bytes,
    name: str = "<stream>",
    *,
    time_column: str | None = None,
    time_format: str = "iso",
    timezone: str | None = None,
    zone: ZoneInfo | str = PARIS,
    columns: str | dict[str, str] | None = None,
    unit: str | None = None,
    convention: str = "start",
    step: str | None = None,
    kind: str | None = None,
    now: float | None = None,
    **_: object,
) -> Iterator[SourceReadings]:
    """Parse the whole file (plain CSVs are spreadsheet-sized); yield one batch per mapped column."""
    data = stream if isinstance(stream, bytes) else stream.read()
    text = decode_text(data, source=name)
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise IngestError("empty file or empty header line", source=name, line=1)
    sep = sniff_separator(first, source=name)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False, engine="c"
        )
    except pd.errors.ParserError as exc:
        raise csv_parser_error(exc, source=name, first_line=1) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    blank = (frame == "").all(axis=1).to_numpy()
    line_no = np.arange(2, 2 + len(frame))[~blank]
    frame = frame[~blank]
    tcol = time_column or frame.columns[0]
    if tcol not in frame.columns:
        raise IngestError(
            f"no time column {tcol!r} (columns: {', '.join(frame.columns)})", source=name, line=1, field=tcol
        )
    mapping = parse_mapping(columns) or {c: (c.lower().replace(" ", "-"), None) for c in frame.columns if c != tcol}
    for col in mapping:
        if col not in frame.columns:
            raise IngestError(
                f"no column {col!r} (columns: {', '.join(frame.columns)})", source=name, line=1, field=col
            )
    try:
        conv = IntervalConvention(convention)
    except ValueError:
        raise IngestError(f"convention must be start, end or instant, not {convention!r}", field="convention") from None
    try:
        tz = ZoneInfo(timezone) if timezone else zone
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file of tzdata
        raise IngestError(f"unknown time zone {timezone[:40]!r} (e.g. Europe/Paris)", field="timezone") from None
    t = _times(frame[tcol].to_numpy(object), time_format, tz, name, tcol, line_no)
    fixed = None
    if step:
        try:
            fixed = Step.parse(step)
        except ValueError as exc:
            raise IngestError(str(exc), field="step") from None
    steps = None
    if conv is not IntervalConvention.INSTANT and (fixed is None or not fixed.is_calendar):
        if fixed is not None:
            steps = np.full(len(t), fixed.seconds, np.int64)
        else:
            d = np.diff(np.unique(t))
            if len(d) == 0:
                raise IngestError("cannot infer the step from one instant: give step=PT30M", field="step")
            values, counts = np.unique(d, return_counts=True)
            steps = np.full(len(t), int(values[np.argmax(counts)]), np.int64)
    start = t - steps if conv is IntervalConvention.END and steps is not None else t
    check_not_future(t, line_no, source=name, field=tcol, now=now)
    decimal_comma = sep != ","
    for k, (col, (sid, col_unit)) in enumerate(mapping.items()):
        u = col_unit or unit
        if not u:
            raise IngestError(f"no unit for column {col!r}: give unit=W (or kW, Wh, kWh, degC...)", field="unit")
        reg, factor = unit_scale(u, source=name, line=1, field=col)
        v = parse_numbers(
            frame[col].to_numpy(object), decimal_comma=decimal_comma, source=name, field=col, lines=line_no
        )
        yield SourceReadings(
            sid,
            start,
            v * factor,
            unit=reg,
            step=fixed or (dominant_step(steps) if steps is not None else None),
            steps=steps,
            kind=series_kind(kind, SeriesKind.TEMPERATURE if reg == "degC" else SeriesKind.CONSUMPTION, source=name),
            name=col,
            convention=conv,
            progress=(k + 1) / len(mapping),
        )


def _times(texts: np.ndarray, fmt: str, zone: ZoneInfo, name: str, field: str, lines: np.ndarray) -> np.ndarray:
    if fmt == "iso":
        return parse_times(texts, zone=zone, source=name, field=field, lines=lines)
    if fmt in ("unix", "unix_ms"):
        v = parse_numbers(texts, decimal_comma=False, source=name, field=field, lines=lines)
        if np.isnan(v).any():
            i = int(np.flatnonzero(np.isnan(v))[0])
            raise IngestError("missing time", source=name, line=int(lines[i]), field=field)
        return (v // 1000 if fmt == "unix_ms" else np.floor(v)).astype(np.int64)
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), format=fmt, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IngestError(
            f"{texts[i]!r} does not match the time format {fmt!r}", source=name, line=int(lines[i]), field=field
        )
    if parsed.dt.tz is not None:
        return parsed.dt.tz_convert("UTC").astype("datetime64[s, UTC]").astype(np.int64).to_numpy()
    wall = parsed.astype("datetime64[s]").astype(np.int64).to_numpy()
    return localize(wall, zone, texts=texts, lines=lines, source=name, field=field)


register(
    FileAdapter(
        "csv",
        "plain CSV with a column mapping (time column and format, value columns → series, unit)",
        parse_csv_plain,
        (".csv", ".txt"),
    )
)
