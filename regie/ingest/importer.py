"""The import service: a file in, its readings on the right series, all or nothing.

Adapters say what a file holds in the source's own terms (a PRM, an emoncms feed, a CSV column); this
service places it:

- a PRM → that delivery point's series of the same kind (consumption or production) and cadence (a load
  curve, or daily energy); if the delivery point is known but has no such series yet, one is created;
  if the PRM is unknown, its readings go to quarantine for the admin (never dropped);
- anything else (``emoncms-12``, a CSV mapping's target) → the series of that id, created on first import.

Average power and energy are converted once, here, when the file and the series differ
(energy [Wh] = power [W] × step [s] / 3600). Batches are streamed to the store inside one transaction
(:meth:`regie.store.Store.transaction`): a file that turns out malformed halfway writes nothing, and
importing the same file twice stores each reading once (the store keys readings by series and instant).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from regie.ingest.errors import IngestError
from regie.ingest.limits import DEFAULT as DEFAULT_LIMITS
from regie.ingest.limits import Limits, check_upload
from regie.ingest.registry import get_adapter
from regie.ingest.sources import SourceReadings
from regie.model import IntervalConvention, Readings, Series, SeriesKind, mask_prm
from regie.store import Store, StoreError
from regie.store.quarantine import QuarantinedReading

#: Formats whose adapter reads a folder (or an archive by path) rather than a byte stream.
FOLDER_FORMATS = {"emoncms-archive"}

#: The quantum a created series stores values at, by unit (the store keeps integers of it).
_RESOLUTION = {"W": 1.0, "Wh": 1.0, "VA": 1.0, "degC": 0.01, "%": 0.1, "V": 0.1, "A": 0.001, "": 0.001}
_SHORT = {SeriesKind.CONSUMPTION: "cons", SeriesKind.PRODUCTION: "prod"}

Progress = Callable[[float | None, int], None]


class SeriesGuard(Protocol):
    """Who may write what, asked before each write (:class:`regie.governance.writes.WriteGuard` is the one
    regie uses; ingest knows nothing of accounts). Each method raises a ``PermissionError`` to refuse: the
    import's transaction then rolls back and nothing is written."""

    def check(self, s: Series, start: int | None = None, end: int | None = None) -> None: ...

    def new_series(self, s: Series) -> Series: ...

    def quarantine(self, key: str) -> None: ...

    def node(self, node: str) -> None: ...

    def territory(self, territory_id: str, what: str = "") -> None: ...


@dataclass(slots=True)
class ImportReport:
    """What an import did: readings read and stored, series touched and created, readings quarantined."""

    format: str
    source: str
    points_read: int = 0
    points_written: int = 0
    quarantined: int = 0
    series: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "source": self.source,
            "points_read": self.points_read,
            "points_written": self.points_written,
            "quarantined": self.quarantined,
            "series": list(self.series),
            "created": list(self.created),
            "seconds": round(self.seconds, 3),
        }


def prm_series_id(prm: str, kind: SeriesKind, daily: bool) -> str:
    """Id of a series the import creates for a delivery point: pseudonymous (a hash, not the PRM, since
    series ids are printed in URLs and logs) and stable (re-importing finds the same series)."""
    digest = hashlib.sha256(prm.encode()).hexdigest()[:12]
    return f"{_SHORT.get(kind, kind.value)}-{digest}-{'p1d' if daily else 'load'}"


def _own_series(batch: SourceReadings) -> bool:
    """A batch keyed by a PRM normally goes to that point's load curve or daily series; one whose ``series_id``
    is not the PRM asks for a series of its own on that point (``regie.ingest.r15_acc``: one per ACC flow)."""
    return bool(batch.prm) and batch.series_id != batch.prm


def _is_daily(s: Series | SourceReadings) -> bool:
    return s.step is not None and s.step.is_calendar


def convert(batch: SourceReadings, target: Series, *, source: str) -> np.ndarray:
    """Values of ``batch`` in the unit of ``target``: as is, or power ↔ energy over each point's step."""
    if batch.unit == target.unit:
        return batch.values
    if {batch.unit, target.unit} == {"W", "Wh"} and batch.steps is not None:
        if target.unit == "Wh":
            return batch.values * batch.steps / 3600.0
        return batch.values * 3600.0 / batch.steps
    raise IngestError(
        f"cannot store {batch.unit or 'dimensionless'} readings of {batch.name or batch.series_id!r} in series "
        f"{target.id} ({target.unit or 'dimensionless'})",
        source=source,
    )


