"""What secrecy hides of a territory balance: the per-step screen of consumption, the verdicts on production by
source, and :func:`mask_balance`, which sets what they hide to None and says why.

Moved here from ``regie.web.disclosure`` so that every public figure (the territory page, ``/api/balance``,
the report) is masked by one module; ``regie.web.disclosure`` re-exports these names.

The rule per period (:meth:`StepScreen.judge`): a period (a month, a day, a half-hour, the whole period) is
shown only when none of its metering steps fails. Such a period passes the rule itself (its points are at
least any step's; its largest point's share is at most the steps' largest summed over their totals summed),
and no subtraction of shown periods — ``/api/balance`` takes any start and end — can isolate a failing step.
Everything computed from consumption (coverage, self-sufficiency, self-consumption, the self-consumed energy)
is hidden with it. Production: a plant held by the régie, the commune or another public body is published by
its owner's own choice; a source with any plant held by a *person* (rooftop PV) is personal data: it obeys
the count rule (at least 10 plants). When a source is hidden, so are the production total and the rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from regie.governance import secrecy
from regie.model import Inventory, OrganisationKind

RULE = secrecy.SecrecyRule()
PUBLIC_OWNERS = (OrganisationKind.REGIE, OrganisationKind.COMMUNE, OrganisationKind.PUBLIC_BODY)


@dataclass(frozen=True, slots=True)
class StepScreen:
    """The whole territory's consumption cell at each metering step of the data period, judged by the rule.

    Aggregates only: per step, the delivery points that drew a positive energy (``points``), the largest
    point's and all points' mean power [W] (``largest``, ``total``), and whether the step fails the count
    rule (``few``: some point has a reading but fewer than 10 drew anything) or the dominance rule
    (``dominated``). ``contributors`` counts the points that drew anything over the whole data period.
    """

    start: int  # UTC [s] of step 0
    step: int  # the metering step [s]
    points: np.ndarray
    largest: np.ndarray
    total: np.ndarray
    few: np.ndarray
    dominated: np.ndarray
    contributors: int

    def judge(self, lo: Sequence[int] | np.ndarray, hi: Sequence[int] | np.ndarray,
              rule: secrecy.SecrecyRule = RULE) -> list[str | None]:  # fmt: skip
        """Why each period [lo, hi) (UTC [s]) must be hidden, or None where it may be shown.

        A period is hidden when any of its steps fails. The reason is the period's own when it fails by
        itself (``fewer_than_10`` when no step reaches 10 points; ``dominance`` when the steps' largest points
        could make more than 85 % of it), else ``secondary``: it passes, but shown with its neighbours it
        would give the failing step back by subtraction.
        """
        n = len(self.total)
        i = np.clip((np.asarray(lo, dtype=np.int64) - self.start) // self.step, 0, n)
        j = np.clip(-(-(np.asarray(hi, dtype=np.int64) - self.start) // self.step), 0, n)  # a partial step counts
        failing = np.concatenate(([0], np.cumsum(self.few | self.dominated)))
        out: list[str | None] = [None] * len(i)
        for k in np.flatnonzero(failing[j] - failing[i] > 0).tolist():
            a, b = int(i[k]), int(j[k])
            if int(self.points[a:b].max()) < rule.min_points:
                out[k] = secrecy.FEWER_THAN_10
            elif float(self.largest[a:b].sum()) > rule.max_share * float(self.total[a:b].sum()):
                out[k] = secrecy.DOMINANCE
            else:
                out[k] = secrecy.SECONDARY
        return out



@dataclass(frozen=True, slots=True)
class Verdict:
    figure: str
    points: int
    publishable: bool
    reason: str



def production_verdicts(inv: Inventory, rule: secrecy.SecrecyRule = RULE) -> list[Verdict]:
    """Per source: published by choice when every plant is held by a public owner, else the count rule."""
    persons = {p.id for p in inv.persons}
    public_orgs = {o.id for o in inv.organisations if o.kind in PUBLIC_OWNERS}
    holders: dict[str, set[str]] = {}
    for m in inv.memberships:
        if m.until is None:
            holders.setdefault(m.prm, set()).add(m.holder_id)
    out = []
    by_source: dict[str, list[Any]] = {}
    for p in inv.producers:
        by_source.setdefault(p.source.value, []).append(p)
    for source, plants in sorted(by_source.items()):
        held = [holders.get(p.prm or "", set()) for p in plants]
        personal = any(h & persons for h in held)
        if not personal:
            owners = set().union(*held) if held else set()
            reason = "plants of the régie or public bodies: published by their owner's choice"
            if owners - public_orgs:
                reason = "plants of organisations, none held by a person: not personal data"
            out.append(Verdict(f"production:{source}", len(plants), True, reason))
        elif len(plants) < rule.min_points:
            out.append(Verdict(f"production:{source}", len(plants), False, secrecy.FEWER_THAN_10))
        else:
            out.append(Verdict(f"production:{source}", len(plants), True, "at least 10 plants"))
    return out



#: Figures of a balance that are computed from consumption, or from production, besides the two themselves.
DERIVED = ("self_consumed", "coverage", "self_sufficiency", "self_consumption")


def _source_reasons(sources: Sequence[str], verdicts: Sequence[Verdict]) -> dict[str, str | None]:
    """Why each source's production must be hidden, or None. A source no plant explains (production series
    without a known producer: "other") may be anyone's: it is hidden, as fewer than 10 known plants."""
    by_figure = {v.figure: v for v in verdicts}
    out: dict[str, str | None] = {}
    for src in sources:
        v = by_figure.get(f"production:{src}")
        out[src] = secrecy.FEWER_THAN_10 if v is None else None if v.publishable else v.reason
    return out


