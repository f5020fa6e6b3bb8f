"""Which backups to keep: the newest of each of the last N days, weeks and months (a pure function).

The grandfather-father-son rule that restic's ``forget --keep-daily/--keep-weekly/--keep-monthly`` and
borg's ``prune`` apply: going from the newest backup back, each period (a UTC day, an ISO week, a month)
contributes its newest backup, until N periods are held; a backup kept by any rule stays. The newest backup
is always kept, whatever the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Policy:
    daily: int = 0
    weekly: int = 0
    monthly: int = 0

    @classmethod
    def parse(cls, text: str) -> Policy:
        """``daily=7,weekly=4,monthly=12`` (any subset, any order)."""
        values: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, number = part.partition("=")
            if not sep or name not in ("daily", "weekly", "monthly") or not number.isdigit():
                raise ValueError(
                    f"{part!r}: expected daily=N, weekly=N or monthly=N (e.g. daily=7,weekly=4,monthly=12)"
                )
            values[name] = int(number)
        if not values:
            raise ValueError("an empty retention policy: e.g. daily=7,weekly=4,monthly=12")
        return cls(**values)


_PERIODS: dict[str, Callable[[datetime], tuple]] = {
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar()[:2]),
    "monthly": lambda t: (t.year, t.month),
}


def to_keep(instants: Iterable[datetime], policy: Policy) -> set[datetime]:
    """The instants (of backups) that the policy keeps; every other one may be deleted."""
    newest_first = sorted(set(instants), reverse=True)
    kept: set[datetime] = set(newest_first[:1])
    for rule, period in _PERIODS.items():
        wanted = getattr(policy, rule)
        seen: set[tuple] = set()
        for t in newest_first:
            if len(seen) >= wanted:
                break
            p = period(t)
            if p not in seen:
                seen.add(p)
                kept.add(t)
    return kept
