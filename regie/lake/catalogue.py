"""The lake described for a DCAT catalogue: one dataset per territory and kind of series, and one per archived
year of a kind with no personal series.

Plain dicts with DCAT / Dublin Core terms as keys (``dct:title``, ``dcat:distribution``...), so that the
catalogue of :mod:`regie.semantic` (being written) can turn them into RDF without knowing the lake. Every
readings dataset holds personal data as soon as one of its series describes a data subject
(``dct:accessRights`` non-public): the lake is the régie's, not an open-data publication.

The years archived from the store (``regie archive``: ``archive-YEAR.parquet`` beside the months' files) are
listed as datasets of their own, one per territory, kind and year, only for the kinds none of whose series is
personal (weather, public plants, grid measurements: ``dct:accessRights`` public). Why not the others: a year
leaves for the lake only once the store no longer writes into it, so the archive is the only copy of it;
personal series there are read by the régie's jobs alone, and shrink when a member is erased
(:func:`regie.store.archives.erase_archived`). A catalogue entry would advertise files nobody else may open. The
files are per kind, so a kind with one personal series among public ones is not listed either.
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
    archived: dict[tuple[str, str, int], list[tuple[str, str, int, dict]]] = {}
    for path, entry in manifest.get("archives", {}).items():
        tid, kind = (x.split("=", 1)[1] for x in path.split("/")[1:3])
        for name, rows in entry["files"].items():
            year = int(name.removeprefix("archive-").split(".")[0])
            archived.setdefault((tid, kind, year), []).append((path, name, rows, entry))
    personal: dict[str, set[str] | None] = {}
    for tid in {t for t, _ in groups} | {t for t, _, _ in archived}:
        path = f"{root}/{layout.series_path(tid)}"
        if not fs.exists(path):
            personal[tid] = None  # nothing says which series are personal: every kind is taken as personal
            continue
        table = pq.read_table(path, filesystem=fs, columns=["kind", "personal"])
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
            "dct:accessRights": NON_PUBLIC if personal[tid] is None or kind in personal[tid] else PUBLIC,
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
    for (tid, kind, year), files in sorted(archived.items()):
        if personal[tid] is None or kind in personal[tid]:
            continue
        files.sort()
        out.append({
            "@id": f"{dest.rstrip('/')}/{layout.READINGS}/territory={tid}/kind={kind}/archive-{year}",
            "@type": "dcat:Dataset",
            "dct:title": f"{kind} readings of territory {tid}, {year} (archived)",
            "dct:spatial": tid,
            "dct:temporal": {"dcat:startDate": _iso(files[0][3]["start"]), "dcat:endDate": _iso(files[-1][3]["end"])},
            "dct:accessRights": PUBLIC,
            "dcat:keyword": [kind, "load curve", "energy", "archive"],
            "regie:rows": sum(rows for _, _, rows, _ in files),
            "regie:archivedYear": year,
            "dct:conformsTo": "Hive-partitioned Parquet: territory / kind / month (local), "
                              "columns series_id, t (UTC seconds, interval start), value (series unit); "
                              "the store's raw chunks begun in the year",
            "dcat:distribution": [{
                "@type": "dcat:Distribution",
                "dcat:accessURL": f"{dest.rstrip('/')}/{path}/{name}",
                "dcat:mediaType": PARQUET,
                "dcat:compressFormat": layout.COMPRESSION,
                "dct:temporal": {"dcat:startDate": _iso(e["start"]), "dcat:endDate": _iso(e["end"])},
                **({"regie:pointChecksum": e["sums"][name]} if name in e.get("sums", {}) else {}),
            } for path, name, _, e in files],
        })  # fmt: skip
    return out
