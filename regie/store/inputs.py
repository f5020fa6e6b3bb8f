"""What the one writer keeps per emoncms input: its last value and instant (``input_map``).

Read by the live publication through :mod:`regie.governance.live`, never by a web route: a household's last
value is personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from regie.store import Store
from regie.store.schema import input_map, series


@dataclass(frozen=True, slots=True)
class LastValue:
    """An input's last reading: the series it feeds, its instant [UTC s] and value (in the series' unit)."""

    series_id: str
    t: int
    value: float


def last_values(store: Store) -> list[LastValue]:
    """Every bound input's last reading (inputs that never posted are left out)."""
    q = select(series.c.key, input_map.c.last_time, input_map.c.last_value).join(
        input_map, input_map.c.series_id == series.c.id
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [LastValue(k, int(t), float(v)) for k, t, v in rows if t is not None and v is not None]
