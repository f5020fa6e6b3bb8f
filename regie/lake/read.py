"""Reading the lake back: its territories' metadata and where its readings are (for Spark, DuckDB, pyarrow)."""

from __future__ import annotations

from regie.lake import layout, meta


def read_metas(dest: str, storage_options: dict | None = None,
               territories: list[str] | None = None) -> dict[str, meta.TerritoryMeta]:  # fmt: skip
    """Each territory's metadata (:mod:`regie.lake.meta`), by territory id."""
    fs, root = layout.open_lake(dest, storage_options)
    out: dict[str, meta.TerritoryMeta] = {}
    for path in sorted(fs.glob(f"{root}/{layout.META}/territory=*.json")):
        tid = path.rsplit("territory=", 1)[1].removesuffix(".json")
        if territories and tid not in territories:
            continue
        with fs.open(path, "rb") as f:
            out[tid] = meta.loads(f.read().decode())
    if not out:
        raise LookupError(f"no territory in the lake at {dest}: run `regie export parquet {dest}` first")
    return out


def readings_path(dest: str) -> str:
    return f"{dest.rstrip('/')}/{layout.READINGS}"