def mask_balance(balance: dict[str, Any], screen: StepScreen | None, production: Sequence[Verdict],
                 rule: secrecy.SecrecyRule = RULE, *,
                 source_screens: Mapping[str, StepScreen] | None = None) -> dict[str, Any]:  # fmt: skip
    """A territory balance (:func:`regie.services.balance.territory_balance`) with what secrecy hides set to None.

    ``totals.masked`` maps each hidden figure to why; ``periods.masked`` maps each figure hidden in some period
    to one reason per period (None where shown). Figures: ``consumption``, ``production`` (the total),
    ``production:<source>``, and the ones derived from both (``self_consumed``, ``coverage``,
    ``self_sufficiency``, ``self_consumption``): hidden with consumption, and with production when a source is
    hidden (the total minus the shown sources, or the rates times a shown figure, would give it back).
    ``source_screens`` judge a personal source's steps like consumption's (hidden in the periods holding a
    failing step).
    """
    out = {**balance, "totals": dict(balance["totals"]), "periods": dict(balance["periods"])}
    totals, periods = out["totals"], out["periods"]
    a, b = (int(datetime.fromisoformat(balance[k]).timestamp()) for k in ("start", "end"))
    starts = [int(datetime.fromisoformat(x).timestamp()) for x in periods["start"]]
    lo = [max(x, a) for x in starts]
    hi = [min(x, b) for x in [*starts[1:], b]]
    n = len(starts)
    if screen is None:  # nothing stored: nothing to hide
        whole, per = None, [None] * n
    else:
        whole, *per = screen.judge([a, *lo], [b, *hi], rule)
    sources = _source_reasons(balance["sources"], production)
    hidden_sources = {k: r for k, r in sources.items() if r}
    production_reason = None
    if hidden_sources:
        only = len(sources) == 1
        production_reason = next(iter(hidden_sources.values())) if only else secrecy.SECONDARY
    by_source_totals = dict(totals["production_by_source_wh"])
    by_source_periods = dict(periods["production_wh"])
    masked_totals: dict[str, str] = {}
    masked_periods: dict[str, list[str | None]] = {}

    def hide_total(figure: str, field: str, reason: str | None) -> None:
        if reason:
            totals[field] = None
            masked_totals[figure] = reason

    def hide_periods(figure: str, field: str, reasons: list[str | None]) -> None:
        if any(reasons):
            periods[field] = [None if r else v for v, r in zip(periods[field], reasons, strict=True)]
            masked_periods[figure] = reasons

    hide_total("consumption", "consumption_wh", whole)
    hide_periods("consumption", "consumption_wh", per)
    for src, reason in hidden_sources.items():
        by_source_totals[src] = None
        by_source_periods[src] = [None] * n
        masked_totals[f"production:{src}"] = reason
        masked_periods[f"production:{src}"] = [reason] * n
    prod_whole, prod_per = production_reason, [production_reason] * n
    for src, src_screen in (source_screens or {}).items():
        if src in hidden_sources:
            continue
        s_whole, *s_per = src_screen.judge([a, *lo], [b, *hi], rule)
        if s_whole:
            by_source_totals[src] = None
            masked_totals[f"production:{src}"] = s_whole
        if any(s_per):
            by_source_periods[src] = [None if r else v for v, r in zip(by_source_periods[src], s_per, strict=True)]
            masked_periods[f"production:{src}"] = s_per
        only = len(sources) == 1
        prod_whole = prod_whole or (s_whole if only or not s_whole else secrecy.SECONDARY)
        prod_per = [p or (r if only or not r else secrecy.SECONDARY) for p, r in zip(prod_per, s_per, strict=True)]
    totals["production_by_source_wh"], periods["production_wh"] = by_source_totals, by_source_periods
    hide_total("production", "production_wh", prod_whole)
    hide_periods("production", "production_total_wh", prod_per)
    for figure in DERIVED:
        field = "self_consumed_wh" if figure == "self_consumed" else figure
        hide_total(figure, field, whole or prod_whole)
        hide_periods(figure, field, [r or p for r, p in zip(per, prod_per, strict=True)])
    totals["masked"], periods["masked"] = masked_totals, masked_periods
    return out


