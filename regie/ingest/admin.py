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

**Declare this PRM.** Readings of a PRM regie does not know wait in quarantine; :func:`declare_prm` declares
the delivery point (on an existing site, or a new one; with its holder when given) through the inventory's
own rules (:func:`regie.inventory.apply.apply_book`: validated first, all or nothing, each change logged),
then releases the readings as above. A declaration the inventory refuses changes nothing and leaves the
quarantine as it was; a release refused after a declaration leaves the readings in quarantine (nothing is
lost, the release can be asked again). What the form or the command is pre-filled with comes from the
quarantined readings (:func:`declaration_defaults`): Enedis files (R63, the customer portal, Data Connect)
name neither the site nor its address, so the PRM, the cadence, the first day and a segment guessed from
the cadence are all there is.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select

from regie.ingest.errors import IngestError
from regie.ingest.importer import SeriesGuard, _Placer, convert
from regie.ingest.inputs import InputService, guess_unit
from regie.ingest.sources import SourceReadings, dominant_step
from regie.model import IntervalConvention, Readings, Series, SeriesKind, mask_prm
from regie.model.units import Step
from regie.store import Store, StoreError
from regie.store import quarantine as quarantine_table
from regie.store.quarantine import EVERYTHING, Scope
from regie.store.schema import input_map, quarantine, series

log = logging.getLogger(__name__)

_PRM = re.compile(r"^\d{14}$")
_DAY = 86_400


def N_(message: str) -> str:  # marks a message for the catalogues (pages translate it, see AdminError)
    return message


class AdminError(ValueError):
    """An admin action that cannot be done as asked (nothing was changed); the message says why.

    ``template`` and ``params``, when given, let a page say it in the visitor's language
    (``gettext(template) % params``); ``str(exc)`` is the English text."""

    def __init__(self, message: str, *, template: str | None = None, params: dict | None = None) -> None:
        super().__init__(message)
        self.template = template
        self.params = params or {}


class ReleasePending(AdminError):
    """The delivery point is declared, but its readings could not be released: they stay in quarantine."""


def _error(template: str, cls: type[AdminError] = AdminError, **params: object) -> AdminError:
    return cls(template % params, template=template, params=params)


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


def quarantine_lines(store: Store, scope: Scope = EVERYTHING) -> list[dict]:
    """The quarantine summary within ``scope`` with the key masked (``shown``), its reference (``ref``) and
    whether it is a PRM still to declare (``is_prm``; a declared one is released instead)."""
    try:
        declared = {d.prm for d in store.load_inventory(scope.territory_id).delivery_points}
    except LookupError:
        declared = set()
    return [{**row, "shown": masked_key(row["key"]), "ref": key_ref(row["source"], row["key"]),
             "is_prm": bool(_PRM.match(row["key"])) and row["key"] not in declared}
            for row in store.quarantine_summary(scope)]  # fmt: skip


def resolve_ref(store: Store, ref: str, scope: Scope = EVERYTHING) -> tuple[str, str]:
    """The (source, key) a reference from :func:`quarantine_lines` stands for, within ``scope`` (a reference
    of another territory's quarantine is unknown there)."""
    for row in store.quarantine_summary(scope):
        if key_ref(row["source"], row["key"]) == ref:
            return row["source"], row["key"]
    raise AdminError(f"nothing in quarantine under reference {ref!r} (see `regie quarantine list`)")


def recorded_territory(store: Store, source: str, key: str, scope: Scope = EVERYTHING) -> str | None:
    """The territory a key's quarantined readings (within ``scope``) were imported into, when they name one
    and only one: where ``regie quarantine release`` places them when not told otherwise."""
    if scope.territory_id is not None:
        return scope.territory_id
    found = {r["territory_id"] for r in store.quarantine_summary(scope) if (r["source"], r["key"]) == (source, key)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _take(conn, source: str, key: str, scope: Scope) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Remove a key's readings from quarantine (inside the caller's transaction) and return them with their
    unit: what is written is exactly what was taken, even if readings of the key arrive meanwhile."""
    where = (quarantine.c.source == source) & (quarantine.c.key == key) & scope.where()
    units = {u for (u,) in conn.execute(select(quarantine.c.unit).where(where).distinct()) if u is not None}
    if len(units) > 1:
        raise AdminError(f"readings of {masked_key(key)} are in several units ({', '.join(sorted(units))})")
    rows = quarantine_table.take(conn, source, key, scope)  # sorted by instant
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
    guard: SeriesGuard | None = None, scope: Scope = EVERYTHING,
) -> Released:  # fmt: skip
    """Write a key's quarantined readings to their series and drop them from quarantine, in one transaction.

    ``series_id`` forces the target (it must exist); otherwise a PRM must now be a declared delivery point and
    a ``node/input`` a mapped input. Raises :class:`AdminError` (nothing changed) when there is nowhere to go;
    ``guard`` (:mod:`regie.governance.writes`) decides whether the caller may write the target; ``scope``
    says which territory's quarantine (and whose inventory places a PRM: by default the one the readings were
    imported into).
    """
    inventory = store.load_inventory(recorded_territory(store, source, key, scope))
    if guard is not None:  # a PRM's series may be created there
        guard.territory(inventory.territory.id, f"release {masked_key(key)}")
    with store.transaction() as tx:
        t, v, unit = _take(tx.conn, source, key, scope)
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


def discard(store: Store, source: str, key: str, *, actor: str = "cli", scope: Scope = EVERYTHING) -> int:
    """Delete a key's quarantined readings within ``scope`` for good (logged: who, which key, how many)."""
    with store.engine.execution_options(writer=True).begin() as conn:
        n = len(quarantine_table.take(conn, source, key, scope))
    if n == 0:
        raise AdminError(f"nothing in quarantine for {source} {masked_key(key)}")
    log.warning("%s discarded %d quarantined readings of %s %s", actor, n, source, masked_key(key))
    return n


