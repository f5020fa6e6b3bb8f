"""emoncms backups: PHPFina and PHPTimeSeries feed files, as a folder or a .tar.gz / .zip archive.

A user leaving emoncms keeps all history: every feed becomes a regie series (``<prefix>-<feed id>``),
named from the ``feeds`` table of ``emoncms.sql`` (the MySQL dump emoncms-export / the backup module
writes next to the data folders) when it is there.

File formats, from emoncms's own engines (``Modules/feed/engine/PHPFina.php``, ``PHPTimeSeries.php``;
emoncms/usefulscripts ``integritycheck/lib/phpfina.php``, ``enginereaders/phptimeseries.php``):

- PHPFina ("fixed interval, no averaging"): ``<id>.meta`` is 16 bytes, four little-endian uint32; the
  reader seeks to byte 8 and unpacks ``interval`` then ``start_time`` (the first 8 bytes are unused
  since emoncms 9). ``<id>.dat`` is float32 little-endian, one value per interval from ``start_time``;
  NaN marks a missing value (a gap). A ``.dat`` whose size is not a multiple of 4 is corrupt.
- PHPTimeSeries: ``feed_<id>.MYD`` is a sequence of 9-byte records ``unpack("x/Itime/fvalue")``: one
  flag byte, uint32 unix time, float32 value, little-endian.

Streaming: values are read in blocks of ``block_points`` with ``numpy.fromfile`` (never a whole feed in
memory); the importer writes the blocks inside one transaction, so an archive is still all or nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from regie.ingest.errors import IngestError
from regie.ingest.limits import DEFAULT as DEFAULT_LIMITS
from regie.ingest.limits import Limits, extract
from regie.ingest.registry import FileAdapter, register
from regie.ingest.sources import SourceReadings, check_not_future
from regie.model import IntervalConvention, SeriesKind, Step

BLOCK_POINTS = 1 << 20
MYD_RECORD = np.dtype([("flag", "u1"), ("t", "<u4"), ("v", "<f4")])  # packed: 9 bytes
assert MYD_RECORD.itemsize == 9

# emoncms feed units (the ``unit`` column of ``feeds``) → (regie unit, factor). Anything else is kept
# dimensionless ("") with the original unit in the series name: no history is dropped.
_FEED_UNITS = {
    "w": ("W", 1.0),
    "kw": ("W", 1e3),
    "wh": ("Wh", 1.0),
    "kwh": ("Wh", 1e3),
    "°c": ("degC", 1.0),
    "degc": ("degC", 1.0),
    "c": ("degC", 1.0),
    "v": ("V", 1.0),
    "a": ("A", 1.0),
    "va": ("VA", 1.0),
    "%": ("%", 1.0),
}
_PRODUCTION = re.compile(r"solar|pv\b|_pv|gen|prod|inject|export", re.I)
_TEMPERATURE = re.compile(r"temp", re.I)


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What ``emoncms.sql`` says of a feed."""

    id: int
    name: str = ""
    tag: str = ""
    unit: str = ""
    engine: int | None = None


@dataclass(frozen=True, slots=True)
class _Feed:
    id: int
    engine: str  # phpfina | phptimeseries
    data: Path
    meta: Path | None = None


def feed_unit(info: FeedInfo) -> tuple[str, float]:
    """The regie unit of a feed: its emoncms unit, else guessed from its name (``*_kwh`` is a kWh counter,
    ``*temp*`` a temperature), else W — emoncms's most common feed is a power."""
    u = info.unit.strip().casefold()
    if u in _FEED_UNITS:
        return _FEED_UNITS[u]
    if u:
        return "", 1.0
    if "kwh" in info.name.casefold():
        return "Wh", 1e3
    if _TEMPERATURE.search(info.name):
        return "degC", 1.0
    return "W", 1.0


def feed_kind(info: FeedInfo, unit: str) -> SeriesKind:
    if unit == "degC":
        return SeriesKind.TEMPERATURE
    if _PRODUCTION.search(info.name) or _PRODUCTION.search(info.tag):
        return SeriesKind.PRODUCTION
    return SeriesKind.CONSUMPTION


# ---------------------------------------------------------------------------------------------- emoncms.sql

_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|\\.|'')*)'|(NULL)|([-+]?[\d.]+(?:[eE][-+]?\d+)?)|(\()|(\))|(,))", re.S)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "Z": "\x1a"}


