"""The lake described for a DCAT catalogue: one dataset per territory and kind of series.

Plain dicts with DCAT / Dublin Core terms as keys (``dct:title``, ``dcat:distribution``...), so that the
catalogue of :mod:`regie.semantic` (being written) can turn them into RDF without knowing the lake. Every
readings dataset holds personal data as soon as one of its series describes a data subject
(``dct:accessRights`` non-public): the lake is the régie's, not an open-data publication.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq

from regie.lake import layout

PARQUET = "application/vnd.apache.parquet"
PUBLIC = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
NON_PUBLIC = "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"


def _iso(t: int) -> str:
    return datetime.fromtimestamp(int(t), UTC).isoformat().replace("+00:00", "Z")


def lake_datasets(dest: str, storage_options: dict | None = None) -> list[dict[str, Any]]:
    """One DCAT dataset description per (territory, kind) of the lake at ``dest``, from its manifest."""
    fs, root = layout.open_lake(dest, storage_options)
    with fs.open(f"{root}/{layout.MANIFEST}", "rb") as f:
        manifest = json.loads(f.read())
    groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for path, entry in manifest["partitions"].items():
        tid, kind = (x.split("=", 1)[1] for x in path.split("/")[1:3])
        groups.setdefault((tid, kind), []).append((path, entry))
    personal: dict[str, set[str]] = {}
    for tid in {t for t, _ in groups}:
        table = pq.read_table(f"{root}/{layout.series_path(tid)}", filesystem=fs, columns=["kind", "personal"])
        personal[tid] = {k for k, p in zip(table["kind"].to_pylist(), table["personal"].to_pylist(), strict=True)
                         if p}  # fmt: skip
    out = []
    for (tid, kind), parts in sorted(groups.items()):
        parts.sort()
        out.append({
            "@id": f"{dest.rstrip('/')}/{layout.READINGS}/territory={tid}/kind={kind}",
            "@type": "dcat:Dataset",
            "dct:title": f"{kind} readings of territory {tid}",
            "dct:spatial": tid,
            "dct:temporal": {"dcat:startDate": _iso(parts[0][1]["start"]), "dcat:endDate": _iso(parts[-1][1]["end"])},
            "dct:accessRights": NON_PUBLIC if kind in personal[tid] else PUBLIC,
            "dcat:keyword": [kind, "load curve", "energy"],
            "regie:rows": sum(e["rows"] for _, e in parts),
            "dct:conformsTo": "Hive-partitioned Parquet: territory / kind / month (local), "
                              "columns series_id, t (UTC seconds, interval start), value (series unit)",
            "dcat:distribution": [{
                "@type": "dcat:Distribution",
                "dcat:accessURL": f"{dest.rstrip('/')}/{path}/{layout.PART}",
                "dcat:mediaType": PARQUET,
                "dcat:compressFormat": layout.COMPRESSION,
                "dct:temporal": {"dcat:startDate": _iso(e["start"]), "dcat:endDate": _iso(e["end"])},
            } for path, e in parts],
        })  # fmt: skip
    return out
