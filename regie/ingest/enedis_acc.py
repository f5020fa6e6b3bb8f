"""The per-participant curves the grid operator returns for an ACC operation, and their reconciliation.

After each month the grid operator gives the PMO, for every participant and every metering step, the flows
it computed from the keys the PMO sent: for a consumer the energy it drew (CONS), the part allocated from
the operation (AUTOCONS, *autoconsommée*) and the rest, supplied by its own supplier (COMPLEMENT, the
*alloconsommation*); for a producer its injection (PROD), the part shared (AUTOPROD) and the surplus
(SURPLUS). The quantities and their meaning are Enedis's: "Modalités spécifiques aux points de connexion
participant à une opération d'autoconsommation collective", Enedis-NOI-CF_110E, and "Modalités de mise en
œuvre d'une opération d'autoconsommation collective", Enedis-OPE-CF_07E.

**The file layout is assumed.** The search for Enedis's public description of the PMO's data files
(portal export or SGE/Data Hub flow) found none (searches and sources: ``docs/enedis-formats.md``; the
per-participant ACC energies a public source does describe are the R15 measure classes, per reading period,
read by :mod:`regie.ingest.r15_acc`), so this reader takes the "long" CSV layout of Enedis's other
load-curve exports (R63, portal), one value per line, and documents it here; check it against a real file
before relying on it, and extend :data:`COLUMNS` / :data:`KINDS` rather than the parser:

====================  =========================================================================
column                meaning (accepted header spellings in :data:`COLUMNS`)
====================  =========================================================================
``Identifiant PRM``   the 14-digit delivery point
``Type de donnée``    CONS, AUTOCONS, COMPLEMENT (or ALLOCONS), PROD, AUTOPROD, SURPLUS
``Horodate``          ISO 8601 local time, with or without its UTC offset; stamps the *end* of
                      the step, as every Enedis load curve does (R63, Data Connect)
``Valeur``            a number, decimal point or comma
``Unité``             optional: ``W`` (mean power over the step, as R63 "PA" curves; the
                      default), ``Wh`` or ``kWh`` (energy over the step)
``Pas``               optional: ``PT30M`` or ``PT15M``; else the operation's step
====================  =========================================================================

Separator ``;`` (``,`` accepted), UTF-8 with or without BOM. Times without an offset are local
(Europe/Paris); the repeated hour of an autumn DST night is resolved by order, as pandas'
``ambiguous="infer"`` does for a monotonic series. Like every regie reader, a bad line fails the whole file
with its line and field (:class:`regie.ingest.IngestError`). The result is energy per step [Wh] stamped at
the step's *start*, UTC, ready for :func:`reconcile_operation`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from regie.analytics import acc
from regie.ingest.errors import IngestError
from regie.model.metering import mask_prm
from regie.model.operation import Participant
from regie.model.units import Step


class _Curves(Protocol):
    """What the export and the reconciliation read of an operation's curves (``regie.services.acc``)."""

    @property
    def t(self) -> np.ndarray: ...
    @property
    def step_s(self) -> int: ...
    @property
    def consumers(self) -> Sequence[Participant]: ...
    @property
    def producers(self) -> Sequence[Participant]: ...
    @property
    def active(self) -> np.ndarray: ...
    @property
    def producer_active(self) -> np.ndarray: ...


class OperationAllocation(Protocol):
    """An allocated operation as ingest reads it: ingest does not depend on services, it only reads what it
    is handed (``regie.services.acc.OperationAllocation`` is one)."""

    @property
    def curves(self) -> _Curves: ...
    @property
    def allocation(self) -> acc.Allocation: ...

#: Header spellings accepted for each field (compared without case, accents and spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "prm": ("identifiant prm", "prm", "id prm", "point de livraison", "usage point id"),
    "kind": ("type de donnee", "type", "grandeur", "grandeur metier", "nature de la courbe", "flux"),
    "time": ("horodate", "date", "date et heure", "timestamp"),
    "value": ("valeur", "value", "energie", "valeur (wh)", "valeur (w)"),
    "unit": ("unite", "unit"),
    "step": ("pas", "step", "pas de temps"),
}
#: Data types and their aliases, onto Enedis's names.
KINDS: dict[str, str] = {
    "CONS": "CONS", "CONSOMMATION": "CONS",
    "AUTOCONS": "AUTOCONS", "AUTOCONSOMMATION": "AUTOCONS", "AUTOCONSOMMEE": "AUTOCONS",
    "COMPLEMENT": "COMPLEMENT", "ALLOCONS": "COMPLEMENT", "ALLOCONSOMMATION": "COMPLEMENT",
    "ALLOCONSOMMEE": "COMPLEMENT",
    "PROD": "PROD", "PRODUCTION": "PROD",
    "AUTOPROD": "AUTOPROD", "AUTOPRODUCTION": "AUTOPROD",
    "SURPLUS": "SURPLUS",
}  # fmt: skip
UNITS: dict[str, float | None] = {"W": None, "WH": 1.0, "KWH": 1000.0}  # None: power, × step / 3600


