"""Save and load a territory's metadata (:class:`regie.model.Inventory`) in the metadata tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from regie.model import (
    DeliveryPoint,
    IntervalConvention,
    Inventory,
    Membership,
    Meter,
    Organisation,
    OrganisationKind,
    Person,
    Producer,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)
from regie.store import schema as s
from regie.store.erasure import refuse_erased


def _upsert(conn: Connection, table, rows: list[dict], keys: list[str]) -> None:
    """Insert rows or update them in place (saving an inventory twice changes nothing)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    # Never rewrite keys, nor a surrogate ``id`` that the caller does not provide (series rows).
    others = [c.name for c in table.columns if c.name not in keys and c.name in rows[0]]
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in others})
    for i in range(0, len(rows), 2000):
        conn.execute(stmt, rows[i : i + 2000])


def save_inventory(conn: Connection, inv: Inventory) -> None:
    inv.check()
    holders = [x.id for x in inv.persons] + [x.id for x in inv.organisations] + [m.holder_id for m in inv.memberships]
    refuse_erased(conn, holders, f"inventory of territory {inv.territory.id}")
    tid = inv.territory.id
    _upsert(conn, s.territory, [asdict(inv.territory)], ["id"])
    _upsert(conn, s.site, [asdict(x) for x in inv.sites], ["id"])
    _upsert(conn, s.delivery_point, [asdict(x) for x in inv.delivery_points], ["prm"])
    _upsert(conn, s.meter, [asdict(x) for x in inv.meters], ["id"])
    _upsert(conn, s.organisation, [{**asdict(x), "territory_id": tid} for x in inv.organisations], ["id"])
    _upsert(conn, s.person, [{**asdict(x), "territory_id": tid} for x in inv.persons], ["id"])
    _upsert(conn, s.producer, [{**asdict(x), "territory_id": tid} for x in inv.producers], ["id"])
    _upsert(
        conn,
        s.transformer,
        [{k: v for k, v in asdict(x).items() if k != "prms"} | {"territory_id": tid} for x in inv.transformers],
        ["id"],
    )
    feeds = [{"transformer_id": t.id, "prm": p, "position": i} for t in inv.transformers for i, p in enumerate(t.prms)]
    _upsert(conn, s.transformer_feed, feeds, ["transformer_id", "prm"])
    _upsert(conn, s.membership, [asdict(x) for x in inv.memberships], ["holder_id", "prm", "since"])
    _upsert(
        conn,
        s.series,
        [
            {
                "key": x.id,
                "territory_id": tid,
                "kind": x.kind.value,
                "unit": x.unit,
                "step": x.step.iso if x.step else None,
                "convention": x.convention.value,
                "resolution": x.resolution,
                "name": x.name,
                "prm": x.prm,
                "producer_id": x.producer_id,
                "transformer_id": x.transformer_id,
                "site_id": x.site_id,
            }
            for x in inv.series
        ],
        ["key"],
    )


def series_from_row(r) -> Series:
    return Series(
        id=r.key,
        kind=SeriesKind(r.kind),
        unit=r.unit,
        step=Step.parse(r.step) if r.step else None,
        convention=IntervalConvention(r.convention),
        resolution=r.resolution,
        name=r.name,
        prm=r.prm,
        producer_id=r.producer_id,
        transformer_id=r.transformer_id,
        site_id=r.site_id,
    )


def territory_ids(conn: Connection) -> list[str]:
    return [r.id for r in conn.execute(select(s.territory.c.id).order_by(s.territory.c.id))]


def of_series(conn: Connection, territory_id: str):
    return conn.execute(select(s.series).where(s.series.c.territory_id == territory_id).order_by(s.series.c.id))


