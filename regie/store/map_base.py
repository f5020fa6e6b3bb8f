"""A territory's map background (table ``map_base``): one checked GeoJSON per territory, replaced as a whole."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from regie.model.basemap import BaseMap
from regie.store.schema import map_base
from regie.store.store import Store


@dataclass(frozen=True, slots=True)
class StoredBase:
    """The GeoJSON text as kept, where it comes from, when and by whom it was uploaded."""

    geojson: str
    source: str
    uploaded_at: int
    uploaded_by: str


def save(store: Store, territory_id: str, base: BaseMap, by: str, at: int | None = None) -> None:
    """Replace the territory's background by ``base``."""
    row = {"territory_id": territory_id, "geojson": json.dumps(base.as_geojson(), separators=(",", ":")),
           "source": base.source, "uploaded_at": int(time.time() if at is None else at), "uploaded_by": by}  # fmt: skip
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(delete(map_base).where(map_base.c.territory_id == territory_id))
        conn.execute(insert(map_base), [row])


def load(store: Store, territory_id: str) -> StoredBase | None:
    """The territory's background, or None when none was uploaded."""
    c = map_base.c
    with store.engine.connect() as conn:
        r = conn.execute(select(map_base).where(c.territory_id == territory_id)).mappings().first()
    return None if r is None else StoredBase(r["geojson"], r["source"], r["uploaded_at"], r["uploaded_by"])
