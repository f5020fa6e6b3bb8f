"""The secrecy rule over time: when a cell may be shown, and when a new value of a shown cell may replace it.

A *cell* is an aggregate of delivery points over one metering step (the territory's consumption from 12:00 to
12:30). It may be shown when it passes the rule of :mod:`regie.governance.secrecy` — at least 10 contributing
delivery points (décret n° 2020-196, art. D. 111-52 ff. of the Code de l'énergie) and none above 85 % of it
(the dominance rule of French official statistics) — see :func:`cell_reasons`.

Once shown, a cell is *frozen*: anyone may have saved it. If the data behind it change (a member's erasure, an
import or a correction touching one household, a late household's data), the new value minus the published one
is itself an aggregate — of the points that changed. It is published (as a new version) only when that
*difference* passes the same rule: at least 10 points changed, none by more than 85 % of the summed changes
(:func:`change_reasons`). Otherwise the published value stays, and nothing an outsider can subtract isolates
fewer than 10 points or one dominant point.

Pure numpy, no I/O: :mod:`regie.publication.ledger` applies it to the stored cells, and the live view may
apply :func:`judge` to its own frames.
"""

from __future__ import annotations

import numpy as np

from regie.governance import secrecy

RULE = secrecy.SecrecyRule()
#: A point's contribution to a cell moved when it changed by more than this [unit of the cell, e.g. W] plus a
#: relative 1e-9: float sums of the same readings in another order must not count as a change.
ABSOLUTE_TOLERANCE = 1e-6


def judge(points: np.ndarray, largest: np.ndarray, total: np.ndarray,
          rule: secrecy.SecrecyRule = RULE) -> np.ndarray:  # fmt: skip
    """Per cell: None where an aggregate of ``points`` contributors, the largest ``largest`` of a sum of
    absolute contributions ``total``, may be shown; else ``fewer_than_10`` or ``dominance``."""
    points, largest, total = (np.asarray(x) for x in (points, largest, total))
    out = np.full(points.shape, None, dtype=object)
    with np.errstate(invalid="ignore"):
        out[(total > 0) & (largest > rule.max_share * total)] = secrecy.DOMINANCE
    out[points < rule.min_points] = secrecy.FEWER_THAN_10  # the count rule is the legal one: say it first
    return out


def cell_reasons(contributions: np.ndarray, counted: np.ndarray, rule: secrecy.SecrecyRule = RULE,
                 reported: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Why each cell (column) of a points × cells matrix must be hidden, or None.

    ``contributions`` are each point's contributions (their absolute values are judged); ``counted`` says
    which points count as contributors of each cell (drew energy, or reported); ``reported`` which points had
    a reading (default: ``counted``). A cell no point reported is nobody's and passes: it is known to be empty.
    """
    c = np.abs(np.asarray(contributions, dtype=float))
    n = np.asarray(counted, dtype=bool).sum(axis=0)
    total = c.sum(axis=0)
    out = judge(n, c.max(axis=0, initial=0.0), total, rule)
    anyone = np.asarray(counted if reported is None else reported, dtype=bool).any(axis=0)
    out[~anyone & (total == 0)] = None
    return out


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Which points' contributions moved (points × cells, bool), within the float tolerance."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    tol = ABSOLUTE_TOLERANCE + 1e-9 * np.maximum(np.abs(before), np.abs(after))
    return np.abs(after - before) > tol


def change_reasons(before: np.ndarray, after: np.ndarray, rule: secrecy.SecrecyRule = RULE) -> np.ndarray:
    """Why each cell's revision from ``before`` to ``after`` (points × cells, each point's contribution at the
    published version and now) must not be published, or None where the difference passes the rule.

    The difference's contributors are the points whose contribution moved; a point that appeared (a new
    household) or disappeared (an erasure) moved by its whole contribution. A cell where nothing moved has
    no difference to publish and gets None.
    """
    moved = changed(before, after)
    d = np.where(moved, np.abs(np.asarray(after, dtype=float) - np.asarray(before, dtype=float)), 0.0)
    n = moved.sum(axis=0)
    out = judge(n, d.max(axis=0, initial=0.0), d.sum(axis=0), rule)
    out[n == 0] = None
    return out