def _norm(text: str) -> str:
    import unicodedata

    bare = unicodedata.normalize("NFKD", text.strip().lower())
    return " ".join("".join(c for c in bare if not unicodedata.combining(c)).split())


@dataclass(frozen=True, slots=True)
class GridCurves:
    """The grid operator's curves: ``values[(prm, kind)] = (t, wh)``, t the UTC step starts (sorted)."""

    source: str
    step_s: int
    values: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]

    @property
    def prms(self) -> set[str]:
        return {prm for prm, _ in self.values}

    def matrix(self, kind: str, prms: Iterable[str], t: np.ndarray) -> np.ndarray:
        """``(len(t), len(prms))`` energies [Wh] on the steps ``t``; NaN where the file has no value."""
        prms = list(prms)
        out = np.full((len(t), len(prms)), np.nan)
        for j, prm in enumerate(prms):
            if (prm, kind) not in self.values:
                continue
            ts, wh = self.values[(prm, kind)]
            idx = np.searchsorted(t, ts)
            ok = (idx < len(t)) & (t[np.minimum(idx, len(t) - 1)] == ts)
            out[idx[ok], j] = wh[ok]
        return out


def _find_columns(header: list[str], source: str) -> dict[str, int]:
    names = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for field, spellings in COLUMNS.items():
        for i, name in enumerate(names):
            if name in spellings:
                found[field] = i
                break
    missing = [f for f in ("prm", "kind", "time", "value") if f not in found]
    if missing:
        raise IngestError(f"no column for {', '.join(missing)}; header is {header!r} (see regie.ingest.enedis_acc "
                          "for the expected layout)", source=source, line=1)
    return found


