"""What the admin does with ingest after the fact: release or discard quarantined readings, re-map inputs.

Shared by the web pages (:mod:`regie.web.ingest_pages`) and the CLI (``regie quarantine``, ``regie input``)
so both act the same way.

**Release.** Readings wait in quarantine because nothing said where they go (an unknown PRM, an input with
no territory yet). Once the PRM is declared (or the series exists), :func:`release` takes the key's readings
out of quarantine and writes them *in the same transaction* (:func:`regie.store.quarantine.take` then
:meth:`Transaction.write`): either both happen or neither. A PRM is placed exactly as the importer places it
(:class:`regie.ingest.importer._Placer`: the point's series of the same cadence, created if it has none); an
emoncms ``node/input`` goes to the series its input is mapped to, with the input's unit factor; any other key
may be released to an explicit series. **Discard** deletes a key's readings and logs who did it and how many.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from regie.ingest.errors import IngestError
from regie.ingest.importer import SeriesGuard, _Placer, convert
from regie.ingest.inputs import InputService, guess_unit
from regie.ingest.sources import SourceReadings, dominant_step
from regie.model import IntervalConvention, Readings, Series, SeriesKind, mask_prm
from regie.model.units import Step
from regie.store import Store, StoreError
from regie.store import quarantine as quarantine_table
from regie.store.schema import input_map, quarantine, series

log = logging.getLogger(__name__)

_PRM = re.compile(r"^\d{14}$")
_DAY = 86_400


class AdminError(ValueError):
    """An admin action that cannot be done as asked (nothing was changed); the message says why."""


@dataclass(frozen=True, slots=True)
class Released:
    """What a release wrote: readings taken from quarantine, readings stored, and where."""

    source: str
    key: str
    taken: int
    written: int
    series: str


def masked_key(key: str) -> str:
    """A quarantine key as it may be shown: a PRM masked (never someone else's whole PRM), others as they are."""
    return mask_prm(key) if _PRM.match(key) else key


def key_ref(source: str, key: str) -> str:
    """A short opaque reference to a quarantined key, for forms and the CLI: the page never holds a whole PRM."""
    return hashlib.sha256(f"{source}\0{key}".encode()).hexdigest()[:16]


def quarantine_lines(store: Store) -> list[dict]:
    """The quarantine summary with the key masked (``shown``) and its reference (``ref``)."""
    return [{**row, "shown": masked_key(row["key"]), "ref": key_ref(row["source"], row["key"])}
            for row in store.quarantine_summary()]  # fmt: skip


def resolve_ref(store: Store, ref: str) -> tuple[str, str]:
    """The (source, key) a reference from :func:`quarantine_lines` stands for."""
    for row in store.quarantine_summary():
        if key_ref(row["source"], row["key"]) == ref:
            return row["source"], row["key"]
    raise AdminError(f"nothing in quarantine under reference {ref!r} (see `regie quarantine list`)")


def _take(conn, source: str, key: str) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Remove a key's readings from quarantine (inside the caller's transaction) and return them with their
    unit: what is written is exactly what was taken, even if readings of the key arrive meanwhile."""
    where = (quarantine.c.source == source) & (quarantine.c.key == key)
    units = {u for (u,) in conn.execute(select(quarantine.c.unit).where(where).distinct()) if u is not None}
    if len(units) > 1:
        raise AdminError(f"readings of {masked_key(key)} are in several units ({', '.join(sorted(units))})")
    rows = quarantine_table.take(conn, source, key)  # sorted by instant
    t = np.array([ti for ti, _ in rows], np.int64)
    v = np.array([np.nan if vi is None else vi for _, vi in rows], np.float64)
    return t, v, units.pop() if units else None


def _batch(key: str, t: np.ndarray, v: np.ndarray, unit: str | None) -> SourceReadings:
    """Rebuild the batch the importer quarantined: a PRM's load curve (W) or daily energy (Wh)."""
    gaps = np.diff(t)
    if unit == "Wh" and len(gaps) and np.median(gaps) >= _DAY - 3600:
        return SourceReadings(key, t, v, unit="Wh", step=Step(days=1), kind=SeriesKind.CONSUMPTION, prm=key)
    seconds = int(dominant_step(gaps).seconds) if len(gaps) else 1800  # a lone point: Enedis's 30 minutes
    steps = np.full(len(t), seconds, np.int64)
    return SourceReadings(
        key, t, v, unit=unit or "W", step=Step(seconds=seconds), steps=steps, kind=SeriesKind.CONSUMPTION,
        prm=key, convention=IntervalConvention.START,
    )  # fmt: skip