def load_inventory(conn: Connection, territory_id: str) -> Inventory:
    t = conn.execute(select(s.territory).where(s.territory.c.id == territory_id)).one_or_none()
    if t is None:
        raise LookupError(f"no territory {territory_id!r} in this store")
    sites = [Site(**r._asdict()) for r in conn.execute(select(s.site).where(s.site.c.territory_id == territory_id))]
    site_ids = {x.id for x in sites}
    dps = [
        DeliveryPoint(**r._asdict())
        for r in conn.execute(select(s.delivery_point).order_by(s.delivery_point.c.prm))
        if r.site_id in site_ids
    ]
    prms = {d.prm for d in dps}
    meters = [Meter(**r._asdict()) for r in conn.execute(select(s.meter)) if r.prm in prms or r.site_id in site_ids]

    def of(table):
        return conn.execute(select(table).where(table.c.territory_id == territory_id).order_by(table.c.id))

    def fields(r) -> dict:
        return {k: v for k, v in r._asdict().items() if k != "territory_id"}

    feeds: dict[str, list[str]] = {}
    for r in conn.execute(select(s.transformer_feed).order_by(s.transformer_feed.c.position)):
        feeds.setdefault(r.transformer_id, []).append(r.prm)
    return Inventory(
        territory=Territory(**t._asdict()),
        sites=sites,
        delivery_points=dps,
        meters=meters,
        producers=[Producer(**(fields(r) | {"source": Source(r.source)})) for r in of(s.producer)],
        transformers=[Transformer(**fields(r), prms=tuple(feeds.get(r.id, ()))) for r in of(s.transformer)],
        organisations=[Organisation(**(fields(r) | {"kind": OrganisationKind(r.kind)})) for r in of(s.organisation)],
        persons=[Person(**fields(r)) for r in of(s.person)],
        memberships=[Membership(**r._asdict()) for r in conn.execute(select(s.membership)) if r.prm in prms],
        series=[series_from_row(r) for r in of_series(conn, territory_id)],
    )


# ---------------------------------------------------------------- the inventory workbook (regie.inventory)
#
# The workbook's sheets, read from and written to the metadata tables inside the caller's transaction.
# Values are typed (dates, floats, bools) and keyed by the workbook's column names (regie.inventory.format);
# regie.inventory turns them into text, validates a workbook and decides what changes.

_COLUMNS: dict[str, dict[str, str]] = {
    # sheet -> {workbook column: table column}
    "about": {"territory": "id", "name": "name", "insee": "insee", "timezone": "timezone",
              "latitude": "latitude", "longitude": "longitude", "step": "step"},
    "sites": {"id": "id", "name": "name", "latitude": "latitude", "longitude": "longitude",
              "altitude_m": "altitude_m", "until": "until"},
    "delivery_points": {"prm": "prm", "site": "site_id", "segment": "segment", "subscribed_kva": "subscribed_kva",
                        "usage": "usage", "until": "until"},
    "producers": {"id": "id", "name": "name", "source": "source", "peak_power_w": "peak_power_w", "prm": "prm",
                  "site": "site_id", "commissioned": "commissioned", "until": "until"},
    "transformers": {"id": "id", "name": "name", "rated_kva": "rated_kva", "power_factor": "power_factor",
                     "site": "site_id", "until": "until"},
    "organisations": {"id": "id", "name": "name", "kind": "kind", "siren": "siren"},
    "persons": {"id": "id", "name": "name", "email": "email"},
    "memberships": {"holder": "holder_id", "prm": "prm", "since": "since", "until": "until"},
    "acc_operations": {"id": "id", "name": "name", "pmo": "pmo_id", "step": "step", "zone": "zone",
                       "derogation": "derogation", "key": "key"},
    "acc_participants": {"operation": "operation_id", "prm": "prm", "role": "role", "entry": "entry",
                         "exit": "exit", "type": "type", "priority": "priority", "weight": "weight",
                         "peak_power_w": "peak_power_w", "latitude": "latitude", "longitude": "longitude",
                         "density": "density", "name": "name", "static_share": "static_share"},
}  # fmt: skip

_TABLES = {
    "about": s.territory, "sites": s.site, "delivery_points": s.delivery_point, "producers": s.producer,
    "transformers": s.transformer, "organisations": s.organisation, "persons": s.person,
    "memberships": s.membership, "acc_operations": s.acc_operation, "acc_participants": s.acc_participant,
}  # fmt: skip

