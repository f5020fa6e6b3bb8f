"""Issue 18, item 7: aggregate reads (grid, data health) reach the member's view of who accessed their data.

Before, `read_aggregate` and `read_presence` logged one entry with no data subject, so `accesses_to` (shown on
/me and /api/me/accesses) never listed them. Now each entry commits to the set of holders it covered; the set
is stored once however often the same view is read."""

from __future__ import annotations

import pytest
from governance_data import NOW, ts
from sqlalchemy import func, select

from regie.governance import audit
from regie.governance.gate import AccessDenied, read_aggregate, read_presence
from regie.store.schema import audit_subject_set

JAN, FEB, APR = ts(2025, 1, 1), ts(2025, 2, 1), ts(2025, 4, 1)
HOMES = {"homes": ["a-load", "b-load", "c-load"]}
PURPOSE = "dpv:ServiceMonitoring"


def aggregates_seen_by(store, subject: str) -> list[tuple[str, str, str]]:
    """The member's "who accessed my data" lines that are aggregate or presence reads (no single point)."""
    return [(a.caller, a.series, a.decision) for a in audit.accesses_to(store, subject) if a.prm is None]


def set_rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(audit_subject_set)).scalar_one()


def test_an_aggregate_read_is_in_the_log_of_every_member_it_covered(store, people) -> None:
    read_aggregate(store, people["admin"], HOMES, JAN, FEB, 1800, PURPOSE, now=NOW)
    for member in ("alice", "bob", "carol"):  # carol held point C in January
        assert aggregates_seen_by(store, member) == [("admin", "aggregate:homes", "allowed")], member
    assert aggregates_seen_by(store, "dave") == []  # dave holds C only from March
    read_aggregate(store, people["admin"], HOMES, FEB, APR, 1800, PURPOSE, now=NOW)
    assert len(aggregates_seen_by(store, "carol")) == 2 and len(aggregates_seen_by(store, "dave")) == 1


def test_presence_reads_and_refusals_are_listed_too(store, people) -> None:
    read_presence(store, people["admin"], ["a-load", "b-load"], FEB, ts(2025, 2, 2), PURPOSE, now=NOW)
    with pytest.raises(AccessDenied):
        read_aggregate(store, people["op"], HOMES, JAN, FEB, 1800, PURPOSE, now=NOW)
    assert aggregates_seen_by(store, "alice") == [
        ("admin", "presence:2 series", "allowed"),
        ("op", "aggregate:homes", "refused"),
    ]
    assert [a.series for a in audit.accesses_to(store, "carol")] == ["aggregate:homes"]


def test_the_same_view_read_again_stores_its_set_once_and_the_log_verifies(store, people) -> None:
    for _ in range(5):
        read_aggregate(store, people["admin"], HOMES, JAN, FEB, 1800, PURPOSE, now=NOW)
    assert set_rows(store) == 3  # alice, bob, carol: once, not once per read
    digests = {e.entry["subject_set"] for e in audit.entries(store, kind="access")}
    assert digests == {audit.subject_set_digest(["alice", "bob", "carol"])}
    assert audit.verify(store).ok


def test_the_member_page_says_an_aggregate_summed_their_point_with_others(store, people) -> None:
    from regie.web.account_pages import _access_row

    read_aggregate(store, people["admin"], HOMES, JAN, FEB, 1800, PURPOSE, now=NOW)
    (record,) = audit.accesses_to(store, "alice")
    row = _access_row(record, store.load_inventory().territory.zone)
    assert (row["series"], row["covered"]) == ("aggregate:homes", 3)
