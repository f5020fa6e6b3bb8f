"""Write a generated demo territory into a store, through the same write path as every ingest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from regie.demo.data import DemoData
from regie.model import Readings
from regie.store import Store

SERIES_PER_TRANSACTION = 64


@dataclass(frozen=True, slots=True)
class InstallReport:
    series: int
    points: int


def install(store: Store, demo: DemoData, progress: Callable[[int], None] | None = None) -> InstallReport:
    """Save the inventory, then the readings in transactions of a few dozen series."""
    store.save_inventory(demo.inventory)
    territory = demo.inventory.territory
    if territory.latitude is not None and territory.longitude is not None:
        from regie.demo.basemap import demo_base
        from regie.store import map_base

        map_base.save(store, territory.id, demo_base(territory.latitude, territory.longitude), by="regie-demo")
    ids = [s.id for s in demo.inventory.series]
    points = 0
    for i in range(0, len(ids), SERIES_PER_TRANSACTION):
        part = ids[i : i + SERIES_PER_TRANSACTION]
        points += store.write([Readings(sid, demo.t, demo.values[sid]) for sid in part])
        if progress:
            progress(len(part))
    if demo.operations:
        from regie.demo.acc_operation import install_acc_operation

        for operation in demo.operations:
            install_acc_operation(store, operation, demo.inventory.territory.id)
    return InstallReport(series=len(ids), points=points)
