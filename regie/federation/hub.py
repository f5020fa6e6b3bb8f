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
