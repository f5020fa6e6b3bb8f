"""Tables (SQLAlchemy 2 Core). The same schema serves SQLite and PostgreSQL; Alembic migrates it.

Metadata tables mirror :mod:`regie.model`. Time series live in ``chunk``: one row per series, level
(0 raw, 1 hour, 2 day, 3 month rollup) and bucket, holding a compressed block (:mod:`regie.store.codec`).
For Citus the ``chunk`` table distributes by ``series_id``; the rest are reference tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = "0014"

metadata = MetaData()

territory = Table(
    "territory",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("insee", String(5)),  # the commune's INSEE code (revision 0009)
    Column("step", String(16)),  # the metering step its load curves are kept at, ISO 8601 (NULL: PT30M)
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
    Column("until", Date),  # ended on (revision 0009): a place with data is ended, never removed
)

delivery_point = Table(
    "delivery_point",
    metadata,
    Column("prm", String(14), primary_key=True),
    Column("site_id", String(64), ForeignKey("site.id"), nullable=False),
    Column("segment", String(8), nullable=False),
    Column("subscribed_kva", Float),
    Column("usage", String(32), nullable=False),
    Column("until", Date),  # ended on (revision 0009)
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
    Column("until", Date),  # decommissioned on (revision 0009)
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
    Column("until", Date),  # taken out of service on (revision 0009)
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
    # The territory-local year the chunk's bucket begins in (revision 0014): a function of the key, kept as a
    # column because PostgreSQL partitions ``chunk`` by it (one partition a year, so that an old year can be
    # archived to the lake and dropped: regie/store/partitions.py), and a partitioned table's primary key must
    # hold its partition key: there the key is (series_id, level, bucket, year). SQLite keeps one table.
    Column("year", SmallInteger, nullable=False),
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
    Column("site_id", String(64)),  # revision 0009: a sensor key bound to a site, its inputs become the site's
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
    # The territory the readings were imported into (revision 0013): its admins handle them; NULL: none known.
    Column("territory_id", String(64)),
    UniqueConstraint("source", "key", "t", name="uq_quarantine_reading"),
    Index("ix_quarantine_territory", "territory_id"),
)

# ---------------------------------------------------------------- governance (revision 0003)

account = Table(
    "account",
    metadata,
    # Someone who logs in: admin, operator or member (the public has no account). ``holder_id`` links a
    # member to the Person or Organisation that holds delivery points; ``operator_of`` names the
    # organisation or ACC operation an operator runs.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2id PHC string, never the password
    Column("holder_id", String(64)),
    Column("operator_of", String(64)),
    Column("display_name", String(200)),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger),
    # revision 0009: the territory an admin or operator runs (NULL: every territory of the store, as the
    # first admin); an e-mail for invitations and resets; TOTP (RFC 6238) secret and when it was confirmed.
    Column("territory_id", String(64)),
    Column("email", String(254)),
    Column("totp_secret", String(200)),
    Column("totp_enabled_at", BigInteger),
)

account_token = Table(
    "account_token",
    metadata,
    # A one-time link (an invitation or a password reset, revision 0009): only the token's SHA-256 is kept.
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("purpose", String(16), nullable=False),  # invite, reset
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Column("created_by", String(64)),
    Index("ix_account_token_account", "account_id"),
)

recovery_code = Table(
    "recovery_code",
    metadata,
    # Two-factor recovery codes (revision 0009), each usable once; only their SHA-256 is kept.
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", BigInteger),
    PrimaryKeyConstraint("account_id", "code_hash"),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    # Failed logins per account and per client address, kept in the database so a restart does not
    # reset a lockout. ``key`` is "account:<username>" or "addr:<address>".
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("locked_until", BigInteger),
)

web_session = Table(
    "web_session",
    metadata,
    # A web session: the cookie holds a random token, the store only its SHA-256.
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)

consent = Table(
    "consent",
    metadata,
    # A consent grant (ISO/IEC TS 27560 consent record, W3C DPV terms): a data subject lets a recipient
    # read some categories of series of some delivery points, at a granularity, over a data period, for a
    # purpose, until an expiry. ``status`` is the latest of its ``consent_event`` rows.
    Column("id", String(36), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("recipient_kind", String(16), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("categories", String(200), nullable=False),
    Column("prms", Text, nullable=False),
    Column("granularity", String(8), nullable=False),
    Column("data_start", BigInteger, nullable=False),
    Column("data_end", BigInteger),
    Column("purpose", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("requested_by", String(64)),
    Index("ix_consent_subject", "subject_id"),
    Index("ix_consent_recipient", "recipient_kind", "recipient_id"),
)

consent_event = Table(
    "consent_event",
    metadata,
    # Every change of a consent (requested, given, refused, withdrawn, expired): never updated, never deleted.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consent_id", String(36), ForeignKey("consent.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("note", String(500)),
    Index("ix_consent_event_consent", "consent_id"),
)

access_log = Table(
    "access_log",
    metadata,
    # The tamper-evident log: ``entry`` is the canonical JSON of one event (it embeds ``seq``), ``hash`` is
    # SHA-256(prev_hash || entry). ``subject_id`` repeats the entry's subject for "who read my data".
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject_id", String(64)),
    Column("entry", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # An aggregate read's set of covered data subjects, by digest (revision 0006): see audit_subject_set.
    Column("subject_set", String(64)),
    Index("ix_access_log_subject", "subject_id"),
    Index("ix_access_log_subject_set", "subject_set"),
)

audit_subject_set = Table(
    "audit_subject_set",
    metadata,
    # The data subjects an aggregate read covered, stored once per distinct set; ``digest`` is what the log
    # entry commits to (regie.governance.audit.subject_set_digest), so an edited set fails verification.
    Column("digest", String(64), primary_key=True),
    Column("subject_id", String(64), primary_key=True),
    Index("ix_audit_subject_set_subject", "subject_id"),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    # A signed statement "the log had ``size`` entries and its head was ``head_hash``" (Ed25519).
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("head_hash", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

# ---------------------------------------------------------------- collective self-consumption (revision 0004)

acc_operation = Table(
    "acc_operation",
    metadata,
    # An ACC operation (regie.model.Operation). ``key`` is the allocation key the PMO uses by default;
    # ``billing`` the operation's billing set-up as JSON (local prices, TURPE mode, taxes), read by
    # regie.services.acc: the store keeps it as text so that it stays free of analytics types.
    Column("id", String(64), primary_key=True),
    Column("territory_id", String(64), ForeignKey("territory.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("pmo_id", String(64), ForeignKey("organisation.id"), nullable=False),
    Column("step", String(16), nullable=False),
    Column("zone", String(16), nullable=False),
    Column("derogation", Boolean, nullable=False),
    Column("key", String(32), nullable=False),
    Column("billing", Text),
)

acc_participant = Table(
    "acc_participant",
    metadata,
    # A delivery point in an operation, as a consumer or a producer, from ``entry`` to ``exit`` (exclusive,
    # local days). ``static_share`` is its fraction of production under the static key (consumers only).
    Column("operation_id", String(64), ForeignKey("acc_operation.id"), nullable=False),
    Column("prm", String(14), ForeignKey("delivery_point.prm"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("entry", Date, nullable=False),
    Column("exit", Date),
    Column("type", String(32), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("weight", Float, nullable=False),
    Column("peak_power_w", Float),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("density", String(16)),
    Column("name", String(200), nullable=False),
    Column("static_share", Float),
    Column("position", Integer, nullable=False),  # order in the operation: the consumers' column order
    PrimaryKeyConstraint("operation_id", "prm", "role"),
)

acc_key_period = Table(
    "acc_key_period",
    metadata,
    # An operation's allocation key from a local day on (revision 0009): the key in force on a day is the one
    # of the latest ``since`` not after it; before the first, the operation's own ``key``. ``params``: JSON.
    Column("operation_id", String(64), ForeignKey("acc_operation.id"), nullable=False),
    Column("since", Date, nullable=False),
    Column("key", String(32), nullable=False),
    Column("params", Text),
    PrimaryKeyConstraint("operation_id", "since"),
)

alert = Table(
    "alert",
    metadata,
    # One supervision alert per episode (regie.services.alerts): ``key`` = source:kind:subject:since, so a
    # pass that finds the same episode again updates it (``until``, worst ``value``, ``last_seen``) instead of
    # adding a row; ``notified_at`` is set once the e-mail / MQTT channels have been given it.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("source", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("since", BigInteger, nullable=False),
    Column("until", BigInteger),
    Column("value", Float),
    Column("threshold", Float),
    Column("unit", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("notified_at", BigInteger),
    UniqueConstraint("key", name="uq_alert_key"),
    Index("ix_alert_since", "since"),
)

published_cell = Table(
    "published_cell",
    metadata,
    # The publication (regie.publication.ledger): every public figure's base cell (a figure such as
    # "consumption" over one metering step starting at ``t``), frozen when first published and versioned:
    # a later version exists only when the difference it reveals passed the secrecy rule. ``value`` is NULL
    # where the cell is hidden, ``reason`` says why; ``points`` is how many delivery points it counts.
    Column("figure", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("t", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("value", Float),
    Column("reason", String(32)),
    Column("points", Integer, nullable=False),
    Column("published_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("figure", "step", "t", "version"),
)

live_frame = Table(
    "live_frame",
    metadata,
    # The live publication's groups (regie.publication.live), so that a restart or a second worker goes on
    # from the last published frame instead of forming a new group: per figure, row 0 is the current group
    # (``members``, ``not_before``) and the frame its check compares with; rows 1.. the last frames of earlier
    # groups. A frame is its instant ``at``, its published rounded ``total`` and its point ids (``points``),
    # never a point's value: those are read back from the stored readings at ``at``.
    Column("figure", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", BigInteger),
    Column("total", Float),
    Column("points", Text, nullable=False),  # JSON list of delivery point (or series) ids
    Column("members", Text),  # row 0: JSON list of the current group's members
    Column("not_before", BigInteger),
    Column("as_of", BigInteger),  # row 0: when the current group published its frame (NULL: not yet)
    PrimaryKeyConstraint("figure", "seq"),
)

map_base = Table(
    "map_base",
    metadata,
    # The background a territory's map is drawn on (commune outline, roads, rivers, buildings), as GeoJSON an
    # administrator uploaded or the demo generated: public geography, never a person. One row per territory.
    Column("territory_id", String(64), ForeignKey("territory.id"), primary_key=True),
    Column("geojson", Text, nullable=False),
    Column("source", Text, nullable=False),  # where the geography comes from (attribution shown on the map)
    Column("uploaded_at", BigInteger, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
)

member_preference = Table(
    "member_preference",
    metadata,
    # One row per member account that changed a default: the tariff option its dashboard estimates the cost
    # with (base, hphc, tempo), whether it asked for the monthly digest, and the digest's language (fr, en).
    Column("account_id", Integer, ForeignKey("account.id"), primary_key=True),
    Column("tariff_option", String(16), nullable=False),
    Column("digest", Boolean, nullable=False),
    Column("language", String(8), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

digest_log = Table(
    "digest_log",
    metadata,
    # Every monthly digest regie tried to send: to which account, for which month, when, and how it went
    # (sent, or failed and why — never the message itself, which holds personal figures and a link).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("sent_at", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),  # sent, failed
    Column("detail", String(300)),
    Index("ix_digest_log_account_month", "account_id", "month"),
)

# ---------------------------------------------------------------- federation (revision 0012, docs/federation.md)

fed_peer = Table(
    "fed_peer",
    metadata,
    # Another régie (or emoncms server) this one exchanges with (regie.federation.peers): added by an admin by
    # URL and key fingerprint checked out of band. ``keys`` is the JSON list of its trusted public keys
    # (key id, PEM, valid until); ``send`` / ``receive`` what may flow each way (comma lists of kinds).
    Column("id", String(64), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("name", String(200), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("keys", Text, nullable=False),
    Column("audit_key", Text),  # the PEM of the peer's access-log signing key (what its heads verify with)
    Column("send", String(200), nullable=False),
    Column("receive", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # active, suspended
    Column("added_at", BigInteger, nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("changed_at", BigInteger),
    UniqueConstraint("url", name="uq_fed_peer_url"),
)

fed_subscription = Table(
    "fed_subscription",
    metadata,
    # A peer's subscription to one of this régie's datasets; ``cursor``: the end of the data already queued.
    Column("peer_id", String(64), ForeignKey("fed_peer.id"), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("subscribed_at", BigInteger, nullable=False),
    Column("cursor", BigInteger),
    Column("ended_at", BigInteger),
    PrimaryKeyConstraint("peer_id", "dataset"),
)

fed_outbox = Table(
    "fed_outbox",
    metadata,
    # Store-and-forward: every message to a peer, in order (``seq`` per peer), kept until acknowledged.
    # ``delivery_key`` makes delivery idempotent on both sides; ``state``: pending, delivered, cancelled.
    Column("peer_id", String(64), ForeignKey("fed_peer.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("delivery_key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # data, delete
    Column("dataset", String(200), nullable=False),
    Column("grant_id", String(64)),
    Column("body", Text),  # JSON; emptied once delivered or cancelled (a copy of personal data kept no longer)
    Column("state", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger),
    Column("last_error", String(500)),
    PrimaryKeyConstraint("peer_id", "seq"),
    UniqueConstraint("delivery_key", name="uq_fed_outbox_key"),
)

fed_received = Table(
    "fed_received",
    metadata,
    # Every message received from a peer, with its provenance: which instance, which grant, when; ``body``
    # (JSON values) emptied when the sender asks for deletion or the policy's duty to delete falls due.
    Column("peer_id", String(64), ForeignKey("fed_peer.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("delivery_key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("grant_id", String(64)),
    Column("policy", Text),  # the ODRL policy the datum came under (JSON)
    Column("body", Text),
    Column("received_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger),
    PrimaryKeyConstraint("peer_id", "seq"),
    UniqueConstraint("peer_id", "delivery_key", name="uq_fed_received_key"),
    Index("ix_fed_received_grant", "grant_id"),
)

fed_witnessed_head = Table(
    "fed_witnessed_head",
    metadata,
    # A peer's signed access-log head, fetched, checked consistent with the one before and countersigned
    # with this régie's federation key (witnessing, as Certificate Transparency monitors do).
    Column("peer_id", String(64), ForeignKey("fed_peer.id"), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(200), nullable=False),
    Column("countersignature", String(200), nullable=False),
    Column("witnessed_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("peer_id", "size"),
)

fed_nonce = Table(
    "fed_nonce",
    metadata,
    # Nonces of signed requests seen, until their signature expires: a replay is refused (RFC 9421 §7.2.2).
    Column("nonce", String(100), primary_key=True),
    Column("key_id", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)


# ---------------------------------------------------------------- archived years (revision 0014)

chunk_archive = Table(
    "chunk_archive",
    metadata,
    # A year of readings moved out of the store into the Parquet lake (``regie archive``): where it went, what it
    # held, and whether the lake's files are in place (``state``: detached, then done).
    Column("year", SmallInteger, primary_key=True, autoincrement=False),
    Column("dest", String(500), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("checksum", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("archived_at", BigInteger, nullable=False),
)
