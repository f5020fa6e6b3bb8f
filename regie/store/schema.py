"""Tables (SQLAlchemy 2 Core). The same schema serves SQLite and PostgreSQL; Alembic migrates it.

Metadata tables mirror :mod:`regie.model`. Time series live in ``chunk``: one row per series, level
(0 raw, 1 hour, 2 day, 3 month rollup) and bucket, holding a compressed block (:mod:`regie.store.codec`).
For Citus the ``chunk`` table distributes by ``series_id``; the rest are reference tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

SCHEMA_VERSION = "0002"

metadata = MetaData()

territory = Table(
    "territory",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
)

site = Table(
    "site",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("altitude_m", Float),
)

delivery_point = Table(
    "delivery_point",
    metadata,
    Column("prm", String(14), primary_key=True),
    Column("site_id", String(64), ForeignKey("site.id"), nullable=False),
    Column("segment", String(8), nullable=False),
    Column("subscribed_kva", Float),
    Column("usage", String(32), nullable=False),
)

meter = Table(
    "meter",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("prm", String(14), ForeignKey("delivery_point.prm")),
    Column("site_id", String(64), ForeignKey("site.id")),
)

producer = Table(
    "producer",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("source", String(32), nullable=False),
    Column("peak_power_w", Float, nullable=False),
    Column("prm", String(14), ForeignKey("delivery_point.prm")),
    Column("site_id", String(64), ForeignKey("site.id")),
    Column("commissioned", String(32)),
)

transformer = Table(
    "transformer",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("rated_kva", Float, nullable=False),
    Column("power_factor", Float, nullable=False),
    Column("site_id", String(64), ForeignKey("site.id")),
)

transformer_feed = Table(
    "transformer_feed",
    metadata,
    Column("transformer_id", String(64), ForeignKey("transformer.id"), nullable=False),
    Column("prm", String(14), ForeignKey("delivery_point.prm"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("transformer_id", "prm"),
)

organisation = Table(
    "organisation",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("siren", String(9)),
)

person = Table(
    "person",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254)),
)

membership = Table(
    "membership",
    metadata,
    Column("holder_id", String(64), nullable=False),
    Column("prm", String(14), ForeignKey("delivery_point.prm"), nullable=False),
    Column("since", Date, nullable=False),
    Column("until", Date),
    PrimaryKeyConstraint("holder_id", "prm", "since"),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("step", String(16)),
    Column("convention", String(16), nullable=False),
    Column("resolution", Float, nullable=False),
    Column("name", String(200), nullable=False),
    Column("prm", String(14), ForeignKey("delivery_point.prm")),
    Column("producer_id", String(64), ForeignKey("producer.id")),
    Column("transformer_id", String(64), ForeignKey("transformer.id")),
    Column("site_id", String(64), ForeignKey("site.id")),
    UniqueConstraint("key", name="uq_series_key"),
)

chunk = Table(
    "chunk",
    metadata,
    Column("series_id", Integer, ForeignKey("series.id"), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("bucket", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("t_min", BigInteger, nullable=False),
    Column("t_max", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("series_id", "level", "bucket"),
)

# ---------------------------------------------------------------- ingest (revision 0002)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    # SHA-256 of the key: keys are 128-bit random tokens, so a fast hash is enough (a slow password hash
    # would cap ingest at a few requests per second); the clear key is shown once, never stored.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),  # comma-separated: read, write, ingest
    Column("owner_id", String(64)),
    Column("node", String(64)),  # a device key is limited to one emoncms node
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)

input_map = Table(
    "input_map",
    metadata,
    # An emoncms (node, input) pair, bound to a series the first time it is seen; an admin may re-map it.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("series_id", Integer, ForeignKey("series.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_time", BigInteger),
    Column("last_value", Float),
    UniqueConstraint("node", "name", name="uq_input_node_name"),
)

quarantine = Table(
    "quarantine",
    metadata,
    # Readings that could not be placed (unknown PRM, unknown node): kept for the admin, never dropped.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("key", String(200), nullable=False),
    Column("origin", String(300)),  # file name, request or topic
    Column("t", BigInteger, nullable=False),
    Column("value", Float),
    Column("unit", String(16)),
    Column("reason", String(300), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    UniqueConstraint("source", "key", "t", name="uq_quarantine_reading"),
)