_KEYS = {
    "about": ("territory",), "sites": ("id",), "delivery_points": ("prm",), "producers": ("id",),
    "transformers": ("id",), "organisations": ("id",), "persons": ("id",),
    "memberships": ("holder", "prm", "since"), "acc_operations": ("id",),
    "acc_participants": ("operation", "prm", "role"),
}  # fmt: skip

#: The order rows are written in (a row is written after those it refers to); removals go the other way.
WRITE_ORDER = ("about", "sites", "transformers", "delivery_points", "producers", "organisations", "persons",
               "memberships", "acc_operations", "acc_participants")


def _as_sheet(sheet: str, r) -> dict:
    m = r._mapping
    return {col: m[tcol] for col, tcol in _COLUMNS[sheet].items()}


def inventory_values(conn: Connection, territory_id: str) -> dict[str, list[dict]]:
    """Every object of the territory, per sheet of the workbook, with typed values; LookupError if the store
    has no such territory."""
    t = conn.execute(select(s.territory).where(s.territory.c.id == territory_id)).one_or_none()
    if t is None:
        raise LookupError(f"no territory {territory_id!r} in this store")
    about = _as_sheet("about", t)
    sites = [_as_sheet("sites", r) for r in conn.execute(
        select(s.site).where(s.site.c.territory_id == territory_id).order_by(s.site.c.id))]
    site_ids = select(s.site.c.id).where(s.site.c.territory_id == territory_id)
    feeds: dict[str, str] = {}
    for r in conn.execute(
        select(s.transformer_feed.c.prm, s.transformer_feed.c.transformer_id)
        .join(s.transformer, s.transformer.c.id == s.transformer_feed.c.transformer_id)
        .where(s.transformer.c.territory_id == territory_id)
        .order_by(s.transformer_feed.c.transformer_id)
    ):
        feeds.setdefault(r.prm, r.transformer_id)  # one transformer feeds a delivery point (the first if several)
    dps = []
    for r in conn.execute(select(s.delivery_point).where(s.delivery_point.c.site_id.in_(site_ids))
                          .order_by(s.delivery_point.c.prm)):
        dps.append(_as_sheet("delivery_points", r) | {"transformer": feeds.get(r.prm)})
    prms = select(s.delivery_point.c.prm).where(s.delivery_point.c.site_id.in_(site_ids))

    def of(sheet: str, table, *order) -> list[dict]:
        q = select(table).where(table.c.territory_id == territory_id).order_by(*(order or (table.c.id,)))
        return [_as_sheet(sheet, r) for r in conn.execute(q)]

    memberships = [_as_sheet("memberships", r) for r in conn.execute(
        select(s.membership).where(s.membership.c.prm.in_(prms))
        .order_by(s.membership.c.prm, s.membership.c.since, s.membership.c.holder_id))]
    ops = select(s.acc_operation.c.id).where(s.acc_operation.c.territory_id == territory_id)
    participants = [_as_sheet("acc_participants", r) for r in conn.execute(
        select(s.acc_participant).where(s.acc_participant.c.operation_id.in_(ops))
        .order_by(s.acc_participant.c.operation_id, s.acc_participant.c.position))]
    operations = [x | {"derogation": bool(x["derogation"])} for x in of("acc_operations", s.acc_operation)]
    return {
        "about": [about], "sites": sites, "delivery_points": dps, "producers": of("producers", s.producer),
        "transformers": of("transformers", s.transformer), "organisations": of("organisations", s.organisation),
        "persons": of("persons", s.person), "memberships": memberships, "acc_operations": operations,
        "acc_participants": participants,
    }  # fmt: skip


def territory_settings(conn: Connection, territory_id: str):
    """The territory's row (time zone and step are set at creation), or None."""
    return conn.execute(select(s.territory).where(s.territory.c.id == territory_id)).one_or_none()


