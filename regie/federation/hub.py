"""A regional hub: the villages' public aggregates added up into regional figures, secrecy applied again.

The hub receives only public cells (each village's publication already passed the 10-point / 85 % rule).
Adding them up is not enough: a regional total minus the other villages' public cells gives back a village's
*hidden* cell. So a regional cell is published only when every village that sent that cell showed it (a
hidden village cell hides the regional one: secondary suppression, as :mod:`regie.governance.secrecy` does
within a village) and when it counts at least ``min_points`` delivery points in all; a village that sent
nothing for that instant leaves the cell incomplete, said so. No personal curve is ever read or kept here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from regie.governance.secrecy import SecrecyRule
from regie.store import Store
from regie.store import federation as rows

RULE = SecrecyRule()


@dataclass(frozen=True, slots=True)
class RegionalCell:
    t: int
    value: float | None
    points: int
    villages: tuple[str, ...]
    reason: str | None  # hidden_in_a_village, fewer_than_10, incomplete


def regional(store: Store, figure: str, step: int, *, rule: SecrecyRule = RULE) -> list[RegionalCell]:
    """Regional cells of ``figure`` at ``step`` from every peer's latest public cell per instant."""
    dataset = f"public:{figure}:{step}"
    cells: dict[int, dict[str, dict]] = {}
    senders = set()
    for r in rows.received(store, kind="data"):
        if r.dataset != dataset or r.body is None:
            continue
        body = json.loads(r.body)
        senders.add(r.peer_id)
        prev = cells.setdefault(int(body["t"]), {}).get(r.peer_id)
        if prev is None or body.get("version", 1) >= prev.get("version", 1):
            cells[int(body["t"])][r.peer_id] = body
    out = []
    for t in sorted(cells):
        by = cells[t]
        points = sum(int(b["points"]) for b in by.values())
        reason = None
        if any(b["value"] is None for b in by.values()):
            reason = "hidden_in_a_village"
        elif points < rule.min_points:
            reason = "fewer_than_10"
        elif set(by) != senders:
            reason = "incomplete"
        value = None if reason else float(sum(b["value"] for b in by.values()))
        out.append(RegionalCell(t, value, points, tuple(sorted(by)), reason))
    return out


@dataclass(frozen=True, slots=True)
class Village:
    """A village as the hub knows it: the peer it was added as, where it says it is, its latest message."""

    peer_id: str
    name: str
    url: str
    organisation: str
    place: dict | None  # {"name", "latitude", "longitude"} as the village sent it with its cells
    received_at: int  # when its latest public cell arrived here (provenance)


@dataclass(frozen=True, slots=True)
class RegionalRow:
    """One instant: each village's public cell (``None``: not sent) and the regional cell made of them."""

    t: int
    villages: dict[str, dict | None]  # peer id -> {"value", "reason", "points"} or None
    total: RegionalCell


@dataclass(frozen=True, slots=True)
class RegionalFigure:
    """A figure as a hub shows it: its villages (with provenance) and its latest instants."""

    figure: str
    step: int
    villages: tuple[Village, ...]
    rows: tuple[RegionalRow, ...]  # newest first


def datasets(store: Store) -> list[tuple[str, int]]:
    """The public figures received from villages, as ``(figure, step)``: what this régie is a hub of."""
    found = {r.dataset for r in rows.received(store, kind="data") if r.dataset.startswith("public:") and r.body}
    return sorted((d.split(":")[1], int(d.split(":")[2])) for d in found)


def figure(store: Store, figure: str, step: int, *, last: int = 7, rule: SecrecyRule = RULE) -> RegionalFigure:
    """The latest ``last`` instants of ``figure``: per village (their own public cells, hidden ones kept hidden)
    and in all (:func:`regional`), with each village's provenance (which instance, when received)."""
    dataset = f"public:{figure}:{step}"
    latest: dict[str, dict[int, dict]] = {}
    seen: dict[str, int] = {}  # peer id -> when its latest cell arrived
    places: dict[str, dict] = {}  # peer id -> where it says it is (its latest cell that says so)
    for r in rows.received(store, kind="data"):
        if r.dataset != dataset or r.body is None:
            continue
        body = json.loads(r.body)
        prev = latest.setdefault(r.peer_id, {}).get(int(body["t"]))
        if prev is None or body.get("version", 1) >= prev.get("version", 1):
            latest[r.peer_id][int(body["t"])] = body
        seen[r.peer_id] = max(seen.get(r.peer_id, 0), r.received_at)
        if isinstance(body.get("place"), dict):
            places[r.peer_id] = body["place"]
    villages = []
    for pid in sorted(seen):
        p = rows.peer(store, pid)
        villages.append(Village(pid, p.name if p else pid, p.url if p else "", p.organisation if p else "",
                                places.get(pid), seen[pid]))  # fmt: skip
    cells = regional(store, figure, step, rule=rule)[-last:]
    out = [RegionalRow(c.t, {v.peer_id: _own(latest[v.peer_id].get(c.t)) for v in villages}, c)
           for c in reversed(cells)]  # fmt: skip
    return RegionalFigure(figure, step, tuple(villages), tuple(out))


def _own(body: dict | None) -> dict | None:
    if body is None:
        return None
    return {"value": body["value"], "reason": body.get("reason"), "points": int(body["points"])}
