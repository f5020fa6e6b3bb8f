"""The access log: verify catches an edited, a deleted, a reordered entry, a cut tail and a rewritten
history, and says which entry."""

from __future__ import annotations

import stat

import pytest
from governance_data import NOW
from sqlalchemy import delete, select, update

from regie.governance import audit, keys
from regie.store.schema import access_log, audit_checkpoint


@pytest.fixture
def log(store):
    for i in range(6):
        audit.append(store, audit.AccountEvent("created", f"user{i}", "admin"), now=NOW + i)
    return store


@pytest.fixture
def key(tmp_path):
    return keys.load_or_create_signing_key(tmp_path / "data")


def rows(store) -> dict[int, object]:
    with store.engine.connect() as conn:
        return {r.seq: r for r in conn.execute(select(access_log))}


def set_row(store, seq: int, **values) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(access_log).where(access_log.c.seq == seq).values(**values))


def only_problem(store, public_key=None) -> audit.Problem:
    v = audit.verify(store, public_key)
    assert not v.ok
    return v.problems[0]


def test_untouched_log_verifies(log, key) -> None:
    audit.checkpoint(log, key, now=NOW + 10)
    v = audit.verify(log, key.public_key())
    assert v.ok and v.size == 6 and v.checkpoints == 1
    assert [e.seq for e in audit.entries(log)] == [1, 2, 3, 4, 5, 6]


def test_edited_entry_is_named(log) -> None:
    r = rows(log)[3]
    set_row(log, 3, entry=r.entry.replace("user2", "someone-else"))
    p = only_problem(log)
    assert (p.seq, p.what) == (3, "edited")


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(log) -> None:
    r = rows(log)[3]
    forged = r.entry.replace("user2", "someone-else")
    set_row(log, 3, entry=forged, hash=audit.chain_hash(r.prev_hash, forged))
    p = only_problem(log)
    assert (p.seq, p.what) == (4, "broken_link")


def test_edited_indexed_column_is_caught(log) -> None:
    set_row(log, 2, at=NOW + 999)
    assert only_problem(log).seq == 2


def test_deleted_entry_is_named(log) -> None:
    with log.engine.begin() as conn:
        conn.execute(delete(access_log).where(access_log.c.seq == 3))
    p = only_problem(log)
    assert (p.seq, p.what) == (3, "missing")


def test_reordered_entries_are_named(log) -> None:
    r = rows(log)
    for a, b in ((2, 3), (3, 2)):
        set_row(log, a, entry=r[b].entry, prev_hash=r[b].prev_hash, hash=r[b].hash, at=r[b].at)
    p = only_problem(log)
    assert (p.seq, p.what) == (2, "reordered")


def test_cut_tail_is_caught_against_the_last_checkpoint(log, key) -> None:
    audit.checkpoint(log, key, now=NOW + 10)
    with log.engine.begin() as conn:
        conn.execute(delete(access_log).where(access_log.c.seq >= 5))
    p = only_problem(log, key.public_key())
    assert p.what == "truncated" and "5..6" in p.message


def test_history_rewritten_from_scratch_is_caught_by_the_signature(log, key) -> None:
    audit.checkpoint(log, key, now=NOW + 10)
    # Someone with write access to the database edits entry 2 and recomputes the whole chain after it.
    r = rows(log)
    prev = audit.GENESIS
    for seq in sorted(r):
        text = r[seq].entry.replace("user1", "nobody") if seq == 2 else r[seq].entry
        h = audit.chain_hash(prev, text)
        set_row(log, seq, entry=text, prev_hash=prev, hash=h)
        prev = h
    p = only_problem(log, key.public_key())
    assert p.what == "rewritten" and p.seq == 6


def test_forged_checkpoint_is_caught(log, key, tmp_path) -> None:
    audit.checkpoint(log, key, now=NOW + 10)
    other = keys.load_or_create_signing_key(tmp_path / "elsewhere")
    assert audit.verify(log, other.public_key()).problems[0].what == "bad_checkpoint"
    with log.engine.begin() as conn:
        conn.execute(update(audit_checkpoint).values(signature="00" * 64))
    assert only_problem(log, key.public_key()).what == "bad_checkpoint"


def test_checkpoint_is_idempotent_and_appends_continue_the_chain(log, key) -> None:
    a = audit.checkpoint(log, key, now=NOW + 10)
    assert audit.checkpoint(log, key, now=NOW + 11) == a
    audit.append(log, audit.RightsEvent("export", "alice", "alice"), now=NOW + 12)
    b = audit.checkpoint(log, key, now=NOW + 13)
    assert (a.size, b.size) == (6, 7)
    assert audit.verify(log, key.public_key()).ok


def test_signing_key_lives_in_the_data_dir_readable_by_owner_only(tmp_path) -> None:
    k = keys.load_or_create_signing_key(tmp_path / "d")
    path = tmp_path / "d" / "keys" / keys.AUDIT_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.key_id(keys.load_or_create_signing_key(tmp_path / "d")) == keys.key_id(k)  # loaded, not remade
    assert "PRIVATE" not in keys.public_key_pem(k)
