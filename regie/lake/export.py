"""`regie export parquet`: the stored readings as a Parquet lake, incrementally, through the gate.

Every value leaves the store through :mod:`regie.governance.gate`: a series describing a data subject is read
with :func:`gate.read_personal` as the exporting account (one access-log entry per series and export, which
each data subject sees), the others with :func:`gate.read_open`. The exporter is either an account (``--as``:
an operator exports the series its consent grants allow at the series' own step, the others are withheld and
named in the report) or, by default, the régie's own :data:`LAKE` account, an admin of the gate that states
its reason, like the publication's.

Only partitions whose source changed are rewritten: the manifest keeps, per partition, the fingerprint of the
raw chunks behind it (:mod:`regie.store.fingerprints`, no value decoded) and of the series it holds.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from regie.governance import gate
from regie.governance.accounts import Account
from regie.governance.system_accounts import LAKE
from regie.governance.territories import list_territories
from regie.lake import layout, meta
from regie.model import Series, Step
from regie.store import Store
from regie.store.fingerprints import raw_chunk_prints
from regie.store.operations import load_operation, operation_ids
from regie.store.timeseries import live_only

LAKE_REASON = "the régie's Parquet lake: the same balance, ACC and grid figures computed at regional scale"
PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning (consent.PURPOSES), as the balance
MANIFEST_FORMAT = 1

READINGS_SCHEMA = pa.schema([
    pa.field("series_id", pa.dictionary(pa.int32(), pa.string())),
    pa.field("t", pa.int64()),  # UTC seconds, start of the value's interval
    pa.field("value", pa.float64()),  # in the series' unit (W, Wh, degC...)
])  # fmt: skip


@dataclass(slots=True)
class ExportReport:
    """What an export did: partitions written, left as they were, removed; series withheld and why."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    rows: int = 0
    withheld: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _read_manifest(fs, root: str) -> dict:
    path = f"{root}/{layout.MANIFEST}"
    if not fs.exists(path):
        return {"format": MANIFEST_FORMAT, "partitions": {}, "withheld": {}}
    with fs.open(path, "rb") as f:
        found = json.loads(f.read())
    if found.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: manifest format {found.get('format')!r}, this regie writes {MANIFEST_FORMAT}")
    return found


def _write_bytes(fs, root: str, path: str, data: bytes) -> None:
    def write(f, tmp: str) -> None:
        with f.open(tmp, "wb") as out:
            out.write(data)

    layout.put_atomically(fs, root, path, write)


def _write_table(fs, root: str, path: str, table: pa.Table) -> None:
    def write(f, tmp: str) -> None:
        with f.open(tmp, "wb") as out:
            pq.write_table(table, out, compression=layout.COMPRESSION, row_group_size=1 << 20)

    layout.put_atomically(fs, root, path, write)


def _exportable(store: Store, who: _Reader, s: Series, start: int, end: int) -> str | None:
    """The gate's level for reading ``s`` whole at its own step, or None (withheld); reads and logs nothing."""
    level = gate.allowed_granularity(store, who.caller, s.id, start, end, who.purpose, reason=who.reason,
                                     now=who.now)  # fmt: skip
    if level is None:
        return None
    if level == gate.RAW:
        return level
    own = s.step.seconds if s.step is not None and not s.step.is_calendar else None
    step = Step.parse(level)
    return level if own is not None and not step.is_calendar and step.seconds == own else None


def _series_table(tid: str, series: Sequence[Series], personal: set[str], exported: dict[str, str],
                  sources: dict[str, str]) -> pa.Table:  # fmt: skip
    def step_s(s: Series) -> int | None:
        return s.step.seconds if s.step is not None and not s.step.is_calendar else None

    cols = {
        "series_id": [s.id for s in series],
        "territory": [tid] * len(series),
        "kind": [s.kind.value for s in series],
        "unit": [s.unit for s in series],
        "step_s": pa.array([step_s(s) for s in series], pa.int64()),
        "resolution": [s.resolution for s in series],
        "convention": [s.convention.value for s in series],
        "source": [sources.get(s.producer_id or "") for s in series],
        "transformer_id": [s.transformer_id for s in series],
        "personal": [s.id in personal for s in series],
        "exported": [s.id in exported for s in series],
    }
    return pa.table(cols)


