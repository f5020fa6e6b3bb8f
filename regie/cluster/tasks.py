"""Spark as the scheduler of lake partitions: one task per territory-month, per operation, per transformer.

Why not ``spark.read.parquet(...).groupBy(...).applyInPandas(...)``: a group (a territory-month holds both
its consumption and its production partitions) must first be shuffled whole to one task, and on the demo
year that shuffle of 12 M rows (series id strings, JVM rows, then Arrow again) took 46 s of the job's 50 s
on two cores (docs/scale.md). The lake is already partitioned the way the jobs group: each task names its
Parquet files (from the lake's manifest), its Python worker reads them with pyarrow (a local folder or
S3-compatible storage through fsspec, the same way the export wrote them) and hands Arrow batches to the
kernels. Spark keeps what it is for: placing tasks on executors, retrying a task whose executor died, and
the final sums.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from regie.lake import layout
from regie.lake.meta import TerritoryMeta
from regie.lake.read import read_metas

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def partitions(lake: str, storage_options: dict | None = None) -> dict[str, dict]:
    """The lake's readings partitions (path → manifest entry: rows, start, end...), with the months that hold
    only years archived from a store (``regie archive``: their entries have ``files`` instead of ``rows``)."""
    fs, root = layout.open_lake(lake, storage_options)
    with fs.open(f"{root}/{layout.MANIFEST}", "rb") as f:
        manifest = json.loads(f.read())
    return manifest.get("archives", {}) | manifest["partitions"]


def chosen(parts: dict[str, dict], territory: str, kinds: Sequence[str], start: int, end: int) -> list[str]:
    """The partitions of a territory's ``kinds`` that overlap [start, end) (UTC s)."""
    found = []
    for path, entry in parts.items():
        tid, kind = (x.split("=", 1)[1] for x in path.split("/")[1:3])
        if tid == territory and kind in kinds and entry["start"] < end and entry["end"] > start:
            found.append(path)
    return sorted(found)


def lake_territories(lake: str, storage_options: dict | None, territories: Sequence[str] | None,
                     kinds: Sequence[str], start: int,
                     end: int) -> dict[str, tuple[TerritoryMeta, list[str]]]:  # fmt: skip
    """Each territory's metadata and its partitions of ``kinds`` overlapping [start, end): what a job plans from."""
    metas = read_metas(lake, storage_options, list(territories) if territories else None)
    parts = partitions(lake, storage_options)
    return {tid: (m, chosen(parts, tid, kinds, start, end)) for tid, m in metas.items()}


def read_rows(lake: str, storage_options: dict | None, parts: Sequence[str],
              series: Sequence[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Rows (series_id, t, value) of some partitions, only of ``series`` when given."""
    fs, root = layout.open_lake(lake, storage_options)
    filters = [("series_id", "in", list(series))] if series is not None else None
    tables = [pq.read_table(path, filesystem=fs, filters=filters, columns=["series_id", "t", "value"])
              for p in parts for path in layout.partition_files(fs, root, p)]  # fmt: skip
    # series_id stays dictionary-encoded (a pandas categorical): one string per series, not one per point
    schema = pa.schema([("series_id", pa.dictionary(pa.int32(), pa.string())), ("t", pa.int64()),
                        ("value", pa.float64())])  # fmt: skip
    return pa.concat_tables([t.cast(schema) for t in tables] or [schema.empty_table()]).to_pandas()


def run_tasks(spark: SparkSession, tasks: Sequence[dict[str, Any]], work: Callable[[dict[str, Any]], pd.DataFrame],
              schema: str) -> DataFrame:  # fmt: skip
    """A DataFrame of ``work(task)`` for every task, one Spark task each (``mapInArrow``): the results' rows."""
    frame = pd.DataFrame({"task": [json.dumps(t, sort_keys=True) for t in tasks]})
    df = spark.createDataFrame(frame).repartition(max(1, len(tasks)))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for task in batch.column("task").to_pylist():
                out = work(json.loads(task))
                yield pa.RecordBatch.from_pandas(out, preserve_index=False)

    return df.mapInArrow(run, schema)