def _sql_tuples(text: str, pos: int) -> Iterator[list[object]]:
    """Value tuples of an ``INSERT ... VALUES (..),(..);`` from ``pos`` (MySQL quoting rules)."""
    row: list[object] | None = None
    while True:
        m = _TOKEN.match(text, pos)
        if not m:
            return
        pos = m.end()
        s, null, num, op, cl, _comma = m.groups()
        if op:
            row = []
        elif cl:
            if row is not None:
                yield row
            row = None
        elif row is not None and s is not None:
            row.append(re.sub(r"\\(.)", lambda e: _ESCAPES.get(e[1], e[1]), s.replace("''", "'")))
        elif row is not None and null:
            row.append(None)
        elif row is not None and num is not None:
            row.append(float(num) if any(c in num for c in ".eE") else int(num))


def parse_feeds_sql(text: str) -> dict[int, FeedInfo]:
    """Feed names, tags, units and engines from a MySQL dump's ``feeds`` table."""
    columns: list[str] = []
    create = re.search(r"CREATE TABLE\s+`?feeds`?\s*\((.*?)\)\s*(?:ENGINE|;)", text, re.S | re.I)
    if create:
        columns = [m[1] for m in re.finditer(r"^\s*`(\w+)`", create[1], re.M)]
    feeds: dict[int, FeedInfo] = {}
    for ins in re.finditer(r"INSERT INTO\s+`?feeds`?\s*(\(([^)]*)\))?\s*VALUES", text, re.I):
        cols = [c.strip(" `") for c in ins[2].split(",")] if ins[2] else columns
        if not cols:
            continue
        for row in _sql_tuples(text, ins.end()):
            rec = dict(zip(cols, row, strict=False))
            if rec.get("id") is None:
                continue
            engine = rec.get("engine")
            feeds[int(rec["id"])] = FeedInfo(
                id=int(rec["id"]),
                name=str(rec.get("name") or ""),
                tag=str(rec.get("tag") or ""),
                unit=str(rec.get("unit") or ""),
                engine=int(engine) if isinstance(engine, int | float) else None,
            )
    return feeds


# ---------------------------------------------------------------------------------------------- archives