def remap_input(
    service: InputService, node: str, name: str, series_id: str, *, create: bool = False, actor: str = "cli",
    guard: SeriesGuard | None = None, territory_id: str | None = None,
) -> Series:  # fmt: skip
    """Bind an emoncms input to another series; with ``create``, a missing series is first made like the
    input's current one (same unit, kind, resolution) in the input's territory, which is how an input is
    renamed. ``territory_id``: only the inputs of that territory (:meth:`InputService.inputs`)."""
    store = service.store
    current = next((i for i in service.inputs(territory_id) if i["node"] == node and i["name"] == name), None)
    if current is None:
        raise AdminError(f"no emoncms input {node}/{name}")
    with store.engine.connect() as conn:  # the input's territory: where a series made for it goes
        home = conn.execute(select(series.c.territory_id).where(series.c.key == current["series"])).scalar()
    home = home or store.territory_id()
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
            guard.territory(home, f"new series {series_id}")
            target = guard.new_series(target)
        with store.transaction() as tx:
            tx.add_series(home, [target])
    if target.unit != current["unit"]:
        raise AdminError(
            f"series {series_id} is in {target.unit or 'no unit'}, the input feeds {current['unit'] or 'no unit'}"
        )
    if guard is not None:
        guard.check(target)
    service.remap(node, name, target.id)
    log.info("%s re-mapped input %s/%s to series %s", actor, node, name, target.id)
    return target


# ---------------------------------------------------------------- declare this PRM

#: Load-curve step → the segment it suggests. Enedis records C5 (Linky, ≤ 36 kVA) load curves every 30 minutes
#: unless asked otherwise, and C1–C4 (ICE, SAPHIR, PME-PMI meters) every 10 minutes (Enedis, "Description du
#: flux R63", field ``Pas``; Enedis-NOI-CF_07E for the segments). Only a suggestion: the admin corrects it.
_SEGMENT_BY_STEP = {600: "C4"}
SEGMENT_GUESSED = "C5"


@dataclass(frozen=True, slots=True)
class Declaration:
    """What the admin says about a quarantined PRM. ``site_name`` creates ``site_id`` when it does not exist;
    ``holder_name`` creates the person ``holder`` when no person or organisation has that id."""

    site_id: str
    site_name: str | None = None
    segment: str = SEGMENT_GUESSED
    usage: str = "residential"
    subscribed_kva: str | None = None
    holder: str | None = None
    holder_name: str | None = None
    since: date | None = None


@dataclass(frozen=True, slots=True)
class Declared:
    """A declaration done: how many inventory objects it added, and the release that followed."""

    prm: str
    added: int
    released: Released


def declaration_defaults(store: Store, source: str, key: str, scope: Scope = EVERYTHING) -> dict:
    """What a declaration form is pre-filled with, from the quarantined readings of ``key``: the masked PRM,
    the cadence, the first local day (the holder's ``since``, so the holder covers every reading) and a
    segment guessed from the cadence."""
    if not _PRM.match(key):
        raise _error(
            N_("%(source)s %(key)s: only a delivery point (a 14-digit PRM) can be declared."), source=source, key=key
        )
    where = (quarantine.c.source == source) & (quarantine.c.key == key) & scope.where()
    with store.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(quarantine).where(where)).scalar_one()
        origin = conn.execute(select(quarantine.c.origin).where(where).order_by(quarantine.c.t).limit(1)).scalar()
        times = [t for (t,) in conn.execute(select(quarantine.c.t).where(where).order_by(quarantine.c.t).limit(500))]
    if not n:
        raise _error(N_("Nothing in quarantine for %(source)s %(key)s."), source=source, key=masked_key(key))
    gaps = np.diff(np.array(times, np.int64))
    seconds = int(dominant_step(gaps).seconds) if len(gaps) else None
    try:
        zone = store.load_inventory(recorded_territory(store, source, key, scope)).territory.zone
    except LookupError:
        zone = ZoneInfo("Europe/Paris")
    return {
        "source": source,
        "shown": masked_key(key),
        "ref": key_ref(source, key),
        "readings": int(n),
        "origin": origin,
        "step_s": seconds,
        "segment": _SEGMENT_BY_STEP.get(seconds or 0, SEGMENT_GUESSED),
        "since": datetime.fromtimestamp(times[0], zone).date() if times else None,
    }