def export_lake(
    store: Store, dest: str, *, caller: Account = LAKE, reason: str | None = LAKE_REASON,
    territories: Sequence[str] | None = None, storage_options: dict | None = None, now: int | None = None,
    purpose: str = PURPOSE,
) -> ExportReport:  # fmt: skip
    """Export the store's readings into the lake at ``dest`` (a folder or an ``s3://`` URL); see the module."""
    t0 = time.perf_counter()
    fs, root = layout.open_lake(dest, storage_options)
    fs.makedirs(root, exist_ok=True)
    manifest = _read_manifest(fs, root)
    report = ExportReport()
    wanted = list(territories) if territories else [t.id for t in list_territories(store)]
    with live_only():  # the years archived to the lake are there already (regie/lake/archive.py)
        for tid in wanted:
            _export_territory(store, fs, root, tid, _Reader(caller, reason, purpose, now), manifest, report)
            _write_bytes(fs, root, layout.MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    report.seconds = time.perf_counter() - t0
    return report


@dataclass(frozen=True, slots=True)
class _Reader:
    """Who reads through the gate, why and for what purpose."""

    caller: Account
    reason: str | None
    purpose: str
    now: int | None


def _export_territory(store: Store, fs, root: str, tid: str, who: _Reader, manifest: dict,
                      report: ExportReport) -> None:  # fmt: skip
    inv = store.load_inventory(tid)
    zone = inv.territory.zone
    prints = raw_chunk_prints(store, tid)
    by_id = {s.id: s for s in inv.series}
    personal = {s.id for s in inv.series if gate.is_personal(store, s)}
    stale = [p for p in manifest["partitions"] if p.startswith(f"{layout.READINGS}/territory={tid}/")]
    if prints:
        lo, hi = min(p.t_min for p in prints), max(p.t_max for p in prints)
        exported: dict[str, str] = {}  # series id -> the level it is read at (the gate's name for its own step)
        for s in inv.series:
            level = gate.RAW if s.id not in personal else _exportable(store, who, s, lo, hi + 1)
            if level is not None:
                exported[s.id] = level
            else:
                report.withheld[s.id] = f"{who.caller.label} may not read it whole at its own step for {who.purpose}"
        bounds = layout.months(lo, hi, zone)
        starts = np.array([a for _, a, _ in bounds], dtype=np.int64)
        digests: dict[str, hashlib._Hash] = {}
        for cp in prints:
            s = by_id.get(cp.series_key)
            if s is None or s.id not in exported:
                continue
            first, last = np.searchsorted(starts, [cp.t_min, cp.t_max], side="right") - 1
            for m in range(int(first), int(last) + 1):
                key = layout.partition(tid, s.kind.value, bounds[m][0])
                digests.setdefault(key, hashlib.blake2b(digest_size=16)).update(cp.series_key.encode() + cp.digest)
        current = {k: h.hexdigest() for k, h in digests.items()}
        changed = sorted(k for k, fp in current.items() if manifest["partitions"].get(k, {}).get("fingerprint") != fp)
        report.unchanged += len(current) - len(changed)
        _write_partitions(store, fs, root, tid, who, inv.series, personal, exported, bounds, changed, current,
                          manifest, report)  # fmt: skip
        stale = [p for p in stale if p not in current]
    else:
        exported = {}
    for p in stale:  # partitions whose series are gone, or now withheld (an archived year's files stay)
        if fs.exists(f"{root}/{p}/{layout.PART}"):
            fs.rm(f"{root}/{p}/{layout.PART}")
        manifest["partitions"].pop(p, None)
        report.removed.append(p)
    operations = [load_operation(store, op) for op in operation_ids(store)]
    sources = {p.id: p.source.value for p in inv.producers}
    _write_table(fs, root, layout.series_path(tid), _series_table(tid, inv.series, personal, exported, sources))
    ops = [o for o in operations if o.territory_id == tid]
    _write_bytes(fs, root, layout.meta_path(tid), meta.dumps(meta.meta_of(inv, ops)).encode())
    manifest["withheld"][tid] = sorted(s for s in report.withheld if s in by_id)


def _write_partitions(store: Store, fs, root: str, tid: str, who: _Reader, series: Sequence[Series],
                      personal: set[str], exported: dict[str, str], bounds: list[tuple[str, int, int]],
                      changed: list[str], current: dict[str, str], manifest: dict,
                      report: ExportReport) -> None:  # fmt: skip
    """Read the series of each changed (kind, month) once through the gate, then write each partition."""
    month_index = {m: i for i, (m, _, _) in enumerate(bounds)}
    by_kind: dict[str, list[int]] = {}
    for key in changed:
        kind, month = key.split("/kind=")[1].split("/month=")
        by_kind.setdefault(kind, []).append(month_index[month])
    for kind, ms in sorted(by_kind.items()):
        a, b = bounds[min(ms)][1], bounds[max(ms)][2]
        names: list[str] = []
        per_month: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {m: [] for m in ms}
        for s in (s for s in series if s.kind.value == kind and s.id in exported):
            if s.id in personal:
                got = gate.read_personal(store, who.caller, s.id, a, b, exported[s.id], who.purpose, reason=who.reason,
                                         now=who.now)  # fmt: skip
                t, v = got.t, got.values
            else:
                t, v = gate.read_open(store, s.id, a, b)
            if len(t) == 0:
                continue
            t = np.asarray(t, dtype=np.int64)
            cuts = np.searchsorted(t, [bounds[m][1] for m in ms] + [bounds[m][2] for m in ms])
            for j, m in enumerate(ms):
                lo, hi = int(cuts[j]), int(cuts[len(ms) + j])
                if hi > lo:
                    per_month[m].append((len(names), t[lo:hi], np.asarray(v[lo:hi], dtype=np.float64)))
            names.append(s.id)
        dictionary = pa.array(names, pa.string())
        for m in ms:
            key = layout.partition(tid, kind, bounds[m][0])
            parts = per_month[m]
            if not parts:
                continue
            idx = np.concatenate([np.full(len(t), i, dtype=np.int32) for i, t, _ in parts])
            table = pa.table(
                [pa.DictionaryArray.from_arrays(pa.array(idx), dictionary),
                 pa.array(np.concatenate([t for _, t, _ in parts])),
                 pa.array(np.concatenate([v for _, _, v in parts]))],
                schema=READINGS_SCHEMA,
            )  # fmt: skip
            _write_table(fs, root, f"{key}/{layout.PART}", table)
            manifest["partitions"][key] = {
                "fingerprint": current[key], "rows": table.num_rows, "series": len(parts),
                "start": bounds[m][1], "end": bounds[m][2],
            }  # fmt: skip
            report.written.append(key)
            report.rows += table.num_rows
