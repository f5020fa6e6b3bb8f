"""The chunk table by year (issue 13, part 5): ``chunk.year`` (the territory-local year a chunk's bucket begins
in) and, on PostgreSQL, one partition a year so that an old year can be archived to the lake and dropped
(regie/store/partitions.py); ``chunk_archive`` records the years archived and where they went.

On PostgreSQL the table is rebuilt partitioned (PostgreSQL cannot partition a table in place): the old rows are
copied into it, in this migration's transaction, so the database needs room for a second copy of the readings
while it runs. SQLite keeps one table and gains the column.

The year is computed as ``regie.store.timeseries.chunk_years`` computes it, with the constants frozen here: a raw
bucket spans 2,048 steps of its series (10 s for a series without a fixed step), an hourly rollup bucket 4,096
hours, and day and month rollup buckets are the local year itself.

The downgrade puts back one unpartitioned table with every chunk the store holds, and refuses a store with
archived years: revision 0013 has no ``chunk_archive``, so it would forget where those years went and take
readings into them again (tests/store/test_migration_0014.py).

Revision ID: 0014
Revises: 0013
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from regie.model import Step

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

RAW_CHUNK_POINTS = 2048
IRREGULAR_STEP = 10
HOUR_SPAN = 3600 * 4096


def _raw_spans(bind) -> dict[int, tuple[int, str]]:
    """series id -> (raw bucket span in seconds, its territory's time zone)."""
    rows = bind.execute(
        sa.text("SELECT s.id, s.step, t.timezone FROM series s JOIN territory t ON t.id = s.territory_id")
    )
    out = {}
    for sid, step, zone in rows:
        st = Step.parse(step) if step else None
        seconds = st.seconds if st is not None and not st.is_calendar else IRREGULAR_STEP
        out[int(sid)] = (seconds * RAW_CHUNK_POINTS, zone)
    return out


def _local_year(t: int, zone: str) -> int:
    return datetime.fromtimestamp(t, ZoneInfo(zone)).year


def upgrade() -> None:
    op.create_table(
        "chunk_archive",
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("dest", sa.String(length=500), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("archived_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    bind = op.get_bind()
    spans = _raw_spans(bind)
    if bind.dialect.name == "postgresql":
        _partition(bind, spans)
        return
    op.add_column("chunk", sa.Column("year", sa.SmallInteger(), nullable=False, server_default="0"))
    keys = bind.execute(sa.text("SELECT series_id, level, bucket FROM chunk")).all()
    years = []
    for sid, level, bucket in keys:
        span, zone = spans[int(sid)]
        y = bucket if level >= 2 else _local_year(bucket * (span if level == 0 else HOUR_SPAN), zone)
        years.append({"y": int(y), "s": sid, "l": level, "b": bucket})
    if years:
        bind.execute(sa.text("UPDATE chunk SET year = :y WHERE series_id = :s AND level = :l AND bucket = :b"), years)


def _partition(bind, spans: dict[int, tuple[int, str]]) -> None:
    op.execute("ALTER TABLE chunk RENAME TO chunk_0012")
    op.execute("ALTER TABLE chunk_0012 RENAME CONSTRAINT chunk_pkey TO chunk_0012_pkey")
    op.execute("ALTER TABLE chunk_0012 RENAME CONSTRAINT chunk_series_id_fkey TO chunk_0012_series_id_fkey")
    op.execute(
        "CREATE TABLE chunk (series_id INTEGER NOT NULL, level SMALLINT NOT NULL, bucket BIGINT NOT NULL,"
        " n INTEGER NOT NULL, t_min BIGINT NOT NULL, t_max BIGINT NOT NULL, data BYTEA NOT NULL,"
        " year SMALLINT NOT NULL,"
        " CONSTRAINT chunk_pkey PRIMARY KEY (series_id, level, bucket, year),"
        " CONSTRAINT chunk_series_id_fkey FOREIGN KEY (series_id) REFERENCES series (id))"
        " PARTITION BY RANGE (year)"
    )
    op.execute("CREATE TABLE chunk_default PARTITION OF chunk DEFAULT")
    op.execute("CREATE TEMP TABLE chunk_span (series_id INTEGER PRIMARY KEY, span BIGINT NOT NULL, zone TEXT NOT NULL)"
               " ON COMMIT DROP")  # fmt: skip
    if spans:
        bind.execute(sa.text("INSERT INTO chunk_span VALUES (:s, :span, :zone)"),
                     [{"s": s, "span": span, "zone": zone} for s, (span, zone) in spans.items()])  # fmt: skip
    year = (
        "CASE WHEN c.level >= 2 THEN c.bucket ELSE extract(year FROM to_timestamp(c.bucket * CASE WHEN c.level = 0"
        f" THEN s.span ELSE {HOUR_SPAN} END) AT TIME ZONE s.zone) END"
    )
    source = "FROM chunk_0012 c JOIN chunk_span s ON s.series_id = c.series_id"
    found = [int(y) for (y,) in bind.execute(sa.text(f"SELECT DISTINCT {year} {source}"))]
    for y in sorted(set(found) | {y + 1 for y in found}):  # each year's partition, and the next year's ready
        op.execute(f"CREATE TABLE chunk_y{y} PARTITION OF chunk FOR VALUES FROM ({y}) TO ({y + 1})")
    op.execute(f"INSERT INTO chunk (series_id, level, bucket, n, t_min, t_max, data, year)"
               f" SELECT c.series_id, c.level, c.bucket, c.n, c.t_min, c.t_max, c.data, {year} {source}")  # fmt: skip
    moved, held = bind.execute(sa.text("SELECT (SELECT count(*) FROM chunk), (SELECT count(*) FROM chunk_0012)")).one()
    if moved != held:  # a chunk whose series is missing: never silently lost
        raise RuntimeError(f"revision 0014 copied {moved} of {held} chunks into the partitioned table; nothing changed")
    op.execute("DROP TABLE chunk_0012")


def downgrade() -> None:
    bind = op.get_bind()
    gone = [int(y) for (y,) in bind.execute(sa.text("SELECT year FROM chunk_archive ORDER BY year"))]
    if gone:
        raise RuntimeError(f"the readings of {', '.join(map(str, gone))} were archived to the lake (chunk_archive): "
                           "revision 0013 would forget where they went; this store cannot go back to it")  # fmt: skip
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE chunk RENAME TO chunk_0012")
        op.execute("ALTER TABLE chunk_0012 RENAME CONSTRAINT chunk_pkey TO chunk_0012_pkey")
        op.execute("ALTER TABLE chunk_0012 RENAME CONSTRAINT chunk_series_id_fkey TO chunk_0012_series_id_fkey")
        op.execute(
            "CREATE TABLE chunk (series_id INTEGER NOT NULL, level SMALLINT NOT NULL, bucket BIGINT NOT NULL,"
            " n INTEGER NOT NULL, t_min BIGINT NOT NULL, t_max BIGINT NOT NULL, data BYTEA NOT NULL,"
            " CONSTRAINT chunk_pkey PRIMARY KEY (series_id, level, bucket),"
            " CONSTRAINT chunk_series_id_fkey FOREIGN KEY (series_id) REFERENCES series (id))"
        )
        op.execute("INSERT INTO chunk SELECT series_id, level, bucket, n, t_min, t_max, data FROM chunk_0012")
        op.execute("DROP TABLE chunk_0012 CASCADE")
    else:
        with op.batch_alter_table("chunk") as batch:
            batch.drop_column("year")
    op.drop_table("chunk_archive")