@dataclass(frozen=True, slots=True)
class InUse:
    """What holds on to the territory's objects: readings, accounts, consents, sensor keys.

    ``readings``: ids per kind (``prm``, ``site``, ``producer``, ``transformer``) whose series hold readings;
    ``accounts``: holder ids an account or a consent names (never removed from a workbook: erasure is for
    that); ``site_keys``: sites a sensor key is bound to.
    """

    readings: dict[str, set[str]]
    accounts: set[str]
    site_keys: set[str]


def in_use(conn: Connection, territory_id: str) -> InUse:
    has_chunk = select(s.chunk.c.series_id).where(s.chunk.c.series_id == s.series.c.id).exists()
    readings: dict[str, set[str]] = {"prm": set(), "site": set(), "producer": set(), "transformer": set()}
    q = select(s.series.c.prm, s.series.c.site_id, s.series.c.producer_id, s.series.c.transformer_id).where(
        s.series.c.territory_id == territory_id, has_chunk)
    for r in conn.execute(q):
        for kind, value in (("prm", r.prm), ("site", r.site_id), ("producer", r.producer_id),
                            ("transformer", r.transformer_id)):
            if value is not None:
                readings[kind].add(value)
    accounts: set[str] = set()
    for col in (s.account.c.holder_id, s.account.c.operator_of):
        accounts |= {r[0] for r in conn.execute(select(col).where(col.is_not(None)))}
    accounts |= {r[0] for r in conn.execute(select(s.consent.c.subject_id))}
    accounts |= {r[0] for r in conn.execute(select(s.consent.c.recipient_id))}
    keys = {r[0] for r in conn.execute(
        select(s.api_key.c.site_id).where(s.api_key.c.site_id.is_not(None), s.api_key.c.revoked_at.is_(None)))}
    return InUse(readings, accounts, keys)


def _where_key(sheet: str, key: dict):
    table = _TABLES[sheet]
    return [table.c[_COLUMNS[sheet][k]] == key[k] for k in _KEYS[sheet]]


def _table_values(sheet: str, row: dict, territory_id: str) -> dict:
    table = _TABLES[sheet]
    out = {tcol: row[col] for col, tcol in _COLUMNS[sheet].items() if col in row}
    if "territory_id" in table.c and sheet != "about":
        out["territory_id"] = territory_id
    return out


def _next_positions(conn: Connection, table, group) -> dict[str, int]:
    """The next free ``position`` in each group (a transformer's feeds, an operation's participants)."""
    q = select(group, func.max(table.c.position)).group_by(group)
    return {g: int(n) + 1 for g, n in conn.execute(q) if n is not None}


def _feeds(conn: Connection, wanted: list[tuple[str, str | None]]) -> None:
    """Make each delivery point fed by the given transformer (None: by none); new feeds go last."""
    tf = s.transformer_feed
    current: dict[str, list[str]] = {}
    prms = [p for p, _ in wanted]
    for i in range(0, len(prms), 500):
        q = select(tf.c.prm, tf.c.transformer_id).where(tf.c.prm.in_(prms[i : i + 500]))
        for r in conn.execute(q):
            current.setdefault(r.prm, []).append(r.transformer_id)
    moved = [(p, t) for p, t in wanted if current.get(p, []) != ([t] if t else [])]
    if not moved:
        return
    gone = [p for p, _ in moved if p in current]
    for i in range(0, len(gone), 500):
        conn.execute(delete(tf).where(tf.c.prm.in_(gone[i : i + 500])))
    nxt = _next_positions(conn, tf, tf.c.transformer_id)
    rows = []
    for p, t in moved:
        if t:
            rows.append({"transformer_id": t, "prm": p, "position": nxt.get(t, 0)})
            nxt[t] = nxt.get(t, 0) + 1
    if rows:
        conn.execute(insert(tf), rows)