@contextmanager
def _unpacked(source: BinaryIO | Path, name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[Path]:
    """A folder holding the backup: the folder itself, or an archive extracted to a temporary folder within
    ``limits`` (:func:`regie.ingest.limits.extract`: no zip bomb, nothing written outside the folder)."""
    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        yield Path(source)
        return
    tmp = Path(tempfile.mkdtemp(prefix="regie-emoncms-"))
    try:
        fh = open(source, "rb") if isinstance(source, str | os.PathLike) else source  # noqa: SIM115
        try:
            extract(fh, tmp, name, limits)
        finally:
            if fh is not source:
                fh.close()
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _find_feeds(root: Path) -> tuple[list[_Feed], Path | None]:
    feeds: dict[tuple[str, int], _Feed] = {}
    sql = None
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        low = path.name.lower()
        if low == "emoncms.sql" or (sql is None and low.endswith(".sql")):
            sql = path if (sql is None or low == "emoncms.sql") else sql
        elif low.endswith(".dat") and low[:-4].isdigit():
            fid = int(low[:-4])
            meta = path.with_suffix(".meta")
            feeds[("phpfina", fid)] = _Feed(fid, "phpfina", path, meta)
        elif low.endswith(".meta") and low[:-5].isdigit():
            fid = int(low[:-5])
            feeds.setdefault(("phpfina", fid), _Feed(fid, "phpfina", path.with_suffix(".dat"), path))
        elif low.startswith("feed_") and low.endswith(".myd") and low[5:-4].isdigit():
            fid = int(low[5:-4])
            feeds[("phptimeseries", fid)] = _Feed(fid, "phptimeseries", path)
    return sorted(feeds.values(), key=lambda f: (f.id, f.engine)), sql


def _rel(root: Path, path: Path, name: str) -> str:
    return f"{name}:{path.relative_to(root).as_posix()}" if path.is_relative_to(root) else str(path)


def _check_phpfina(feed: _Feed, root: Path, name: str, now: float | None) -> tuple[int, int, int]:
    """(interval, start_time, npoints) after checking the pair of files is whole and consistent."""
    if feed.meta is None or not feed.meta.exists():
        raise IngestError(f"PHPFina feed {feed.id} has data but no .meta file", source=_rel(root, feed.data, name))
    if not feed.data.exists():
        raise IngestError(f"PHPFina feed {feed.id} has a .meta but no .dat file", source=_rel(root, feed.meta, name))
    meta = feed.meta.read_bytes()
    if len(meta) != 16:
        raise IngestError(
            f".meta is {len(meta)} bytes, expected 16 (4 little-endian uint32)",
            source=_rel(root, feed.meta, name),
            field=f"byte {min(len(meta), 16)}",
        )
    _, _, interval, start = struct.unpack("<4I", meta)
    size = feed.data.stat().st_size
    if size % 4:
        raise IngestError(
            f".dat size {size} is not a multiple of 4 (float32): truncated, {size % 4} stray bytes at byte "
            f"offset {size - size % 4}",
            source=_rel(root, feed.data, name),
            field=f"byte {size - size % 4}",
        )
    n = size // 4
    if n and interval == 0:
        raise IngestError("interval is 0", source=_rel(root, feed.meta, name), field="interval")
    if n and start == 0:
        raise IngestError(
            "start_time is 0 but the feed has data", source=_rel(root, feed.meta, name), field="start_time"
        )
    if n:
        check_not_future(
            np.array([start + (n - 1) * interval], np.int64),
            None,
            source=_rel(root, feed.data, name),
            field=f"last value (point {n - 1})",
            now=now,
        )
    return interval, start, n


def _check_phptimeseries(feed: _Feed, root: Path, name: str) -> int:
    size = feed.data.stat().st_size
    if size % 9:
        raise IngestError(
            f"size {size} is not a multiple of 9-byte records: truncated, {size % 9} stray bytes at byte offset "
            f"{size - size % 9}",
            source=_rel(root, feed.data, name),
            field=f"byte {size - size % 9}",
        )
    return size // 9


def read_archive(path: str | Path, **options) -> Iterator[SourceReadings]:
    """Read an emoncms backup folder or archive (``.tar.gz``, ``.tgz``, ``.zip``)."""
    path = Path(path)
    yield from parse_archive(path, path.name, **options)


def parse_archive(
    source: BinaryIO | Path,
    name: str = "<stream>",
    *,
    prefix: str = "emoncms",
    block_points: int = BLOCK_POINTS,
    now: float | None = None,
    limits: Limits = DEFAULT_LIMITS,
    **_: object,
) -> Iterator[SourceReadings]:
    """Yield each feed's values in blocks, as series ``<prefix>-<feed id>``. Every feed's files are
    checked (sizes, meta, future stamps) before the first block is yielded; an archive is unpacked within
    ``limits``."""
    with _unpacked(source, name, limits) as root:
        feeds, sql = _find_feeds(root)
        if not feeds:
            raise IngestError("no PHPFina (<id>.meta/.dat) or PHPTimeSeries (feed_<id>.MYD) files found", source=name)
        info = parse_feeds_sql(sql.read_text("utf-8", errors="replace")) if sql else {}
        checked = []
        for f in feeds:
            if f.engine == "phpfina":
                checked.append((f, _check_phpfina(f, root, name, now)))
            else:
                checked.append((f, _check_phptimeseries(f, root, name)))
        total = sum(c[1][2] if c[0].engine == "phpfina" else c[1] for c in checked) or 1
        done = 0
        for f, shape in checked:
            meta = info.get(f.id, FeedInfo(f.id))
            unit, factor = feed_unit(meta)
            label = meta.name or f"feed {f.id}"
            if unit == "" and meta.unit:
                label = f"{label} [{meta.unit}]"
            common = {
                "unit": unit,
                "kind": feed_kind(meta, unit),
                "name": label,
                "convention": IntervalConvention.INSTANT,
            }
            series_id = f"{prefix}-{f.id}"
            if f.engine == "phpfina":
                interval, start, n = shape
                step = Step(seconds=interval) if interval else None
                with open(f.data, "rb") as fh:
                    for i0 in range(0, n, block_points):
                        v = np.fromfile(fh, dtype="<f4", count=min(block_points, n - i0))
                        keep = ~np.isnan(v)
                        t = start + interval * (i0 + np.flatnonzero(keep)).astype(np.int64)
                        done += len(v)
                        yield SourceReadings(
                            series_id,
                            t,
                            v[keep].astype(np.float64) * factor,
                            step=step,
                            progress=done / total,
                            **common,
                        )
            else:
                n = shape
                src = _rel(root, f.data, name)
                with open(f.data, "rb") as fh:
                    for i0 in range(0, n, block_points):
                        rec = np.fromfile(fh, dtype=MYD_RECORD, count=min(block_points, n - i0))
                        t = rec["t"].astype(np.int64)
                        try:
                            check_not_future(t, np.arange(i0, i0 + len(t)), source=src, field="time", now=now)
                        except IngestError as exc:
                            raise IngestError(
                                f"{exc.why} (record {exc.line}, byte offset {exc.line * 9})",
                                source=src,
                                field=f"byte {exc.line * 9 + 1}",
                            ) from None
                        v = rec["v"].astype(np.float64) * factor
                        done += len(rec)
                        yield SourceReadings(series_id, t, v, step=None, progress=done / total, **common)


register(
    FileAdapter(
        "emoncms-archive",
        "emoncms backup: PHPFina / PHPTimeSeries feed files (folder, .tar.gz or .zip), names from emoncms.sql",
        parse_archive,
        (".tar.gz", ".tgz", ".tar", ".zip"),
    )
)
