"""Save and load a territory's metadata (:class:`regie.model.Inventory`) in the metadata tables."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Connection, select

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