class Importer:
    """Imports files into one store and territory."""

    def __init__(
        self, store: Store, territory_id: str | None = None, *, guard: SeriesGuard | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:  # fmt: skip
        """``guard`` decides each series written (None: the caller has decided for the whole import: the
        shell, a test); ``limits`` bound what a file may weigh and an archive unpack to. ``territory_id``:
        where new series go and whose zone reads local times; default, the store's only territory (a store
        of several must be told which: an error names them)."""
        self.store = store
        self.guard = guard
        self.limits = limits
        try:
            self.territory_id = territory_id or store.sole_territory_id()
        except LookupError as exc:
            raise IngestError(str(exc)) from None

    def import_path(self, fmt: str, path: str | Path, *, progress: Progress | None = None, **options) -> ImportReport:
        """Import a file (or, for ``emoncms-archive``, a folder or an archive) by path."""
        path = Path(path)
        if not path.exists():
            raise IngestError("no such file or folder", source=str(path))
        if fmt in FOLDER_FORMATS:
            if path.is_file():
                with open(path, "rb") as fh:
                    check_upload(fh, path.name, self.limits)
            return self._run(fmt, path, path.name, progress, options)
        if path.is_dir():
            raise IngestError(f"{fmt} reads a file, not a folder", source=str(path))
        with open(path, "rb") as fh:
            check_upload(fh, path.name, self.limits)
            return self._run(fmt, fh, path.name, progress, options)

    def import_stream(
        self, fmt: str, stream: BinaryIO, name: str, *, progress: Progress | None = None, **options
    ) -> ImportReport:
        """Import an uploaded file (a binary stream; seekable for archives), refused past the size limit."""
        check_upload(stream, name, self.limits)
        return self._run(fmt, stream, name, progress, options)

    # ------------------------------------------------------------------------------------------ internals

    def _run(self, fmt: str, source, name: str, progress: Progress | None, options: dict) -> ImportReport:
        try:
            adapter = get_adapter(fmt)
        except KeyError as exc:
            raise IngestError(str(exc.args[0]), source=name, field="format") from None
        inventory = self.store.load_inventory(self.territory_id)
        options.setdefault("zone", inventory.territory.zone)
        options["limits"] = self.limits  # never the caller's to raise
        report = ImportReport(format=fmt, source=name)
        t0 = time.perf_counter()
        placer = _Placer(self.store, inventory, fmt, name, self.guard)
        if self.guard is not None:  # the territory it writes in (and creates series in) is the caller's to write
            self.guard.territory(inventory.territory.id, f"import {name}")
        with self.store.transaction() as tx:
            placer.tx = tx
            for batch in adapter.parse(source, name, **options):
                self._one(batch, placer, report, name)
                if progress is not None:
                    progress(getattr(batch, "progress", None), report.points_read)
            report.created = [s.id for s in placer.created]
        report.seconds = time.perf_counter() - t0
        return report

    def _one(self, batch: Readings, placer: _Placer, report: ImportReport, name: str) -> None:
        if not isinstance(batch, SourceReadings):  # a third-party adapter yielding plain Readings:
            target = placer.tx.series(batch.series_id)  # its ids are series ids, values in their unit
            if target is None:
                raise IngestError(f"no series {batch.series_id!r}: declare it before importing", source=name)
            batch = SourceReadings(batch.series_id, batch.t, batch.values, unit=target.unit, step=target.step)
        present = ~np.isnan(batch.values)
        n = int(present.sum())
        if n == 0:
            return
        report.points_read += n
        target = placer.place(batch)
        if target is None:
            if placer.guard is not None:
                placer.guard.quarantine(batch.prm or batch.series_id)
            report.quarantined += placer.quarantine(batch, present)
            return
        if placer.guard is not None:
            t = batch.t[present]
            placer.guard.check(target, int(t.min()), int(t.max()))
        values = convert(batch, target, source=name)
        try:
            # the batch keeps each value's duration (``steps``): the store puts values that do not last the
            # series' step onto its steps, energy exact (docs/architecture.md, "Mixed steps")
            report.points_written += placer.tx.write([replace(batch, series_id=target.id, values=values)])
        except StoreError as exc:
            raise IngestError(str(exc), source=name) from None
        if target.id not in report.series:
            report.series.append(target.id)


class _Placer:
    """Maps a batch onto a series (finding or creating it) or onto quarantine, with caches per import."""

    def __init__(self, store: Store, inventory, fmt: str, name: str, guard: SeriesGuard | None = None) -> None:
        self.store = store
        self.guard = guard
        self.inventory = inventory
        self.fmt = fmt
        self.name = name
        self.tx = None
        self.delivery_points = {d.prm: d for d in inventory.delivery_points}
        self.by_prm: dict[str, list[Series]] = {}
        for s in inventory.series:
            if s.prm:
                self.by_prm.setdefault(s.prm, []).append(s)
        self.created: list[Series] = []
        self._cache: dict[tuple, Series | None] = {}

    def place(self, batch: SourceReadings) -> Series | None:
        own = _own_series(batch)
        key = (batch.prm, batch.kind, _is_daily(batch), batch.series_id if not batch.prm or own else None)
        if key not in self._cache:
            if own:
                self._cache[key] = self._own_for_prm(batch)
            else:
                self._cache[key] = self._for_prm(batch) if batch.prm else self._for_id(batch)
        return self._cache[key]

    def _own_for_prm(self, batch: SourceReadings) -> Series:
        """A delivery point's series that the adapter names itself (an ACC flow of an R15 file): found or created
        on that point. An unknown PRM is an error here, not the quarantine: releasing would put the readings on
        the point's load curve, which they are not."""
        prm = batch.prm
        assert prm is not None
        if prm not in self.delivery_points:
            raise IngestError(
                f"unknown delivery point {mask_prm(prm)}: declare it (and its ACC participation) "
                "before importing its collective self-consumption flows",
                source=self.name,
            )
        existing = self.tx.series(batch.series_id)
        if existing is not None:
            if existing.prm != prm:
                raise IngestError(f"series {existing.id} is not on delivery point {mask_prm(prm)}", source=self.name)
            return existing
        series = Series(
            id=batch.series_id,
            kind=batch.kind or SeriesKind.SENSOR,
            unit=batch.unit,
            step=batch.step,
            convention=batch.convention,
            resolution=_RESOLUTION.get(batch.unit, 0.001),
            name=batch.name[:200],
            prm=prm,
            site_id=self.delivery_points[prm].site_id,
        )
        self._create(series)
        self.by_prm.setdefault(prm, []).append(series)
        return series

    def _for_prm(self, batch: SourceReadings) -> Series | None:
        prm = batch.prm
        if prm not in self.delivery_points:
            return None
        kind = batch.kind or SeriesKind.CONSUMPTION
        daily = _is_daily(batch)
        candidates = [
            s
            for s in self.by_prm.get(prm, [])
            if s.kind == kind and _is_daily(s) == daily and s.unit in (("Wh",) if daily else ("W", "Wh"))
        ]
        if candidates:
            same_unit = [s for s in candidates if s.unit == batch.unit]
            return (same_unit or candidates)[0]
        series = Series(
            id=prm_series_id(prm, kind, daily),
            kind=kind,
            unit="Wh" if daily else "W",  # a load curve is average power over the step (docs/architecture.md)
            step=batch.step,
            convention=batch.convention,
            resolution=1.0,
            name=f"Linky {mask_prm(prm)} {kind.value}{' (daily)' if daily else ''}",
            prm=prm,
            site_id=self.delivery_points[prm].site_id,
        )
        existing = self.tx.series(series.id)
        if existing is not None:  # created by an earlier import whose inventory cache we did not see
            return existing
        self._create(series)
        self.by_prm.setdefault(prm, []).append(series)
        return series

    def _for_id(self, batch: SourceReadings) -> Series:
        existing = self.tx.series(batch.series_id)
        if existing is not None:
            if _is_daily(existing) != _is_daily(batch):
                raise IngestError(
                    f"series {existing.id} has step {existing.step}, the file gives {batch.step}", source=self.name
                )
            return existing
        try:
            series = Series(
                id=batch.series_id,
                kind=batch.kind or SeriesKind.CONSUMPTION,
                unit=batch.unit,
                step=batch.step,
                convention=batch.convention or IntervalConvention.START,
                resolution=_RESOLUTION.get(batch.unit, 0.001),
                name=batch.name[:200],
            )
        except ValueError as exc:
            raise IngestError(f"cannot create series {batch.series_id!r}: {exc}", source=self.name) from None
        if self.guard is not None:
            series = self.guard.new_series(series)
        self._create(series)
        return series

    def _create(self, series: Series) -> None:
        self.tx.add_series(self.inventory.territory.id, [series])
        self.created.append(series)

    def quarantine(self, batch: SourceReadings, present: np.ndarray) -> int:
        reason = f"unknown delivery point {mask_prm(batch.prm)}"
        t = batch.t[present]
        v = batch.values[present]
        return self.tx.quarantine(
            QuarantinedReading(
                source=self.fmt,
                key=batch.prm,
                t=int(a),
                value=float(b),
                reason=reason,
                unit=batch.unit,
                origin=self.name,
                territory_id=self.inventory.territory.id,  # its admins handle it (regie.ingest.admin)
            )
            for a, b in zip(t.tolist(), v.tolist(), strict=True)
        )


def import_files(
    store: Store, fmt: str, paths: Iterable[str | Path], *, progress: Progress | None = None,
    territory_id: str | None = None, **options,
) -> list[ImportReport]:  # fmt: skip
    """Import several files, each atomically: the first bad one stops the run (the earlier ones stay)."""
    importer = Importer(store, territory_id)
    return [importer.import_path(fmt, p, progress=progress, **dict(options)) for p in paths]
