"""The live publication's groups and last frames (table ``live_frame``): point ids and instants, never values.

Only :mod:`regie.publication.live` calls this, so that a restarted process goes on from the last published
frame (``docs/live.md``). One figure's rows are replaced as a whole each time its group or frame changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from regie.store.schema import live_frame
from regie.store.store import Store


@dataclass(frozen=True, slots=True)
class Frame:
    """A published frame: when, its rounded total [W], the points it summed."""

    at: int
    total: float
    points: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredGroup:
    """A figure's current group, the frame its next frame is compared with, and earlier groups' last frames."""

    members: tuple[str, ...]
    not_before: int
    as_of: int | None
    basis: Frame | None
    earlier: tuple[Frame, ...]


def save(store: Store, figure: str, g: StoredGroup) -> None:
    """Replace ``figure``'s rows by ``g``."""
    def row(seq: int, f: Frame | None, **extra) -> dict:
        return {"figure": figure, "seq": seq, "at": f.at if f else None, "total": f.total if f else None,
                "points": json.dumps(sorted(f.points) if f else []), "members": None, "not_before": None,
                "as_of": None, **extra}  # fmt: skip

    rows = [row(0, g.basis, members=json.dumps(sorted(g.members)), not_before=g.not_before, as_of=g.as_of)]
    rows += [row(k + 1, f) for k, f in enumerate(g.earlier)]
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(delete(live_frame).where(live_frame.c.figure == figure))
        conn.execute(insert(live_frame), rows)


def load(store: Store, figure: str) -> StoredGroup | None:
    """``figure``'s stored group, or None."""
    c = live_frame.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(live_frame).where(c.figure == figure).order_by(c.seq)).mappings().all()
    if not rows or rows[0]["seq"] != 0:
        return None

    def frame(r) -> Frame | None:
        return None if r["at"] is None else Frame(int(r["at"]), float(r["total"]), tuple(json.loads(r["points"])))

    head = rows[0]
    return StoredGroup(tuple(json.loads(head["members"] or "[]")), int(head["not_before"] or 0),
                       None if head["as_of"] is None else int(head["as_of"]), frame(head),
                       tuple(f for r in rows[1:] if (f := frame(r)) is not None))  # fmt: skip
