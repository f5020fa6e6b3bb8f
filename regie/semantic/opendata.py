"""Open-data files: the public balance of each territory as CSV and Parquet, described by a Frictionless data
package (Table Schema per file), every figure a sum of published cells (:func:`public_balance`).

A figure that secrecy hides is an empty cell, and the row's ``masked`` column says which figures are hidden
and why (``consumption:fewer_than_10``...). Written by ``regie publish opendata DEST`` and served under
``/opendata/<territory>/``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from regie.governance import secrecy, territories
from regie.model import Step
from regie.publication.balance import public_balance, publication
from regie.semantic.opendata_tables import TABLES, Table
from regie.semantic.vocab import LICENCES
from regie.store import Store

LICENCE_TITLES = {"etalab-2.0": "Licence Ouverte / Open Licence 2.0 (Etalab)", "odbl-1.0": "ODbL 1.0"}
FORMATS = ("csv", "parquet")
SLICE = 10_000  # metering steps per balance request (under regie.services.balance.MAX_PERIODS)


@dataclass(frozen=True, slots=True)
class TableData:
    table: Table
    frame: pd.DataFrame
    fields: list[dict[str, Any]]


def _fields(sources: list[str]) -> list[dict[str, Any]]:
    wh = lambda name, what: {"name": name, "type": "number", "description": what + " [Wh]"}  # noqa: E731
    ratio = lambda name, what: {"name": name, "type": "number", "description": what + " (0–1)"}  # noqa: E731
    return [
        {"name": "start", "type": "datetime", "description": "start of the period, local time with its offset",
         "constraints": {"required": True, "unique": True}},
        {"name": "end", "type": "datetime", "description": "end of the period (exclusive)"},
        wh("consumption_wh", "energy consumed by the territory's delivery points"),
        wh("production_wh", "energy produced by the territory's plants, all sources"),
        *[wh(f"production_{s}_wh", f"energy produced by the {s} plants") for s in sources],
        wh("self_consumed_wh", "Σ over metering steps of min(production, consumption)"),
        ratio("coverage", "Σ production / Σ consumption"),
        ratio("self_sufficiency", "Σ min(production, consumption) / Σ consumption, per metering step"),
        ratio("self_consumption", "Σ min(production, consumption) / Σ production, per metering step"),
        {"name": "masked", "type": "string",
         "description": "figures hidden by statistical secrecy in this row, as figure:reason separated by spaces"},
    ]  # fmt: skip


def table_data(store: Store, territory_id: str, table: Table) -> TableData | None:
    """One table of one territory over its data period, or None when nothing is stored."""
    pub = publication(store, territory_id)
    if pub is None:
        return None
    inv = store.load_inventory(territory_id)
    zone = inv.territory.zone
    step = Step.parse(table.step) if table.step else Step(seconds=pub.base)
    rows: list[dict[str, Any]] = []
    # a metering-step table is asked for in slices (a balance request has at most MAX_PERIODS periods); each
    # period is one cell there, so its figures and reasons do not depend on the slice
    cut = pub.a
    while True:
        edge = pub.b if step.is_calendar else min(pub.b, cut + SLICE * step.seconds)
        hi = datetime.fromtimestamp(edge, zone)
        bal = public_balance(store, datetime.fromtimestamp(cut, zone), hi, step, territory_id)
        rows += _rows(bal, hi, step)
        if edge >= pub.b:
            break
        cut = edge
    fields = _fields(list(bal["sources"]))
    frame = pd.DataFrame(rows, columns=[f["name"] for f in fields])
    for f in fields:
        if f["type"] == "number":
            frame[f["name"]] = pd.to_numeric(frame[f["name"]], errors="coerce").astype("float64")
    return TableData(table, frame, fields)


def _rows(bal: dict[str, Any], end: datetime, step: Step) -> list[dict[str, Any]]:
    """The table's rows of one balance answer."""
    p = bal["periods"]
    starts = [datetime.fromisoformat(x) for x in p["start"]]
    ends = [*starts[1:], end]
    masked = p.get("masked", {})
    rows = []
    for i, a in enumerate(starts):
        why = " ".join(f"{fig}:{reasons[i]}" for fig, reasons in sorted(masked.items()) if reasons[i])
        row = {
            "start": a.isoformat(),
            "end": (ends[i] if step.is_calendar else a + timedelta(seconds=step.seconds)).isoformat(),
            "consumption_wh": p["consumption_wh"][i],
            "production_wh": p["production_total_wh"][i],
        }
        row |= {f"production_{s}_wh": p["production_wh"][s][i] for s in bal["sources"]}
        row |= {k: p[k][i] for k in ("self_consumed_wh", "coverage", "self_sufficiency", "self_consumption")}
        row["masked"] = why
        rows.append(row)
    return rows


def to_bytes(data: TableData, fmt: str) -> bytes:
    """The table as CSV (UTF-8, empty where hidden) or Parquet (datetimes as ISO 8601 strings, as in the CSV)."""
    if fmt == "csv":
        return data.frame.to_csv(index=False, lineterminator="\n").encode()
    buf = io.BytesIO()
    data.frame.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def datapackage(store: Store, territory_id: str, base: str, licence: str, tables: list[TableData]) -> dict:
    """The Frictionless data package (v1) describing the files of one territory; paths are relative to it."""
    t = territories.get_territory(store, territory_id)
    assert t is not None
    rule = secrecy.SecrecyRule()
    resources = []
    for d in tables:
        for fmt in FORMATS:
            resources.append({
                "name": f"{d.table.name}-{fmt}", "path": f"{d.table.name}.{fmt}", "format": fmt,
                "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
                **({"encoding": "utf-8"} if fmt == "csv" else {}),
                "title": d.table.title, "description": d.table.description,
                "schema": {"fields": d.fields, "primaryKey": ["start"], "missingValues": [""]},
            })  # fmt: skip
    return {
        "name": f"regie-{territory_id}-energy-balance",
        "id": f"{base}/catalog#{territory_id}",
        "title": f"Energy balance of {t.name}",
        "description": (
            f"Public aggregates of metered energy of {t.name}: every figure is a sum of published cells, each "
            f"cell shown only when at least {rule.min_points} delivery points contribute and none makes more than "
            f"{rule.max_share:.0%} of it; published cells are frozen and versioned (regie, docs/publication.md)."
        ),
        "licenses": [{"name": licence, "path": LICENCES[licence], "title": LICENCE_TITLES[licence]}],
        "homepage": f"{base}/",
        "spatial": {"insee": t.insee, "latitude": t.latitude, "longitude": t.longitude},
        "resources": resources,
    }


def write(store: Store, dest: Path, base: str, licence: str = "etalab-2.0") -> list[Path]:
    """Write every territory's files under ``dest/<territory>/`` with its ``datapackage.json``."""
    written = []
    for t in territories.list_territories(store):
        data = [d for d in (table_data(store, t.id, table) for table in TABLES) if d is not None]
        if not data:
            continue
        folder = dest / t.id
        folder.mkdir(parents=True, exist_ok=True)
        for d in data:
            for fmt in FORMATS:
                path = folder / f"{d.table.name}.{fmt}"
                path.write_bytes(to_bytes(d, fmt))
                written.append(path)
        pkg = folder / "datapackage.json"
        pkg.write_text(json.dumps(datapackage(store, t.id, base, licence, data), ensure_ascii=False, indent=2))
        written.append(pkg)
    return written