def add_rows(conn: Connection, territory_id: str, sheet: str, rows: list[dict]) -> None:
    """Insert objects of one sheet (typed values keyed by the workbook's columns), in one statement."""
    if not rows:
        return
    values = [_table_values(sheet, r, territory_id) for r in rows]
    if sheet == "acc_participants":
        ap = s.acc_participant
        nxt = _next_positions(conn, ap, ap.c.operation_id)
        for v in values:
            v["position"] = nxt.get(v["operation_id"], 0)
            nxt[v["operation_id"]] = v["position"] + 1
    if sheet == "acc_operations":
        for v in values:
            v["billing"] = None
    conn.execute(insert(_TABLES[sheet]), values)
    if sheet == "delivery_points":
        _feeds(conn, [(r["prm"], r.get("transformer")) for r in rows])


def change_rows(conn: Connection, territory_id: str, sheet: str, rows: list[dict]) -> None:
    """Update objects in place (their key columns name them; the other columns are written)."""
    if not rows:
        return
    table = _TABLES[sheet]
    keys = [_COLUMNS[sheet][c] for c in _KEYS[sheet]]
    values = [_table_values(sheet, r, territory_id) for r in rows]
    others = [c for c in values[0] if c not in keys]
    stmt = (update(table).where(*[table.c[k] == bindparam(f"k_{k}") for k in keys])
            .values({c: bindparam(f"v_{c}") for c in others}))
    conn.execute(stmt, [{**{f"k_{k}": v[k] for k in keys}, **{f"v_{c}": v[c] for c in others}} for v in values])
    if sheet == "delivery_points":
        _feeds(conn, [(r["prm"], r.get("transformer")) for r in rows])


def _drop_series(conn: Connection, where) -> None:
    ids = select(s.series.c.id).where(where)
    conn.execute(delete(s.chunk).where(s.chunk.c.series_id.in_(ids)))
    conn.execute(delete(s.input_map).where(s.input_map.c.series_id.in_(ids)))
    conn.execute(delete(s.series).where(where))


def remove_row(conn: Connection, territory_id: str, sheet: str, key: dict, *, now: int) -> None:
    """Delete one object and what only describes it: its series with their readings (the caller decided
    that the admin asked for it), meters, feeds; sensor keys bound to a removed site are revoked."""
    series = s.series.c
    if sheet == "delivery_points":
        prm = key["prm"]
        _drop_series(conn, series.prm == prm)
        conn.execute(delete(s.meter).where(s.meter.c.prm == prm))
        conn.execute(delete(s.transformer_feed).where(s.transformer_feed.c.prm == prm))
    elif sheet == "sites":
        _drop_series(conn, series.site_id == key["id"])
        conn.execute(delete(s.meter).where(s.meter.c.site_id == key["id"]))
        conn.execute(update(s.api_key).where(s.api_key.c.site_id == key["id"], s.api_key.c.revoked_at.is_(None))
                     .values(revoked_at=now))
    elif sheet == "producers":
        _drop_series(conn, series.producer_id == key["id"])
    elif sheet == "transformers":
        _drop_series(conn, series.transformer_id == key["id"])
        conn.execute(delete(s.transformer_feed).where(s.transformer_feed.c.transformer_id == key["id"]))
    elif sheet == "acc_operations":
        conn.execute(delete(s.acc_key_period).where(s.acc_key_period.c.operation_id == key["id"]))
    conn.execute(delete(_TABLES[sheet]).where(*_where_key(sheet, key)))


def taken_elsewhere(conn: Connection, territory_id: str, sheet: str, keys: list[str]) -> set[str]:
    """Which of these ids (PRMs for ``delivery_points``) another territory of the store already uses."""
    out: set[str] = set()
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        if sheet == "delivery_points":
            q = (select(s.delivery_point.c.prm).join(s.site, s.site.c.id == s.delivery_point.c.site_id)
                 .where(s.delivery_point.c.prm.in_(part), s.site.c.territory_id != territory_id))
        else:
            table = _TABLES[sheet]
            q = select(table.c.id).where(table.c.id.in_(part), table.c.territory_id != territory_id)
        out |= {r[0] for r in conn.execute(q)}
    return out
