"""The live publication: what the public live view (``/live``, ``/api/live``, ``/live/stream``) shows, and the
rule that keeps two live frames from being subtracted to one delivery point's power. See ``docs/live.md``.

**Named points.** A plant is shown by name unless it describes a person
(:func:`regie.governance.gate.describes_a_person`: its delivery point is or was held by a person, or is a
home no one holds) — the holder decides, not the point's usage. A building's consumption is shown by name
when its point's usage is public and it describes no person. Their values are public: they move freely.

**The hidden rest** of each figure (production, consumption) is published only as the sum over a **group**
of delivery points, fixed until its membership changes by a set of points that itself passes statistical
secrecy (:mod:`regie.governance.secrecy`: at least 10 points, none above 85 % — décret n° 2020-196 and the
INSEE dominance rule):

- a point that starts or stops reporting (fresh: a reading in the last :data:`MAX_AGE_S`) only becomes a
  *pending* change; while fewer than 10 changes are pending, the group stays as it is and a member gone
  stale counts with its last value (held);
- when the pending changes pass secrecy, the group is re-formed, and its first frame is published no sooner
  than :data:`GROUP_GAP_S` after the old group's last (meanwhile the total is withheld, ``regrouping``), so
  the difference between the two frames also carries every member's drift over that time;
- a new frame is computed at most every :data:`FRAME_S`, and only when the points whose contribution
  differs from the last published frame pass secrecy themselves (10 points, no change above 85 % of all
  changes) — and so do those that differ from the last frame of each of the :data:`EARLIER_GROUPS` groups
  before (a household gateway that goes down and comes back with one newcomer gives nothing away);
  otherwise the previous frame is held;
- a point counts as a contributor when its value is not zero (three roofs producing at dusk among fourteen
  are three); the hidden sum is rounded to :data:`QUANTUM_W`.

So a frame differs from the previous one, and from the last frames of earlier groups, either not at all or
by the values (or changes) of at least 10 points, none dominant. What remains possible is written in
``docs/live.md``.

The state (the groups, the last frames) lives in one :class:`LivePublication` per application process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from regie.governance import secrecy
from regie.governance.gate import persons_described
from regie.governance.live import live_values_at, log_live_group, read_live_values
from regie.model import Inventory, Series, SeriesKind
from regie.store import Store, live_frames

TWIN_PREFIX = "live-"  # a sensor ``live-<id>`` stands for series ``<id>`` at a finer step
MAX_AGE_S = 300  # a live reading older than this is stale (emonTx posts every 10 s)
QUANTUM_W = 100.0  # the hidden sums are rounded to this [W]: about one household's standby power
FRAME_S = 60  # a group's hidden sum is recomputed at most this often [s]
GROUP_GAP_S = 300  # between the last frame of a group and the first of the next [s]
EARLIER_GROUPS = 24  # a new frame is also checked against the last frames of this many earlier groups
FIGURES = ("production", "consumption")
REGROUPING = "regrouping"  # why a hidden sum is withheld between two groups
RULE = secrecy.SecrecyRule()


@dataclass(frozen=True, slots=True)
class Group:
    """One figure's group: its members (delivery points); ``basis``, each point's value in the *last published
    frame*, of this group or an earlier one (None: nothing published yet); that frame's rounded sum [W] and
    instant [UTC s] when this group published it (None before its first frame); when it may first publish;
    the last frames of the :data:`EARLIER_GROUPS` groups before it."""

    members: frozenset[str] = frozenset()
    basis: Mapping[str, float] | None = None
    total: float | None = None
    as_of: int | None = None
    not_before: int = 0
    earlier: tuple[Mapping[str, float], ...] = ()  # the last frames of earlier groups, newest first
    # When each of those frames was published and its rounded total: kept in the store (``live_frame``) with
    # the point ids, so that a restart rebuilds the frames from the stored readings (never their values).
    basis_frame: tuple[int, float] | None = None
    earlier_frames: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Hidden:
    """What one figure's hidden part publishes: the rounded sum [W] or None and why, the group's size."""

    total: float | None
    reason: str | None
    points: int
    as_of: int | None


def verdict(values: Iterable[float], rule: secrecy.SecrecyRule = RULE) -> str | None:
    """Why a sum of these points' values (or changes) may not be published, or None: the secrecy rule on one
    cell of absolute contributions, where a point contributes when its value is not zero (a sum over fourteen
    roofs of which three still produce at dusk is a sum over three). All zero: nothing to protect. No value
    at all is a sum of no one: it fails the count rule."""
    a = np.abs(np.fromiter(values, dtype=float))
    if not len(a):
        return secrecy.FEWER_THAN_10
    a = a[a > 0]
    if not len(a):
        return None
    return secrecy.primary(np.array([[a.sum()]]), np.array([[len(a)]]), np.array([[a.max()]]), rule)[0, 0]


def advance(g: Group, points: Mapping[str, tuple[int, float]], now: int,
            rule: secrecy.SecrecyRule = RULE) -> tuple[Group, Hidden, bool]:  # fmt: skip
    """The group and the published hidden sum at ``now`` [UTC s], from the hidden points' last readings
    (point → (instant, W)); the flag says a new group published its first frame (to be logged). Pure.

    A new frame is published only when the points whose contribution differs from the last published frame
    (of any group: a member's value, 0 for a non-member) pass secrecy, or none differs."""
    fresh = {k for k, (t, _) in points.items() if now - t <= MAX_AGE_S}
    last = g.basis or {}

    def value(k: str) -> float:
        return points[k][1] if k in points else last.get(k, 0.0)

    changes = (fresh - g.members) | (g.members - fresh)
    if changes and verdict((value(k) for k in changes), rule) is None:
        served = g.total is not None  # the old group's frame was served until now: keep a gap after it
        keep = served and g.basis is not None and g.basis_frame is not None
        earlier = (g.basis, *g.earlier)[:EARLIER_GROUPS] if keep else g.earlier
        frames = (g.basis_frame, *g.earlier_frames)[:EARLIER_GROUPS] if keep else g.earlier_frames
        g = Group(frozenset(fresh), g.basis, None, None, now + GROUP_GAP_S if served else max(g.not_before, now),
                  earlier, g.basis_frame, frames)  # fmt: skip
    n = len(g.members)
    if not g.members and fresh:  # reporting points too few (or one dominant) to form a group
        return g, Hidden(None, verdict((value(k) for k in fresh), rule), 0, None), False
    if g.members and now < g.not_before:
        return g, Hidden(None, REGROUPING, n, None), False
    first = g.total is None
    if first or g.as_of is None or now - g.as_of >= FRAME_S:
        current = {k: value(k) for k in g.members}
        whole = verdict(current.values(), rule) if current else None
        step = None if g.basis is None else next(
            (why for past in (last, *g.earlier) if (why := _moved_verdict(current, past, rule))), None
        )  # nothing published before: the whole is judged alone
        if whole is None and step is None:
            total = float(np.round(sum(current.values()) / QUANTUM_W) * QUANTUM_W)
            g = replace(g, basis=current, total=total, as_of=now, basis_frame=(now, total))
        elif first:
            return g, Hidden(None, whole or REGROUPING, n, None), False
    assert g.total is not None
    return g, Hidden(g.total, None, n, g.as_of), first and n > 0


def _moved_verdict(current: Mapping[str, float], past: Mapping[str, float], rule: secrecy.SecrecyRule) -> str | None:
    """Why the difference between a frame and an earlier one may not be published (None: it may, or it is 0)."""
    moved = [current.get(k, 0.0) - past.get(k, 0.0) for k in set(current) | set(past)
             if current.get(k, 0.0) != past.get(k, 0.0)]  # fmt: skip
    return verdict(moved, rule) if moved else None


UNKNOWN = "?"  #: the point a restored frame's unexplained part is booked on (see :func:`restore`)
RESTORE_LOOKBACK_S = 86_400  #: how far before a frame's instant its points' readings are looked for


def _persisted(g: Group) -> tuple[Any, ...]:
    return (g.members, g.not_before, g.as_of, g.basis_frame, g.earlier_frames)


def _stored(g: Group) -> live_frames.StoredGroup:
    def frame(meta: tuple[int, float] | None, basis: Mapping[str, float] | None) -> live_frames.Frame | None:
        if meta is None or basis is None:
            return None
        return live_frames.Frame(meta[0], meta[1], tuple(k for k in basis if k != UNKNOWN))

    earlier = tuple(f for m, b in zip(g.earlier_frames, g.earlier, strict=False) if (f := frame(m, b)) is not None)
    return live_frames.StoredGroup(tuple(g.members), g.not_before, g.as_of, frame(g.basis_frame, g.basis), earlier)


def restore(store: Store, inv: Inventory, figure: str, at: int) -> Group:
    """The stored group of ``figure`` with its frames rebuilt from the stored readings at each frame's instant,
    or a new group after a gap when none is stored (the first start).

    A frame's values are not stored (they are personal); each point's value at the frame's instant is its
    newest stored reading then. When those do not add up to the published total (within the rounding), the
    gap — an erased point's readings, a reading that arrived late — is booked on one unknown point
    (:data:`UNKNOWN`), which counts as a point that moved: the next frame then waits until 10 others moved
    too, as after any change of fewer than 10 points."""
    stored = live_frames.load(store, figure)
    if stored is None:
        return Group(not_before=at + GROUP_GAP_S)  # a first start begins with a gap

    def rebuild(f: live_frames.Frame) -> dict[str, float]:
        values = _values_at(store, inv, figure, f.points, f.at)
        total = sum(values.values())
        if float(np.round(total / QUANTUM_W) * QUANTUM_W) != f.total:
            values[UNKNOWN] = f.total - total
        return values

    basis = rebuild(stored.basis) if stored.basis else None
    earlier = tuple(rebuild(f) for f in stored.earlier)
    total = stored.basis.total if stored.basis and stored.as_of is not None else None
    g = Group(frozenset(stored.members), basis, total, stored.as_of, stored.not_before, earlier,
              (stored.basis.at, stored.basis.total) if stored.basis else None,
              tuple((f.at, f.total) for f in stored.earlier))  # fmt: skip
    if g.members:
        log_live_group(store, figure, len(g.members), QUANTUM_W, at)
    return g


def _values_at(store: Store, inv: Inventory, figure: str, points: Iterable[str], at: int) -> dict[str, float]:
    """Each hidden point's value in a frame published at ``at``, as the snapshot summed it: per counted series,
    the newest reading of its inputs' series (itself, its ``live-`` twin) at or before ``at``."""
    by_id = {s.id: s for s in inv.series}
    kind = SeriesKind.PRODUCTION if figure == "production" else SeriesKind.CONSUMPTION
    wanted = set(points)
    inputs: dict[str, list[str]] = {}  # counted series → the series its inputs feed
    for s in inv.series:
        target = _role(s, by_id)
        if target is not None and target.kind is kind and (target.prm or target.id) in wanted:
            inputs.setdefault(target.id, []).append(s.id)
    read = live_values_at(store, [sid for ids in inputs.values() for sid in ids], at, RESTORE_LOOKBACK_S)
    out: dict[str, float] = {}
    for target, ids in inputs.items():
        got = [read[sid] for sid in ids if sid in read]
        if got:
            key = by_id[target].prm or target
            out[key] = out.get(key, 0.0) + max(got, key=lambda x: x[0])[1]
    return out


def _role(s: Series, by_id: Mapping[str, Series]) -> Series | None:
    """The production or consumption series an input's series counts as, if any."""
    if s.kind in (SeriesKind.PRODUCTION, SeriesKind.CONSUMPTION):
        return s
    if s.id.startswith(TWIN_PREFIX):
        target = by_id.get(s.id[len(TWIN_PREFIX) :])
        if target is not None and target.kind in (SeriesKind.PRODUCTION, SeriesKind.CONSUMPTION):
            return target
    return None


class LivePublication:
    """The live view's state for one application process: each figure's group and current frame."""

    def __init__(self, persist: bool = True) -> None:
        """``persist`` False: the groups stay in memory (a store's second territory, whose figures the one
        stored group per figure cannot hold: each start then begins with a gap, as a first start does)."""
        self._persist = persist
        self._lock = threading.Lock()
        self._groups: dict[str, Group] = {}
        self._latest = 0  # the latest instant a snapshot was taken at: the groups' time never goes back
        self._saved: set[str] = set()  # figures whose group this process has stored

    def snapshot(self, store: Store, inv: Inventory, now: float) -> dict[str, Any]:
        """What the live page shows at ``now`` [UTC s], fit for the public (see the module docstring). One
        snapshot at a time: the last values are read and the groups advanced as one step."""
        with self._lock:
            self._latest = max(self._latest, int(now))
            return self._snapshot(store, inv, self._latest)

    def _snapshot(self, store: Store, inv: Inventory, at: int) -> dict[str, Any]:
        by_id = {s.id: s for s in inv.series}
        usage = {d.prm: d.usage for d in inv.delivery_points}
        producers = {p.id: p for p in inv.producers}
        sites = {s.id: s.name for s in inv.sites}
        latest: dict[str, tuple[int, float]] = {}  # counted series id → (instant, W), newest input wins
        for r in read_live_values(store):
            s = by_id.get(r.series_id)
            if s is None or s.unit != "W":
                continue
            target = _role(s, by_id)
            if target is not None and (target.id not in latest or latest[target.id][0] < r.t):
                latest[target.id] = (r.t, r.value)
        named: dict[str, list[dict[str, Any]]] = {"production": [], "consumption": []}
        hidden: dict[str, dict[str, tuple[int, float]]] = {"production": {}, "consumption": {}}
        persons = persons_described(store, [by_id[sid] for sid in latest])
        stale, last = 0, 0
        for sid, (t, v) in sorted(latest.items()):
            s = by_id[sid]
            fresh = at - t <= MAX_AGE_S
            person = sid in persons
            if s.kind is SeriesKind.PRODUCTION:
                figure, p = "production", producers.get(s.producer_id or "")
                shown = not person and p is not None
                row = {"id": p.id, "name": p.name, "source": p.source.value} if shown and p else {}
            else:
                figure = "consumption"
                shown = not person and usage.get(s.prm or "") == "public"
                row = {"id": s.id, "name": sites.get(s.site_id or "", s.name or s.id)}
            if shown:
                named[figure].append({**row, "power_w": round(v, 1) if fresh else None, "t": t, "fresh": fresh})
                stale += not fresh
                last = max(last, t)
            else:
                key = s.prm or sid
                old = hidden[figure].get(key)
                hidden[figure][key] = (t, v) if old is None else (max(t, old[0]), old[1] + v)
        out: dict[str, Hidden] = {}
        for figure in FIGURES:
            before = self._groups.get(figure)
            if before is None:  # this process's first frame: go on from the stored group, if any
                before = restore(store, inv, figure, at) if self._persist else Group(not_before=at + GROUP_GAP_S)
            g, out[figure], formed = advance(before, hidden[figure], at)
            self._groups[figure] = g
            if self._persist and (_persisted(g) != _persisted(before) or figure not in self._saved):
                live_frames.save(store, figure, _stored(g))
                self._saved.add(figure)
            if formed:
                log_live_group(store, figure, len(g.members), QUANTUM_W, at)
        totals: dict[str, float | None] = {}
        for figure in FIGURES:
            h = out[figure]
            shown_sum = sum(x["power_w"] for x in named[figure] if x["fresh"])
            totals[figure] = None if h.total is None else round(shown_sum + h.total, 1)
            if h.as_of is not None and h.points:
                last = max(last, h.as_of)
        production, consumption = totals["production"], totals["consumption"]
        balance = None if production is None or consumption is None else round(production - consumption, 1)
        has_data = bool(latest)
        return {
            "territory": inv.territory.name,
            "producers": named["production"],
            "buildings": named["consumption"],
            "production_w": production if has_data else None,
            "consumption_w": consumption if has_data else None,
            "balance_w": balance if has_data else None,
            "masked": {f: out[f].reason for f in FIGURES},
            "hidden_points": {f: out[f].points for f in FIGURES},
            "hidden_as_of": {f: out[f].as_of for f in FIGURES},
            "quantum_w": QUANTUM_W,
            "stale": stale,
            "last_reading": last or None,
            "max_age_s": MAX_AGE_S,
        }
