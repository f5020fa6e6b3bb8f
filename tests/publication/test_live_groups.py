"""The rule of the live publication, on its pure core (:func:`regie.publication.live.advance`): a group changes
only by a set of points that passes secrecy, after a gap; a frame moves only when at least 10 members moved;
sums are rounded. The end-to-end attacks are in ``test_live_secrecy.py``."""

from __future__ import annotations

from regie.governance import secrecy
from regie.publication.live import FRAME_S, GROUP_GAP_S, MAX_AGE_S, QUANTUM_W, REGROUPING, Group, advance, verdict

T = 1_000_000


def run(g: Group, points: dict[str, tuple[int, float]], now: int):
    return advance(g, points, now)


def houses(n: int, t: int, base: float = 500.0, start: int = 0) -> dict[str, tuple[int, float]]:
    return {f"p{i}": (t, base + i) for i in range(start, start + n)}


def test_a_group_forms_from_ten_points_and_its_first_frame_waits_for_the_gap() -> None:
    g, h, formed = run(Group(not_before=T + GROUP_GAP_S), houses(9, T), T)
    assert (h.total, h.reason, formed) == (None, secrecy.FEWER_THAN_10, False)
    g, h, _ = run(g, houses(10, T), T)
    assert (h.total, h.reason, h.points) == (None, REGROUPING, 10)
    g, h, formed = run(g, houses(10, T + GROUP_GAP_S), T + GROUP_GAP_S)
    assert formed and h.points == 10 and h.as_of == T + GROUP_GAP_S
    assert h.total == round(sum(500.0 + i for i in range(10)) / QUANTUM_W) * QUANTUM_W == 5000.0


def started(n: int = 11) -> tuple[Group, int]:
    t = T + GROUP_GAP_S
    g, h, _ = run(Group(), houses(n, t), t)
    assert h.total is not None
    return g, t


def test_one_point_joining_or_leaving_moves_nothing() -> None:
    g, t = started()
    total = g.total
    joined = {**houses(11, t + 30), "p99": (t + 30, 1234.5)}
    g, h, formed = run(g, joined, t + FRAME_S + 30)
    assert (h.total, h.points, formed) == (total, 11, False)
    gone = houses(10, t + 400)  # p10 stops: stale, its last value held
    gone["p10"] = (t, 510.0)
    g, h, _ = run(g, gone, t + 400)
    assert (h.total, h.points) == (total, 11)


def test_a_frame_moves_only_when_ten_members_moved() -> None:
    g, t = started(12)
    total = g.total
    nine = {k: (t + 60, v + (300.0 if i < 9 else 0.0)) for i, (k, (_, v)) in enumerate(houses(12, t).items())}
    g, h, _ = run(g, nine, t + FRAME_S)
    assert h.total == total and h.as_of == t  # nine moved: the previous frame is held
    ten = {k: (t + 120, v + (300.0 if i < 10 else 0.0)) for i, (k, (_, v)) in enumerate(houses(12, t).items())}
    g, h, _ = run(g, ten, t + FRAME_S - 1 + FRAME_S)
    assert h.total == total + 3000.0 and h.as_of == t + 2 * FRAME_S - 1
    g, h, _ = run(g, {k: (t + 130, v + 500.0) for k, (_, v) in ten.items()}, t + 2 * FRAME_S)
    assert h.total == total + 3000.0  # not a minute since the last frame


def test_a_change_dominated_by_one_point_is_held() -> None:
    g, t = started(12)
    moved = {k: (t + 60, v + (5000.0 if i == 0 else 1.0)) for i, (k, (_, v)) in enumerate(houses(12, t).items())}
    g, h, _ = run(g, moved, t + FRAME_S)
    assert h.total == g.total and h.as_of == t


def test_ten_changes_at_once_regroup_after_a_gap() -> None:
    g, t = started(11)
    now = t + MAX_AGE_S + 60
    ten_more = {**houses(11, now), **houses(10, now, start=20)}
    g, h, _ = run(g, ten_more, now)
    assert (h.total, h.reason, h.points) == (None, REGROUPING, 21)
    g, h, formed = run(g, {k: (now + GROUP_GAP_S, v) for k, (_, v) in ten_more.items()}, now + GROUP_GAP_S)
    assert formed and h.points == 21 and h.total is not None


def test_nothing_hidden_publishes_zero_and_no_value_is_a_sum_of_no_one() -> None:
    _, h, _ = run(Group(not_before=T + GROUP_GAP_S), {}, T)
    assert (h.total, h.reason, h.points) == (0.0, None, 0)
    assert verdict([]) == secrecy.FEWER_THAN_10
    assert verdict([1.0] * 10) is None and verdict([100.0] + [1.0] * 9) == secrecy.DOMINANCE


def test_a_new_group_waits_until_its_frame_differs_from_the_last_published_by_ten_points() -> None:
    """The first frame of a group is checked against the last published frame, whatever group published it:
    twelve households whose gateway went down come back with one newcomer, unchanged: nothing is published
    until ten of them moved."""
    g, t = started(12)
    before = dict(g.basis or {})
    now = t + MAX_AGE_S + 60
    g, h, _ = run(g, {k: (t, v) for k, v in before.items()}, now)  # all stale: regroup to no one
    assert h.reason == REGROUPING or h.total is not None
    back = {**{k: (now + 600, v) for k, v in before.items()}, "p99": (now + 600, 1234.5)}
    g, h, _ = run(g, back, now + 600)
    g, h, _ = run(g, back, now + 600 + GROUP_GAP_S)
    assert h.points == 13 and h.total is None and h.reason == REGROUPING
    moved = {k: (now + 1200, v + 50.0) for k, v in before.items()} | {"p99": (now + 1200, 1234.5)}
    g, h, formed = run(g, moved, now + 1200)
    assert formed and h.total is not None and h.points == 13


def test_at_dusk_a_sum_of_three_roofs_still_producing_is_not_published() -> None:
    """A point contributes when its value is not zero: fourteen roofs of which three still produce are three."""
    g, t = started(14)
    total = g.total
    dusk = {k: (t + 60, 400.0 if i < 3 else 0.0) for i, k in enumerate(sorted(g.members))}
    g, h, _ = run(g, dusk, t + FRAME_S)
    assert h.total == total and h.as_of == t  # held: never the three roofs' sum
    night = {k: (t + 120, 0.0) for k in g.members}
    g, h, _ = run(g, night, t + 2 * FRAME_S)
    assert h.total == 0.0
