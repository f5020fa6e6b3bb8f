"""The rule over time and the ledger that applies it: unit cases, a restart, and what the ledger stores."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from publication_world import DAY1, build, grid, household_curve

from regie.governance import secrecy
from regie.model import Readings, Step
from regie.publication import rule
from regie.publication.balance import public_balance
from regie.store import open_store
from regie.store import published as cells


def test_a_cell_needs_10_points_and_no_dominant_one() -> None:
    nine = np.full((9, 1), 100.0)
    assert list(rule.cell_reasons(nine, nine > 0)) == [secrecy.FEWER_THAN_10]
    ten = np.vstack([np.full((9, 1), 10.0), [[1000.0]]])
    assert list(rule.cell_reasons(ten, ten > 0)) == [secrecy.DOMINANCE]
    ok = np.full((10, 1), 100.0)
    assert list(rule.cell_reasons(ok, ok > 0)) == [None]
    nobody = np.zeros((3, 1))
    assert list(rule.cell_reasons(nobody, nobody > 0)) == [None]  # known to be empty


def test_a_revision_is_published_only_when_its_difference_passes() -> None:
    before = np.full((12, 3), 100.0)
    after = before.copy()
    after[0, 0] = 0.0  # one point erased: 1 point changed
    after[:9, 1] += 5.0  # nine points corrected
    after[:, 2] += 5.0  # twelve points corrected
    assert list(rule.change_reasons(before, after)) == [secrecy.FEWER_THAN_10, secrecy.FEWER_THAN_10, None]
    dominated = before.copy()
    dominated[:, 0] += 1.0
    dominated[0, 0] += 500.0
    assert list(rule.change_reasons(before[:, :1], dominated[:, :1])) == [secrecy.DOMINANCE]
    assert list(rule.change_reasons(before, before + 1e-12)) == [None, None, None]  # float noise is no change


def test_after_a_restart_the_published_values_stay_until_a_revision_can_be_judged(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    a, b, step = DAY1, DAY1 + timedelta(days=1), Step.parse("PT30M")
    s = open_store(url)
    build(s)
    first = public_balance(s, a, b, step)["periods"]["consumption_wh"]
    s.close()
    s = open_store(url)  # a new process: no kept basis
    t = grid(1)
    s.write([Readings(f"c{i:02d}", t, household_curve(i, t) * 1.1) for i in range(12)])
    again = public_balance(s, a, b, step)["periods"]["consumption_wh"]
    assert again == first, "without the basis the whole gap is one unknown point: not published"
    stored = cells.latest(s, "consumption", 1800, int(a.timestamp()), int(b.timestamp()))
    assert (stored.version == 1).all() and np.isfinite(stored.value).all()
    s.close()


def test_the_fingerprint_sees_a_correction(tmp_path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 'f.sqlite'}")
    build(s)
    before = cells.fingerprint(s)
    t = grid(1)
    s.write([Readings("c05", t, household_curve(5, t) + 0.001)])
    assert cells.fingerprint(s) != before
    s.close()