def _number(text: str, source: str, line: int, field: str) -> float:
    try:
        x = float(text.strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except ValueError:
        raise IngestError(f"{text!r} is not a number", source=source, line=line, field=field) from None
    if not np.isfinite(x) or x < 0:
        raise IngestError(f"{text!r}: flows are finite and non-negative", source=source, line=line, field=field)
    return x


class _Rows:
    """A csv reader whose malformed lines are :class:`IngestError` (line and why), not ``csv.Error``."""

    def __init__(self, reader, source: str) -> None:
        self.reader, self.source = reader, source

    def __iter__(self) -> _Rows:
        return self

    def __next__(self) -> list[str]:
        try:
            return next(self.reader)
        except csv.Error as exc:
            raise IngestError(f"malformed CSV: {exc}", source=self.source, line=self.reader.line_num) from None


def parse_acc_curves(stream: IO[str], *, source: str = "<stream>", step: Step | None = None,
                     zone: ZoneInfo | str = "Europe/Paris") -> GridCurves:
    """Read the grid operator's per-participant ACC curves from a text stream (layout: module docstring).

    ``step`` is the operation's metering step, used when the file has no ``Pas`` column and checked
    against it when it has one.
    """
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    text = stream.read().lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") >= first.count(",") else ","
    rows = _Rows(csv.reader(io.StringIO(text, newline=""), delimiter=sep), source)
    try:
        header = next(rows)
    except StopIteration:
        raise IngestError("the file is empty", source=source) from None
    col = _find_columns(header, source)
    groups: dict[tuple[str, str], list[tuple[int, str, float, float | None]]] = {}
    step_s = step.seconds if step else None
    for n, row in enumerate(rows, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise IngestError(f"{len(row)} fields, the header has {len(header)}", source=source, line=n)
        prm = row[col["prm"]].strip()
        if len(prm) != 14 or not prm.isdigit():
            raise IngestError(f"a PRM is 14 digits, got {mask_prm(prm)!r}", source=source, line=n,
                              field=header[col["prm"]])
        kind = KINDS.get(_norm(row[col["kind"]]).upper().replace(" ", ""))
        if kind is None:
            known = ", ".join(sorted(set(KINDS.values())))
            raise IngestError(f"unknown data type {row[col['kind']]!r}; expected one of {known}", source=source,
                              line=n, field=header[col["kind"]])
        if "step" in col and row[col["step"]].strip():
            try:
                s = Step.parse(row[col["step"]]).seconds
            except ValueError as exc:
                raise IngestError(str(exc), source=source, line=n, field=header[col["step"]]) from None
            if step_s is not None and s != step_s:
                raise IngestError(f"step {row[col['step']]} differs from {Step(seconds=step_s)}", source=source,
                                  line=n, field=header[col["step"]])
            step_s = s
        unit_text = row[col["unit"]].strip().upper() if "unit" in col else "W"
        if unit_text not in UNITS:
            raise IngestError(f"unit {row[col['unit']]!r}: expected W, Wh or kWh", source=source, line=n,
                              field=header[col["unit"]])
        value = _number(row[col["value"]], source, n, header[col["value"]])
        groups.setdefault((prm, kind), []).append((n, row[col["time"]].strip(), value, UNITS[unit_text]))
    if step_s is None:
        raise IngestError("no Pas column and no operation step given: cannot tell PT30M from PT15M", source=source)
    values: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for key, items in groups.items():
        ends = _instants([it[1] for it in items], [it[0] for it in items], tz, source, header[col["time"]])
        t = ends - step_s  # Enedis stamps the end of the step; regie the start
        wh = np.array([v * (f if f is not None else step_s / 3600) for _, _, v, f in items])
        order = np.argsort(t, kind="stable")
        t, wh = t[order], wh[order]
        if (t % step_s).any():
            bad = items[int(order[np.flatnonzero(t % step_s)[0]])]
            raise IngestError(f"{bad[1]} is not on the {Step(seconds=step_s)} grid", source=source, line=bad[0],
                              field=header[col["time"]])
        dup = np.flatnonzero(np.diff(t) == 0)
        for d in dup:
            if wh[d] != wh[d + 1]:
                line = items[int(order[d + 1])][0]
                raise IngestError(f"two different values for {key[1]} of {mask_prm(key[0])} at the same step",
                                  source=source, line=line, field=header[col["time"]])
        keep = np.ones(len(t), dtype=bool)
        keep[dup + 1] = False
        values[key] = (t[keep], wh[keep])
    return GridCurves(source, step_s, values)


def _instants(stamps: list[str], lines: list[int], tz: ZoneInfo, source: str, field: str) -> np.ndarray:
    """UTC seconds of ISO 8601 stamps; naive ones are local, autumn's repeated hour resolved by order."""
    aware = [("+" in s[10:]) or s.endswith("Z") or ("-" in s[10:]) for s in stamps]
    out = np.empty(len(stamps), dtype=np.int64)
    try:
        if all(aware):
            out[:] = pd.to_datetime(stamps, utc=True, format="ISO8601").as_unit("s").asi8
            return out
        if any(aware):
            raise ValueError("some times have a UTC offset and some do not")
        naive = pd.DatetimeIndex(pd.to_datetime(stamps, format="ISO8601"))
        local = naive.tz_localize(tz, ambiguous="infer", nonexistent="raise")
        out[:] = local.tz_convert("UTC").as_unit("s").asi8
        return out
    except (ValueError, TypeError) as exc:
        line = lines[0]
        for s, ln in zip(stamps, lines, strict=True):  # point at the first stamp that does not parse
            try:
                pd.Timestamp(s)
            except ValueError:
                line = ln
                break
        raise IngestError(f"times: {exc}", source=source, line=line, field=field) from None


def read_acc_curves(path: Path | str, *, step: Step | None = None, zone: ZoneInfo | str = "Europe/Paris") -> GridCurves:
    """Read a file of the grid operator's ACC curves (see :func:`parse_acc_curves`)."""
    p = Path(path)
    with p.open(encoding="utf-8-sig", newline="") as fh:
        return parse_acc_curves(fh, source=p.name, step=step, zone=zone)


def format_acc_curves_csv(result: OperationAllocation, zone: ZoneInfo | str = "Europe/Paris") -> str:
    """regie's own flows written in the same layout, energies in Wh: what the PMO can diff or archive.

    Each value is stamped at the end of its step with its UTC offset, so DST days are unambiguous.
    """
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    c, a = result.curves, result.allocation
    ends = pd.to_datetime(c.t + c.step_s, unit="s", utc=True).tz_convert(tz)
    stamps = [x.isoformat() for x in ends]
    step = Step(seconds=c.step_s).iso
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(("Identifiant PRM", "Type de donnée", "Horodate", "Valeur", "Unité", "Pas"))
    blocks: list[tuple[Any, str, np.ndarray, np.ndarray]] = []
    for j, p in enumerate(c.consumers):
        for kind, arr in (("CONS", a.cons), ("AUTOCONS", a.autocons), ("COMPLEMENT", a.complement)):
            blocks.append((p, kind, arr[:, j], c.active[:, j]))
    for j, p in enumerate(c.producers):
        for kind, arr in (("PROD", a.prod), ("AUTOPROD", a.autoprod), ("SURPLUS", a.surplus)):
            blocks.append((p, kind, arr[:, j], c.producer_active[:, j]))
    for p, kind, arr, active in blocks:
        for i in np.flatnonzero(active):
            w.writerow((p.prm, kind, stamps[i], f"{arr[i]:.0f}", "Wh", step))
    return buf.getvalue()


# ------------------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    """One participant: totals [Wh] by regie and by the grid operator, and the steps that disagree."""

    prm_masked: str
    name: str
    role: str
    regie_wh: float
    grid_wh: float
    steps_off: int
    missing: int
    max_step_diff_wh: float


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """regie's allocation against the grid operator's curves, participant by participant."""

    source: str
    key: str
    tolerance_wh: float
    relative: float
    rows: tuple[ReconciliationRow, ...]
    unknown_prms: tuple[str, ...]
    result: acc.Reconciliation

    @property
    def passed(self) -> bool:
        return self.result.passed and not self.unknown_prms

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=";", lineterminator="\n")
        w.writerow(("prm", "name", "role", "flow", "regie_wh", "grid_wh", "diff_wh", "steps_off", "missing",
                    "max_step_diff_wh"))
        for r in self.rows:
            flow = "AUTOCONS" if r.role == "consumer" else "SURPLUS"
            w.writerow((r.prm_masked, r.name, r.role, flow, f"{r.regie_wh:.0f}", f"{r.grid_wh:.0f}",
                        f"{r.regie_wh - r.grid_wh:.0f}", r.steps_off, r.missing, f"{r.max_step_diff_wh:.0f}"))
        return buf.getvalue()

    def summary(self) -> str:
        """One line a PMO can read: passed, or how many participants and steps disagree."""
        off = [r for r in self.rows if r.steps_off or r.missing]
        if self.passed:
            return f"{self.source}: regie and the grid operator agree on every step (key {self.key})"
        extra = f"; {len(self.unknown_prms)} PRM(s) in the file are not in the operation" if self.unknown_prms else ""
        return (f"{self.source}: {len(off)} participant(s) differ, {sum(r.steps_off for r in off)} step(s) off, "
                f"{sum(r.missing for r in off)} missing{extra}")


def reconcile_operation(result: OperationAllocation, grid: GridCurves, *, tolerance_wh: float = 1.0,
                        relative: float = 0.001) -> ReconciliationReport:
    """Compare an allocation with the grid operator's AUTOCONS / COMPLEMENT (and SURPLUS if given).

    Steps where a participant is out of the operation are compared as 0 (the grid operator gives no value
    there). ``relative`` = 0.001 allows for keys sent floored to 0.1 % (see :func:`regie.analytics.acc.reconcile`).
    """
    c = result.curves
    if grid.step_s != c.step_s:
        raise ValueError(f"the file's step {Step(seconds=grid.step_s)} is not the operation's {Step(seconds=c.step_s)}")
    cons_prms = [p.prm for p in c.consumers]
    prod_prms = [p.prm for p in c.producers]
    autocons = grid.matrix("AUTOCONS", cons_prms, c.t)
    complement = grid.matrix("COMPLEMENT", cons_prms, c.t)
    autocons[~c.active] = 0.0
    complement[~c.active] = 0.0
    surplus = None
    if any((prm, "SURPLUS") in grid.values for prm in prod_prms):
        surplus = grid.matrix("SURPLUS", prod_prms, c.t)
        surplus[~c.producer_active] = 0.0
    rec = acc.reconcile(result.allocation, autocons, complement, surplus, tolerance_wh=tolerance_wh, relative=relative)
    a = result.allocation
    rows = [
        ReconciliationRow(mask_prm(p.prm), p.name, "consumer", float(a.autocons[:, j].sum()),
                          float(np.nansum(autocons[:, j])), int(rec.steps_off[j]), int(rec.missing[j]),
                          float(rec.max_step_diff[j]))
        for j, p in enumerate(c.consumers)
    ]
    if surplus is not None:
        rows += [
            ReconciliationRow(mask_prm(p.prm), p.name, "producer", float(a.surplus[:, j].sum()),
                              float(np.nansum(surplus[:, j])), int(rec.surplus_steps_off[j]),
                              int(np.isnan(surplus[:, j]).sum()), 0.0)
            for j, p in enumerate(c.producers)
        ]
    unknown = tuple(sorted(mask_prm(x) for x in grid.prms - set(cons_prms) - set(prod_prms)))
    return ReconciliationReport(grid.source, result.key, tolerance_wh, relative, tuple(rows), unknown, rec)