def release(
    store: Store, source: str, key: str, *, series_id: str | None = None, actor: str = "cli",
    guard: SeriesGuard | None = None,
) -> Released:  # fmt: skip
    """Write a key's quarantined readings to their series and drop them from quarantine, in one transaction.

    ``series_id`` forces the target (it must exist); otherwise a PRM must now be a declared delivery point and
    a ``node/input`` a mapped input. Raises :class:`AdminError` (nothing changed) when there is nowhere to go;
    ``guard`` (:mod:`regie.governance.writes`) decides whether the caller may write the target.
    """
    inventory = store.load_inventory()
    with store.transaction() as tx:
        t, v, unit = _take(tx.conn, source, key)
        if len(t) == 0:
            raise AdminError(f"nothing in quarantine for {source} {masked_key(key)}")
        factor = 1.0
        if series_id:
            target = tx.series(series_id)
            if target is None:
                raise AdminError(f"no series {series_id!r}: declare it first")
            batch = _batch(key, t, v, unit) if unit else None
        elif _PRM.match(key):
            placer = _Placer(store, inventory, source, f"quarantine {masked_key(key)}")
            placer.tx = tx
            batch = _batch(key, t, v, unit)
            target = placer._for_prm(batch)
            if target is None:
                raise AdminError(f"delivery point {masked_key(key)} is still unknown: declare it first")
        elif "/" in key:
            node, name = key.split("/", 1)
            row = tx.conn.execute(
                select(series.c.key, series.c.unit)
                .join(input_map, input_map.c.series_id == series.c.id)
                .where(input_map.c.node == node, input_map.c.name == name)
            ).one_or_none()
            if row is None:
                raise AdminError(f"input {key} is mapped to no series yet: give the series to release it to")
            target = tx.series(row.key)
            assert target is not None
            batch = None
        else:
            raise AdminError(f"{source} {key}: give the series to release these readings to")
        if unit is None and "/" in key:  # an emoncms input's raw value: the input's unit rule applies
            guessed, _, gfactor, _ = guess_unit(key.split("/", 1)[1])
            factor = gfactor if target.unit == guessed else 1.0
        keep = ~np.isnan(v)
        if guard is not None:
            guard.check(target, int(t.min()), int(t.max()))
        values = v * factor
        if batch is not None and unit and unit != target.unit:
            try:
                values = convert(batch, target, source=f"quarantine {masked_key(key)}")
            except IngestError as exc:
                raise AdminError(exc.why) from None
        try:
            written = tx.write([Readings(target.id, t[keep], values[keep])]) if keep.any() else 0
        except StoreError as exc:
            raise AdminError(str(exc)) from None
    log.info("%s released %d quarantined readings of %s %s to series %s", actor, len(t), source, masked_key(key),
             target.id)  # fmt: skip
    return Released(source, key, len(t), written, target.id)


def discard(store: Store, source: str, key: str, *, actor: str = "cli") -> int:
    """Delete a key's quarantined readings for good (logged: who, which key, how many)."""
    with store.engine.execution_options(writer=True).begin() as conn:
        n = len(quarantine_table.take(conn, source, key))
    if n == 0:
        raise AdminError(f"nothing in quarantine for {source} {masked_key(key)}")
    log.warning("%s discarded %d quarantined readings of %s %s", actor, n, source, masked_key(key))
    return n


def remap_input(
    service: InputService, node: str, name: str, series_id: str, *, create: bool = False, actor: str = "cli",
    guard: SeriesGuard | None = None,
) -> Series:  # fmt: skip
    """Bind an emoncms input to another series; with ``create``, a missing series is first made like the
    input's current one (same unit, kind, resolution), which is how an input is renamed."""
    store = service.store
    current = next((i for i in service.inputs() if i["node"] == node and i["name"] == name), None)
    if current is None:
        raise AdminError(f"no emoncms input {node}/{name}")
    try:
        target = store.series(series_id)
    except StoreError:
        if not create:
            raise AdminError(f"no series {series_id!r}: create it, or tick 'create'") from None
        model = store.series(current["series"])
        try:
            target = Series(
                series_id, model.kind, model.unit, model.step, model.convention, model.resolution,
                name=f"{node}/{name}"[:200],
            )  # fmt: skip
        except ValueError as exc:
            raise AdminError(str(exc)) from None
        if guard is not None:
            target = guard.new_series(target)
        with store.transaction() as tx:
            tx.add_series(store.territory_id(), [target])
    if target.unit != current["unit"]:
        raise AdminError(
            f"series {series_id} is in {target.unit or 'no unit'}, the input feeds {current['unit'] or 'no unit'}"
        )
    if guard is not None:
        guard.check(target)
    service.remap(node, name, target.id)
    log.info("%s re-mapped input %s/%s to series %s", actor, node, name, target.id)
    return target