def find_quarantined(store: Store, prm_or_ref: str, source: str | None = None) -> tuple[str, str]:
    """The (source, key) of a quarantined PRM given as itself or as the ref of `regie quarantine list`."""
    if not _PRM.match(prm_or_ref):
        return resolve_ref(store, prm_or_ref)
    sources = sorted({r["source"] for r in store.quarantine_summary() if r["key"] == prm_or_ref})
    if source is not None:
        sources = [x for x in sources if x == source]
    if not sources:
        raise _error(N_("Nothing in quarantine for %(source)s %(key)s."), source=source or "any source",
                     key=masked_key(prm_or_ref))  # fmt: skip
    if len(sources) > 1:
        raise AdminError(f"{masked_key(prm_or_ref)} waits in several sources ({', '.join(sources)}): give --source")
    return sources[0], prm_or_ref


def _blank(sheet_name: str) -> dict[str, str | None]:
    from regie.inventory.format import sheet

    return dict.fromkeys(sheet(sheet_name).column_names)


def declare_prm(
    store: Store, actor, source: str, key: str, declaration: Declaration, *, guard: SeriesGuard | None = None,
    territory_id: str | None = None, scope: Scope = EVERYTHING,
) -> Declared:  # fmt: skip
    """Declare the quarantined PRM ``key`` (and its new site and holder, when asked), then release its
    readings. Raises :class:`AdminError` with what is wrong; a refused declaration changes nothing."""
    from regie.inventory.apply import apply_book
    from regie.inventory.book import Book, book_of
    from regie.inventory.problems import InventoryProblems

    d = declaration
    defaults = declaration_defaults(store, source, key, scope)  # a PRM, and readings waiting for it
    if not d.site_id:
        raise _error(N_("Choose the site the delivery point is on, or give the id and name of a new one."))
    tid = (territory_id or getattr(actor, "territory_id", None) or recorded_territory(store, source, key, scope)
           or store.territory_id())  # fmt: skip
    current = book_of(store, tid)
    wanted = Book()  # only the sheets a declaration touches: the others are left as they are
    for name in ("sites", "delivery_points", "persons", "memberships"):
        wanted.set_sheet(name, [dict(r) for r in current[name]])
    if any(r.get("prm") == key for r in wanted["delivery_points"]):
        raise _error(
            N_("Delivery point %(prm)s is already declared: release its readings instead."), prm=masked_key(key)
        )
    added = 0
    if not any(r.get("id") == d.site_id for r in wanted["sites"]):
        if not d.site_name:
            raise _error(
                N_("There is no site %(site)s: give its name to create it, or choose an existing one."),
                site=repr(d.site_id),
            )
        wanted["sites"].append({**_blank("sites"), "id": d.site_id, "name": d.site_name})
        added += 1
    point = {**_blank("delivery_points"), "prm": key, "site": d.site_id, "segment": d.segment or None,
             "usage": d.usage or None, "subscribed_kva": d.subscribed_kva or None}  # fmt: skip
    wanted["delivery_points"].append(point)
    added += 1
    if d.holder:
        known = {r.get("id") for r in current["persons"]} | {r.get("id") for r in current["organisations"]}
        if d.holder not in known:
            if not d.holder_name:
                raise _error(
                    N_("There is no person or organisation %(holder)s: give a name to add the person."),
                    holder=repr(d.holder),
                )
            wanted["persons"].append({**_blank("persons"), "id": d.holder, "name": d.holder_name})
            added += 1
        since = d.since or defaults["since"]
        if since is None:
            raise _error(N_("Give the first day the holder held the delivery point."))
        wanted["memberships"].append({**_blank("memberships"), "holder": d.holder, "prm": key,
                                      "since": since.isoformat()})  # fmt: skip
        added += 1
    try:
        apply_book(store, actor, tid, wanted, via="quarantine: declare this PRM")
    except InventoryProblems as exc:
        shown = "; ".join(str(p).replace(key, masked_key(key)) for p in exc.problems[:5])
        raise _error(N_("The declaration was refused, nothing changed: %(problems)s"), problems=shown) from None
    log.info("%s declared delivery point %s on site %s", getattr(actor, "label", actor), masked_key(key), d.site_id)
    try:
        done = release(store, source, key, actor=getattr(actor, "username", "cli"), guard=guard,
                       scope=Scope(tid, scope.unplaced))  # placed by the inventory it was declared in
    except AdminError as exc:
        raise _error(
            N_("%(prm)s is declared, but its readings stay in quarantine: %(why)s"),
            ReleasePending,
            prm=masked_key(key),
            why=str(exc),
        ) from None
    return Declared(key, added, done)
