"""Linky load curves and daily energy from Enedis: customer-portal CSV, R63 CSV, Data Connect JSON.

Readers follow pvlib's ``iotools`` naming: ``read_*(path)`` opens a file, ``parse_*(stream)`` reads a
binary stream. Each yields :class:`SourceReadings` keyed by the delivery point (PRM), stamped at the
*start* of each interval in UTC; mapping a PRM onto a series is the importer's job.

Rules taken from the sources (cited where used):

- Enedis stamps a load-curve value at the *end* of its interval: the first half-hour of a day, 00:00 to
  00:30, is the row ``00:30`` (Enedis, "Guide d'utilisation — Mes données de consommation, format CSV
  courbe de charge"; R63 flux description, ``Horodate`` = "fin de la période d'intégration"; Data Connect
  ``metering_data_clc`` / ``consumption_load_curve``: "la date correspond à la fin de l'intervalle").
  regie converts once: start = end − step.
- A load curve is average active power over the step (``Grandeur physique`` PA, unit W, "puissance
  moyenne"); energy (EA, Wh or kWh) is the sum over the step; energy = power × step.
- R63 gives each row its step (``Pas``, ISO 8601: PT5M, PT10M, PT15M, PT30M, PT60M) and it may change
  inside a file when a meter's recording step is changed; the portal CSV does not say it, so it is
  inferred from the spacing of the stamps (:func:`regie.ingest.sources.infer_steps`).
- R63 ``Horodate`` may be local time without an offset (older files) or ISO 8601 with one; Data Connect
  dates are local Paris time without an offset ("2020-09-14 03:00:00"). A DST day has 46 or 50 half-hours;
  the repeated autumn hour is told apart by order (first summer, then winter time).
- Data Connect ``daily_consumption`` / ``daily_production``: one value in Wh per *local* day, ``date`` =
  the day (``YYYY-MM-DD``), values as strings.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

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
    infer_steps,
    parse_numbers,
    parse_times,
    series_kind,
    sniff_separator,
    unit_scale,
)
from regie.model import IntervalConvention, SeriesKind, Step, validate_prm
from regie.model.metering import mask_prm

PARIS = ZoneInfo("Europe/Paris")
R63_CHUNK_ROWS = 500_000
P1D = Step(days=1)

# Enedis business quantity ("Grandeur métier") → what the series measures.
_KIND = {
    "cons": SeriesKind.CONSUMPTION,
    "consommation": SeriesKind.CONSUMPTION,
    "soutirage": SeriesKind.CONSUMPTION,
    "prod": SeriesKind.PRODUCTION,
    "production": SeriesKind.PRODUCTION,
    "injection": SeriesKind.PRODUCTION,
}


def _norm(text: str) -> str:
    """Header names without accents, case or surrounding spaces: 'Unité' == 'Unite' == 'UNITE'."""
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return " ".join(s.lower().replace("_", " ").split())


def _kind(text: str, default: SeriesKind | str | None, *, source: str, line: int | None, field: str) -> SeriesKind:
    key = _norm(text)
    if key in _KIND:
        return _KIND[key]
    if not key and default is not None:
        return series_kind(default, SeriesKind.CONSUMPTION, source=source)
    if not key:
        return SeriesKind.CONSUMPTION
    raise IngestError(
        f"unknown Grandeur métier {text!r} (expected CONS or PROD)", source=source, line=line, field=field
    )


def _validate_prm(prm: str, *, source: str, line: int | None, field: str) -> str:
    try:
        return validate_prm(str(prm).strip())
    except ValueError as exc:
        raise IngestError(str(exc), source=source, line=line, field=field) from None


def _read_all(stream: BinaryIO | bytes) -> bytes:
    return stream if isinstance(stream, bytes) else stream.read()


def _csv_frame(
    text: str, sep: str, *, source: str, first_line: int, names: list[str], dtype: dict | None = None
) -> pd.DataFrame:
    """A CSV section as strings (or the given dtypes); a row with too many fields is an IngestError."""
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=dtype or object,
            na_filter=False,
            skip_blank_lines=False,
            header=None,
            names=names,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise csv_parser_error(exc, source=source, first_line=first_line) from None


# ---------------------------------------------------------------------------------------------- portal


def read_portal(path: str | Path, **options) -> Iterator[SourceReadings]:
    """Read a customer-portal export (``mon-compte-particulier.enedis.fr`` → "Télécharger mes données")."""
    path = Path(path)
    with open(path, "rb") as fh:
        yield from parse_portal(fh, path.name, **options)


def parse_portal(
    stream: BinaryIO | bytes,
    name: str = "<stream>",
    *,
    zone: ZoneInfo | str = PARIS,
    kind: SeriesKind | str | None = None,
    now: float | None = None,
    **_: object,
) -> Iterator[SourceReadings]:
    """Parse a portal CSV: blocks of a metadata header (``Identifiant PRM;Type de donnees;Date de debut;
    Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite``), its line of values, then
    ``Horodate;Valeur`` rows (ISO 8601 with offset). Load curves (W, END-stamped) and daily energy (Wh)."""
    text = decode_text(_read_all(stream), source=name)
    # Blocks start at an "Identifiant PRM" header; found with one regex over the text, no loop per line.
    starts = [m.start() for m in _PORTAL_BLOCK.finditer(text)]
    if not starts:
        raise IngestError("no 'Identifiant PRM' header: not an Enedis portal export", source=name, line=1)
    if text[: starts[0]].strip():
        first = len(text) - len(text.lstrip())
        raise IngestError(
            "unexpected text before the first 'Identifiant PRM' header",
            source=name,
            line=text.count("\n", 0, first) + 1,
        )
    starts.append(len(text))
    for a, b in pairwise(starts):
        line = text.count("\n", 0, a)  # lines before the block
        yield from _portal_block(text[a:b], line, name=name, zone=zone, kind=kind, now=now, progress=b / len(text))


_PORTAL_BLOCK = re.compile(r'^["\ufeff ]*identifiant prm', re.I | re.M)


def _portal_block(block: str, before: int, *, name, zone, kind, now, progress) -> Iterator[SourceReadings]:
    """One block: metadata header (line ``before + 1``), its values, ``Horodate;Valeur``, then data rows."""
    parts = block.split("\n", 3)
    head = [x.rstrip("\r") for x in parts[:3]]
    i = before  # 0-based index of the header line, as in the file
    sep = sniff_separator(head[0], source=name, line=i + 1)
    header = [_norm(h) for h in head[0].split(sep)]
    if len(head) < 2 or not head[1].strip():
        raise IngestError("the metadata header has no line of values (truncated file?)", source=name, line=i + 1)
    values = head[1].split(sep)
    meta = {h: (values[k].strip() if k < len(values) else "") for k, h in enumerate(header)}
    for required in ("identifiant prm", "unite"):
        if required not in meta:
            raise IngestError(f"metadata header lacks {required!r}", source=name, line=i + 1, field=required)
    prm = _validate_prm(meta["identifiant prm"], source=name, line=i + 2, field="Identifiant PRM")
    if len(head) < 3 or [_norm(x) for x in head[2].split(sep)] != ["horodate", "valeur"]:
        raise IngestError(
            f"expected the header 'Horodate{sep}Valeur' after the metadata (wrong separator?)",
            source=name,
            line=i + 3,
        )
    data = parts[3].rstrip() if len(parts) > 3 else ""
    first_line = i + 4
    n = data.count("\n") + 1 if data else 0
    line_no = np.arange(first_line, first_line + n)
    kind_ = _kind(meta.get("grandeur metier", ""), kind, source=name, line=i + 2, field="Grandeur metier")
    unit, factor = unit_scale(meta["unite"], source=name, line=i + 2, field="Unite")
    data_type = _norm(meta.get("type de donnees", ""))
    if n == 0:
        return
    if data.count(sep) != n:  # every row is "time;value": find the one that is not (error path only)
        for k, row in enumerate(data.split("\n")):
            if row.count(sep) != 1:
                why = "row is cut short (truncated file?)" if row.count(sep) == 0 else "expected 2 fields"
                raise IngestError(why, source=name, line=first_line + k)
    frame = _csv_frame(
        data,
        sep,
        source=name,
        first_line=first_line,
        names=["h", "v"],
        dtype={"h": "S32", "v": object},
    )
    stamps = parse_times(frame["h"].to_numpy(), zone=zone, source=name, field="Horodate", lines=line_no)
    v = parse_numbers(frame["v"].to_numpy(object), decimal_comma=sep == ";", source=name, field="Valeur", lines=line_no)
    v = v * factor
    check_not_future(stamps, line_no, source=name, field="Horodate", now=now)
    if unit == "W" and "index" not in data_type and "maximale" not in data_type:
        order = np.argsort(stamps, kind="stable")
        steps = np.empty(n, np.int64)
        steps[order] = infer_steps(stamps[order])
        yield SourceReadings(
            prm,
            stamps - steps,
            v,
            unit="W",
            step=dominant_step(steps),
            steps=steps,
            kind=kind_,
            prm=prm,
            name=f"Linky {mask_prm(prm)}",
            convention=IntervalConvention.END,
            progress=progress,
        )
    elif unit == "Wh" and "index" not in data_type:
        if "quotid" in data_type or "jour" in data_type:
            yield SourceReadings(
                prm,
                stamps,
                v,
                unit="Wh",
                step=P1D,
                kind=kind_,
                prm=prm,
                name=f"Linky {mask_prm(prm)}",
                convention=IntervalConvention.START,
                progress=progress,
            )
        else:
            order = np.argsort(stamps, kind="stable")
            steps = np.empty(n, np.int64)
            steps[order] = infer_steps(stamps[order])
            yield SourceReadings(
                prm,
                stamps - steps,
                v,
                unit="Wh",
                step=dominant_step(steps),
                steps=steps,
                kind=kind_,
                prm=prm,
                name=f"Linky {mask_prm(prm)}",
                convention=IntervalConvention.END,
                progress=progress,
            )
    else:
        raise IngestError(
            f"unsupported data type {meta.get('type de donnees', '')!r} in {meta['unite']!r}: regie imports "
            "load curves (W) and daily energy (Wh)",
            source=name,
            line=i + 2,
            field="Type de donnees",
        )


# ---------------------------------------------------------------------------------------------- R63

_R63_COLUMNS = {
    "prm": ("identifiant prm",),
    "physique": ("grandeur physique",),
    "metier": ("grandeur metier",),
    "unit": ("unite",),
    "time": ("horodate",),
    "value": ("valeur",),
    "step": ("pas",),
}
_R63_REQUIRED = ("prm", "unit", "time", "value", "step")
# R63 "Grandeur physique": PA = active power (W average over the step), EA = active energy (Wh over the step).
_PHYSIQUE = {"pa": "W", "ea": "Wh", "": None}


def read_r63(path: str | Path, **options) -> Iterator[SourceReadings]:
    """Read an R63 CSV (SGE "Courbe de charge" flux, also what the "Mes données" bulk export gives)."""
    path = Path(path)
    with open(path, "rb") as fh:
        yield from parse_r63(fh, path.name, **options)


def _open_csv(stream: BinaryIO | bytes) -> tuple[BinaryIO, str, str, int]:
    """The binary stream positioned after the header line, the header (decoded), the encoding of the rest
    (UTF-8 with or without BOM, else Windows-1252, what Excel writes on French systems) and the size in
    bytes (for progress). pandas reads the bytes itself: faster than through a Python text wrapper."""
    raw = io.BytesIO(stream) if isinstance(stream, bytes) else stream
    if not raw.seekable():
        raw = io.BytesIO(raw.read())
    start = raw.tell()
    raw.seek(0, io.SEEK_END)
    size = raw.tell() - start
    raw.seek(start)
    head = raw.read(1 << 16)
    raw.seek(start)
    encoding = "utf-8"
    try:
        (head if len(head) < (1 << 16) else head[: (1 << 16) - 4]).decode("utf-8")
    except UnicodeDecodeError:
        encoding = "cp1252"
    line = raw.readline()
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    return raw, line.decode(encoding, errors="replace"), encoding, size


def parse_r63(
    stream: BinaryIO | bytes,
    name: str = "<stream>",
    *,
    zone: ZoneInfo | str = PARIS,
    kind: SeriesKind | str | None = None,
    now: float | None = None,
    chunk_rows: int = R63_CHUNK_ROWS,
    **_: object,
) -> Iterator[SourceReadings]:
    """Parse an R63 CSV, one row per point (``Identifiant PRM;Date de début;Date de fin;Grandeur physique;
    Grandeur métier;Etape métier;Unité;Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat
    complémentaire``), in chunks of ``chunk_rows`` rows so that a large file is never whole in memory."""
    raw, header, encoding, size = _open_csv(stream)
    if not header.strip():
        raise IngestError("empty file", source=name, line=1)
    sep = sniff_separator(header, source=name)
    columns = [_norm(c) for c in header.rstrip("\r\n").split(sep)]
    where: dict[str, int] = {}
    for key, aliases in _R63_COLUMNS.items():
        for k, c in enumerate(columns):
            if c in aliases:
                where[key] = k
    missing = [_R63_COLUMNS[k][0] for k in _R63_REQUIRED if k not in where]
    if missing:
        raise IngestError(
            f"not an R63 file: no column {', '.join(repr(m) for m in missing)} (wrong separator?)",
            source=name,
            line=1,
            field=missing[0],
        )
    try:
        reader = pd.read_csv(
            raw,
            encoding=encoding,
            sep=sep,
            header=None,
            names=[f"c{i}" for i in range(len(columns))],
            usecols=[f"c{i}" for i in sorted(where.values())],
            # Low-cardinality columns as categoricals (codes, no string per row); times as fixed-width
            # bytes (a valid time is at most 25 characters: cutting at 32 cannot make a bad one valid).
            dtype={
                f"c{k}": ("S32" if key == "time" else object if key == "value" else "category")
                for key, k in where.items()
            },
            na_filter=False,
            skip_blank_lines=False,
            chunksize=chunk_rows,
            engine="c",
        )
        seen: dict = {}
        first_line = 2
        for chunk in reader:
            yield from _r63_chunk(
                chunk,
                where,
                first_line,
                name=name,
                zone=zone,
                kind=kind,
                now=now,
                seen=seen,
                progress=min(raw.tell() / size, 1.0) if size else None,
            )
            first_line += len(chunk)
    except (pd.errors.ParserError, ValueError) as exc:  # pandas: "Number of passed names did not match..."
        if isinstance(exc, IngestError):
            raise
        raise csv_parser_error(exc, source=name, first_line=2) from None


def _r63_chunk(chunk, where, first_line, *, name, zone, kind, now, seen, progress):
    n = len(chunk)
    line_no = np.arange(first_line, first_line + n)

    def cat(key: str) -> tuple[np.ndarray, list[str]]:
        """Codes and distinct values of a low-cardinality column (read as a pandas categorical)."""
        c = chunk[f"c{where[key]}"]
        return c.cat.codes.to_numpy(), [str(x) for x in c.cat.categories]

    def first(codes: np.ndarray, c: int) -> int:
        return int(line_no[np.argmax(codes == c)])

    prm_codes, prm_values = cat("prm")
    times = chunk[f"c{where['time']}"].to_numpy()
    values = chunk[f"c{where['value']}"].to_numpy(object)
    if "" in prm_values:  # blank lines are allowed; a row without a PRM is not
        blank = prm_codes == prm_values.index("")
        if (times[blank] != b"").any() or (values[blank] != "").any():
            k = int(np.flatnonzero(blank & ((times != b"") | (values != "")))[0])
            raise IngestError(
                "no Identifiant PRM on this row", source=name, line=int(line_no[k]), field="Identifiant PRM"
            )
        keep = ~blank
        chunk, times, values, line_no = chunk[keep], times[keep], values[keep], line_no[keep]
        n = len(chunk)
        if n == 0:
            return
        prm_codes, prm_values = cat("prm")
    step_codes, step_values = cat("step")
    short = times == b""
    if "" in step_values:
        short |= step_codes == step_values.index("")
    if short.any():
        k = int(np.argmax(short))
        raise IngestError(
            "row is cut short: no Horodate or Pas (truncated file?)",
            source=name,
            line=int(line_no[k]),
            field="Horodate" if times[k] == b"" else "Pas",
        )
    # Few distinct PRMs, units and steps per file: each distinct value is checked once, rows map by code.
    for c, p in enumerate(prm_values):
        if (prm_codes == c).any():
            _validate_prm(p, source=name, line=first(prm_codes, c), field="Identifiant PRM")
    unit_codes, unit_values = cat("unit")
    unit_of, factor_of = [], []
    for c, u in enumerate(unit_values):
        if not (unit_codes == c).any():
            unit_of.append("W")
            factor_of.append(1.0)
            continue
        if u == "":
            raise IngestError("missing unit", source=name, line=first(unit_codes, c), field="Unité")
        reg, f = unit_scale(u, source=name, line=first(unit_codes, c), field="Unité")
        if reg not in ("W", "Wh"):
            raise IngestError(
                f"unit {u!r} is not active power or energy", source=name, line=first(unit_codes, c), field="Unité"
            )
        unit_of.append(reg)
        factor_of.append(f)
    unit_index = np.array([0 if u == "W" else 1 for u in unit_of], dtype=np.int64)[unit_codes]
    if "physique" in where:
        phys_codes, phys_values = cat("physique")
        for c, g in enumerate(phys_values):
            rows = phys_codes == c
            if not rows.any():
                continue
            expect = _PHYSIQUE.get(_norm(g), "?")
            if expect == "?":
                raise IngestError(
                    f"unsupported Grandeur physique {g!r} (regie imports PA, active power, and EA, active energy)",
                    source=name,
                    line=first(phys_codes, c),
                    field="Grandeur physique",
                )
            if expect is not None:
                mismatch = rows & (unit_index != (0 if expect == "W" else 1))
                if mismatch.any():
                    k = int(np.argmax(mismatch))
                    raise IngestError(
                        f"Grandeur physique {g!r} with unit {unit_values[unit_codes[k]]!r}: expected {expect}",
                        source=name,
                        line=int(line_no[k]),
                        field="Unité",
                    )
    if "metier" in where:
        kind_codes, kind_values = cat("metier")
        kinds = [
            _kind(g, kind, source=name, line=first(kind_codes, c), field="Grandeur métier")
            if (kind_codes == c).any()
            else SeriesKind.CONSUMPTION
            for c, g in enumerate(kind_values)
        ]
    else:
        kind_codes, kinds = np.zeros(n, np.int64), [series_kind(kind, SeriesKind.CONSUMPTION, source=name)]
    step_of = []
    for c, s in enumerate(step_values):
        if not (step_codes == c).any():
            step_of.append(1800)
            continue
        try:
            st = Step.parse(s)
        except ValueError:
            raise IngestError(
                f"{s!r} is not a step such as PT30M", source=name, line=first(step_codes, c), field="Pas"
            ) from None
        if st.is_calendar:
            raise IngestError(
                f"a load-curve step must be fixed, got {s!r}", source=name, line=first(step_codes, c), field="Pas"
            )
        step_of.append(st.seconds)
    steps = np.array(step_of, dtype=np.int64)[step_codes]
    keys = np.array(prm_values, dtype=object)[prm_codes]
    t_end = parse_times(times, zone=zone, source=name, field="Horodate", lines=line_no, keys=keys, seen=seen)
    check_not_future(t_end, line_no, source=name, field="Horodate", now=now)
    v = parse_numbers(values, decimal_comma=True, source=name, field="Valeur", lines=line_no)
    v = v * np.array(factor_of)[unit_codes]
    group = (prm_codes.astype(np.int64) * len(kinds) + kind_codes) * 2 + unit_index
    order = np.argsort(group, kind="stable")
    cuts = np.flatnonzero(np.diff(group[order])) + 1
    for part in np.split(order, cuts):
        if len(part) == 0:  # a chunk with no readings left (every row a gap)
            continue
        g = int(group[part[0]])
        p = prm_values[g // 2 // len(kinds)]
        k = kinds[(g // 2) % len(kinds)]
        u = "W" if g % 2 == 0 else "Wh"
        yield SourceReadings(
            p,
            t_end[part] - steps[part],
            v[part],
            unit=u,
            step=dominant_step(steps[part]),
            steps=steps[part],
            kind=k,
            prm=p,
            name=f"Linky {mask_prm(p)}",
            convention=IntervalConvention.END,
            progress=progress,
        )


# ---------------------------------------------------------------------------------------------- Data Connect


def read_dataconnect(path: str | Path, **options) -> Iterator[SourceReadings]:
    """Read a saved Enedis Data Connect response (metering_data_clc, daily_consumption, production...)."""
    path = Path(path)
    with open(path, "rb") as fh:
        yield from parse_dataconnect(fh, path.name, **options)


def parse_dataconnect(
    stream: BinaryIO | bytes,
    name: str = "<stream>",
    *,
    zone: ZoneInfo | str = PARIS,
    kind: SeriesKind | str | None = None,
    now: float | None = None,
    **_: object,
) -> Iterator[SourceReadings]:
    """Parse a Data Connect response, either format (told apart per document):

    - v5: ``{"meter_reading": {"usage_point_id", "reading_type": {"unit", "measurement_kind", ...},
      "interval_reading": [{"value", "date", "interval_length", "measure_type"}]}}``; production endpoints
      return the same shape: say ``kind="production"`` (or name the file *production*);
    - 2026 (``mesure_synchrone_auto/v2``): ``{"idPrm", "etapeMetier", "periode", "pas", "grandeur":
      [{"grandeurMetier": CONS|PROD, "grandeurPhysique": PA|EA, "unite": W|Wh, "points": [{"v", "d", "p",
      "n"}]}]}``, the kind said by ``grandeurMetier``.

    Either may be a list of documents."""
    data = _read_all(stream)
    try:
        doc = json.loads(decode_text(data, source=name))
    except json.JSONDecodeError as exc:
        raise IngestError(f"not JSON: {exc.msg}", source=name, line=exc.lineno) from None
    docs = doc if isinstance(doc, list) else [doc]
    if kind is None and "prod" in name.lower():
        kind = SeriesKind.PRODUCTION
    for d, item in enumerate(docs):
        where = f"[{d}]." if isinstance(doc, list) else ""
        progress = (d + 1) / len(docs)
        if isinstance(item, dict) and ("idPrm" in item or "grandeur" in item):
            yield from _dataconnect_2026(item, where, name=name, zone=zone, kind=kind, now=now, progress=progress)
            continue
        reading = item.get("meter_reading", item) if isinstance(item, dict) else None
        if not isinstance(reading, dict) or "interval_reading" not in reading:
            raise IngestError(
                "neither meter_reading.interval_reading (v5) nor idPrm and grandeur (2026): "
                "not a Data Connect response",
                source=name,
                field=f"{where}meter_reading",
            )
        yield from _dataconnect_reading(
            reading, where + "meter_reading", name=name, zone=zone, kind=kind, now=now, progress=progress
        )


def _dataconnect_reading(reading: dict, where: str, *, name, zone, kind, now, progress) -> Iterator[SourceReadings]:
    """One v5 ``meter_reading``."""
    prm = _validate_prm(reading.get("usage_point_id", ""), source=name, line=None, field=f"{where}.usage_point_id")
    rtype = reading.get("reading_type") or {}
    measurement = str(rtype.get("measurement_kind", "")).lower()
    unit_text = rtype.get("unit") or ("Wh" if measurement == "energy" else "W")
    rows = reading["interval_reading"]
    if not isinstance(rows, list):
        raise IngestError("interval_reading is not a list", source=name, field=f"{where}.interval_reading")
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or "date" not in r or "value" not in r:
            raise IngestError("a reading needs 'date' and 'value'", source=name, field=f"{where}.interval_reading[{i}]")
    yield from _dataconnect_values(
        prm,
        series_kind(kind, SeriesKind.CONSUMPTION, source=name),
        unit_text,
        rows,
        ("date", "value", "interval_length"),
        daily_step=str(rtype.get("measuring_period", "")).upper() == "P1D",
        where=f"{where}.interval_reading",
        unit_field=f"{where}.reading_type.unit",
        name=name,
        zone=zone,
        now=now,
        progress=progress,
    )


def _dataconnect_2026(doc: dict, where: str, *, name, zone, kind, now, progress) -> Iterator[SourceReadings]:
    """One Data Connect 2026 response (Enedis's Swagger ``mesure_synchrone_auto`` v2, ``ReponseMesureAccesCDC`` /
    ``ReponseMesureAccesQuotidien``): each ``grandeur`` is one curve or one run of daily energies."""
    prm = _validate_prm(doc.get("idPrm", ""), source=name, line=None, field=f"{where}idPrm")
    grandeurs = doc.get("grandeur")
    if not isinstance(grandeurs, list):
        raise IngestError("grandeur is not a list", source=name, field=f"{where}grandeur")
    if not grandeurs and doc.get("contexte"):
        raise IngestError(
            "index readings (index_consommation / index_production) are not imported: regie imports load curves "
            "and daily energy",
            source=name,
            field=f"{where}contexte",
        )
    daily_step = str(doc.get("pas", "")).upper() == "P1D"
    for g, grandeur in enumerate(grandeurs):
        at = f"{where}grandeur[{g}]"
        if not isinstance(grandeur, dict) or not isinstance(grandeur.get("points"), list):
            raise IngestError("a grandeur needs a list of points", source=name, field=f"{at}.points")
        physique = str(grandeur.get("grandeurPhysique", "")).upper()
        if physique not in ("PA", "EA", ""):
            raise IngestError(
                f"grandeurPhysique {physique!r} is not imported (regie imports PA, a load curve, and EA, energy)",
                source=name,
                field=f"{at}.grandeurPhysique",
            )
        kind_ = _kind(
            str(grandeur.get("grandeurMetier", "")), kind, source=name, line=None, field=f"{at}.grandeurMetier"
        )
        points = grandeur["points"]
        for i, point in enumerate(points):
            if not isinstance(point, dict) or "d" not in point or "v" not in point:
                raise IngestError("a point needs 'd' and 'v'", source=name, field=f"{at}.points[{i}]")
        yield from _dataconnect_values(
            prm,
            kind_,
            grandeur.get("unite") or ("W" if physique == "PA" else "Wh"),
            points,
            ("d", "v", "p"),
            daily_step=daily_step,
            where=f"{at}.points",
            unit_field=f"{at}.unite",
            name=name,
            zone=zone,
            now=now,
            progress=progress,
        )


def _dataconnect_values(
    prm: str,
    kind: SeriesKind,
    unit_text: str,
    rows: list[dict],
    keys: tuple[str, str, str],
    *,
    daily_step: bool,
    where: str,
    unit_field: str,
    name: str,
    zone,
    now,
    progress,
) -> Iterator[SourceReadings]:
    """The readings of one curve or run of daily energies, either format: ``keys`` names a row's date, value and
    step (v5 ``date``/``value``/``interval_length``, 2026 ``d``/``v``/``p``). Dates are local times without an
    offset stamping the *end* of each interval (a day alone for daily energy)."""
    date_key, value_key, step_key = keys
    unit, factor = unit_scale(unit_text, source=name, field=unit_field)
    n = len(rows)
    if n == 0:
        return
    idx = np.arange(n)
    dates = np.array([r[date_key] for r in rows], dtype=object)
    raw_values = np.array([None if r[value_key] is None else str(r[value_key]) for r in rows], dtype=object)
    field_of = {"date": date_key, "value": value_key}
    try:
        stamps = parse_times(dates, zone=zone, source=name, field="date", lines=idx)
        values = parse_numbers(raw_values, decimal_comma=False, source=name, field="value", lines=idx) * factor
    except IngestError as exc:
        raise IngestError(exc.why, source=name, field=f"{where}[{exc.line}].{field_of[exc.field]}") from None
    try:
        check_not_future(stamps, idx, source=name, field="date", now=now)
    except IngestError as exc:
        raise IngestError(exc.why, source=name, field=f"{where}[{exc.line}].{date_key}") from None
    daily = unit == "Wh" and (daily_step or all(len(str(x)) == 10 for x in dates))
    common = {"kind": kind, "prm": prm, "name": f"Linky {mask_prm(prm)}", "progress": progress}
    if daily:
        yield SourceReadings(prm, stamps, values, unit="Wh", step=P1D, convention=IntervalConvention.START, **common)
        return
    if unit not in ("W", "Wh"):
        raise IngestError(f"unit {unit_text!r} is not active power or energy", source=name, field=unit_field)
    lengths = [r.get(step_key) for r in rows]
    if all(lengths):
        codes, uniq = pd.factorize(np.array(lengths, dtype=object))
        secs = []
        for c, s in enumerate(uniq):
            i = int(np.argmax(codes == c))
            try:
                st = Step.parse(str(s))
            except ValueError:
                raise IngestError(
                    f"{s!r} is not a step such as PT30M", source=name, field=f"{where}[{i}].{step_key}"
                ) from None
            if st.is_calendar:
                raise IngestError(
                    f"a load-curve step must be fixed, got {s!r}", source=name, field=f"{where}[{i}].{step_key}"
                )
            secs.append(st.seconds)
        steps = np.array(secs, dtype=np.int64)[codes]
    else:
        order = np.argsort(stamps, kind="stable")
        steps = np.empty(n, np.int64)
        steps[order] = infer_steps(stamps[order])
    yield SourceReadings(
        prm,
        stamps - steps,
        values,
        unit=unit,
        step=dominant_step(steps),
        steps=steps,
        convention=IntervalConvention.END,
        **common,
    )


register(
    FileAdapter(
        "enedis-portal", "Enedis customer-portal CSV (load curve in W, daily energy in Wh)", parse_portal, (".csv",)
    )
)
register(FileAdapter("enedis-r63", "Enedis R63 CSV (load curve, one row per point, Pas per row)", parse_r63, (".csv",)))
register(
    FileAdapter(
        "enedis-dataconnect",
        "Enedis Data Connect JSON, v5 (meter_reading) or 2026 (mesure_synchrone_auto v2): load curve or daily energy",
        parse_dataconnect,
        (".json",),
    )
)
