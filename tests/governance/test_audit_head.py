"""Issue 18, item 5: with automatic checkpoints and the signed head kept outside the database, each attack on
the access log is reported — cut the tail; delete an entry and renumber; rewrite and re-chain the whole log —
also when the checkpoint rows are deleted as well, and by `regie audit verify` with a non-zero exit code."""

from __future__ import annotations

import json
import shutil

import pytest
from governance_data import NOW
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from regie.cli import app
from regie.governance import audit, keys, log_head
from regie.store import open_store
from regie.store.schema import access_log, audit_checkpoint

ENTRIES = 12


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def key(data_dir):
    return keys.load_or_create_signing_key(data_dir)


@pytest.fixture
def notary(store, key, data_dir) -> log_head.Notary:
    """Automatic checkpoints on (every 5 entries here), as `regie serve` and every CLI command run them."""
    n = log_head.Notary(key, log_head.head_path(data_dir, str(store.engine.url)), every_entries=5, every_seconds=3600)
    log_head.attach(store, n)
    return n


@pytest.fixture
def log(store, notary):
    for i in range(ENTRIES):
        audit.append(store, audit.AccountEvent("created", f"user{i}", "admin"), now=NOW + i)
    notary.seal(store)  # what the end of a command, or the server's shutdown, does
    log_head.attach(store, None)  # from here on, the attacker's writes: no notary in their way
    return store


def check(store, notary, key) -> audit.Verification:
    return audit.verify(store, key.public_key(), log_head.read_head(notary.head_path), expect_signed=True)


def rows(store) -> dict[int, object]:
    with store.engine.connect() as conn:
        return {r.seq: r for r in conn.execute(select(access_log))}


def delete_checkpoint_rows(store) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(audit_checkpoint))


def rechain(store, texts: dict[int, str]) -> None:
    """Rewrite the log from scratch with these entries (seq -> canonical JSON), each re-chained to the last."""
    with store.engine.begin() as conn:
        conn.execute(delete(access_log))
        prev = audit.GENESIS
        for seq in sorted(texts):
            e = json.loads(texts[seq])
            h = audit.chain_hash(prev, texts[seq])
            conn.execute(
                access_log.insert().values(
                    seq=seq, at=e["at"], kind=e["kind"], subject_id=e.get("subject_id"), entry=texts[seq],
                    prev_hash=prev, hash=h,
                )
            )  # fmt: skip
            prev = h


def cut_the_tail(store) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(access_log).where(access_log.c.seq > ENTRIES - 3))


def delete_and_renumber(store) -> None:
    """Entry 4 removed; every later entry renumbered one down (its JSON too) and the chain recomputed."""
    texts = {}
    for seq, r in rows(store).items():
        if seq == 4:
            continue
        e = json.loads(r.entry)
        e["seq"] = seq if seq < 4 else seq - 1
        texts[e["seq"]] = audit.canonical(e)
    rechain(store, texts)


def rewrite_and_rechain(store) -> None:
    """Same number of entries, one of them changed, the whole chain recomputed from the genesis."""
    texts = {seq: r.entry.replace("user2", "nobody") for seq, r in rows(store).items()}
    rechain(store, texts)


ATTACKS = {"cut the tail": cut_the_tail, "delete and renumber": delete_and_renumber, "rewrite": rewrite_and_rechain}


def test_automatic_checkpoints_sign_every_n_entries_and_the_head_file_follows(log, notary, key) -> None:
    assert [c.size for c in audit.checkpoints(log)] == [5, 10, ENTRIES]
    head = log_head.read_head(notary.head_path)
    assert head is not None and (head.size, head.head_hash) == (ENTRIES, rows(log)[ENTRIES].hash)
    assert audit.signature_ok(head, key.public_key())
    v = check(log, notary, key)
    assert v.ok and v.unsigned == 0 and v.head_hash == head.head_hash
    assert not list(notary.head_path.parent.glob("*.tmp"))  # written through a temporary file, renamed


def test_time_rule_signs_a_quiet_log(store, key, tmp_path) -> None:
    n = log_head.Notary(key, tmp_path / "h.json", every_entries=1000, every_seconds=1e-6)
    log_head.attach(store, n)
    audit.append(store, audit.AccountEvent("created", "x", "admin"))
    audit.append(store, audit.AccountEvent("created", "y", "admin"))
    assert [c.size for c in audit.checkpoints(store)] == [1, 2]


@pytest.mark.parametrize("rows_too", [False, True], ids=["checkpoints kept", "checkpoint rows deleted"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_is_reported(log, notary, key, attack, rows_too) -> None:
    assert check(log, notary, key).ok
    ATTACKS[attack](log)
    if rows_too:
        delete_checkpoint_rows(log)
    v = check(log, notary, key)
    assert not v.ok, f"{attack} passed verification"
    whats = {p.what for p in v.problems}
    assert whats & {"older_than_head", "truncated", "rewritten"}, v.problems
    # ... and without the head file the same attacks passed when no checkpoint row was left: the old bug
    if rows_too:
        assert audit.verify(log, key.public_key()).ok


def test_store_restored_from_an_older_backup_is_older_than_the_head(key, tmp_path) -> None:
    """A file copy is a SQLite backup (for PostgreSQL, a restored dump is the cut tail above)."""
    path = tmp_path / "regie.sqlite"
    store = open_store(f"sqlite:///{path}")
    notary = log_head.Notary(key, tmp_path / "head.json", every_entries=5, every_seconds=3600)
    log_head.attach(store, notary)
    for i in range(7):
        audit.append(store, audit.AccountEvent("created", f"u{i}", "admin"), now=NOW + i)
    notary.seal(store)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(path, tmp_path / "backup.sqlite")
    for i in range(7, 9):
        audit.append(store, audit.AccountEvent("created", f"u{i}", "admin"), now=NOW + i)
    notary.seal(store)
    store.close()
    shutil.copy(tmp_path / "backup.sqlite", path)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"regie.sqlite{suffix}").unlink(missing_ok=True)
    restored = open_store(f"sqlite:///{path}")
    v = check(restored, notary, key)
    restored.close()
    (p,) = v.problems
    assert p.what == "older_than_head" and "older than the last signed head" in p.message and "8..9" in p.message


def test_notary_refuses_to_sign_over_a_rewritten_log(log, notary, key) -> None:
    before = log_head.read_head(notary.head_path)
    rewrite_and_rechain(log)
    delete_checkpoint_rows(log)
    audit.append(log, audit.AccountEvent("created", "after", "admin"))  # the next legitimate append
    assert notary.seal(log) is None and "rewritten" in (notary.last_error or "")
    assert log_head.read_head(notary.head_path) == before  # the evidence is kept
    with pytest.raises(audit.LogTampered):
        audit.checkpoint(log, key, after=before)


def test_a_damaged_head_file_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "h.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable signed head"):
        log_head.read_head(bad)
    bad.write_text(json.dumps({"format": log_head.HEAD_FORMAT, "size": 3}))
    with pytest.raises(ValueError, match="head_hash"):
        log_head.read_head(bad)


# ---------------------------------------------------------------- the same attacks through the CLI


@pytest.fixture
def cli(tmp_path, monkeypatch, data_dir):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    open_store(url).close()
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    monkeypatch.setenv("REGIE_DATA_DIR", str(data_dir))
    for name in ("alice", "bob", "carol", "dave"):  # each command signs the log when it ends
        r = CliRunner().invoke(
            app, ["user", "add", name, "--role", "admin", "--password-stdin"], input="a long pass phrase\n"
        )
        assert r.exit_code == 0, r.output
    return url


def verify_cli(*extra: str):
    return CliRunner().invoke(app, ["audit", "verify", *extra])


def test_cli_signs_at_the_end_of_commands_and_prints_the_head(cli) -> None:
    r = verify_cli()
    assert r.exit_code == 0, r.output
    store = open_store(cli)
    head = rows(store)[4].hash
    store.close()
    assert f"head hash: {head}" in r.output
    assert "last checkpoint: entry 4" in r.output and "signed head outside the database: entry 4" in r.output


@pytest.mark.parametrize("rows_too", [False, True], ids=["checkpoints kept", "checkpoint rows deleted"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_cli_reports_each_attack(cli, attack, rows_too) -> None:
    store = open_store(cli)
    attacks = {
        "cut the tail": lambda s: _cut(s, 2),
        "delete and renumber": delete_and_renumber,
        "rewrite": lambda s: rechain(s, {q: r.entry.replace("bob", "eve") for q, r in rows(s).items()}),
    }
    attacks[attack](store)
    if rows_too:
        delete_checkpoint_rows(store)
    store.close()
    r = verify_cli()
    assert r.exit_code == 1, r.output
    assert ("older_than_head" in r.output and "older than the last signed head" in r.output) or (
        "rewritten" in r.output
    ), r.output


def _cut(store, keep: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(access_log).where(access_log.c.seq > keep))


def test_cli_reports_a_log_with_nothing_signed(cli, data_dir) -> None:
    for f in (data_dir / "audit").glob("*.head.json"):
        f.unlink()
    store = open_store(cli)
    delete_checkpoint_rows(store)
    store.close()
    r = verify_cli()
    assert r.exit_code == 1 and "unsigned" in r.output


# ---------------------------------------------------------------- export, checked with the public key alone


def test_export_verifies_with_the_public_key_alone_and_catches_an_edit(cli, tmp_path, data_dir) -> None:
    out, pub = tmp_path / "log.jsonl", tmp_path / "regie.pub"
    r = CliRunner().invoke(app, ["audit", "export", str(out)])
    assert r.exit_code == 0 and "4 entries" in r.output, r.output
    published = CliRunner().invoke(app, ["audit", "key"])  # what the régie publishes
    assert published.stdout == keys.public_key_pem(keys.load_or_create_signing_key(data_dir))
    pub.write_text(published.stdout)
    shutil.rmtree(data_dir)  # the third party has no data dir, no database: the file and the key
    ok = verify_cli("--export", str(out), "--public-key", str(pub))
    assert ok.exit_code == 0 and "export intact: 4 entries" in ok.output, ok.output
    lines = out.read_text().splitlines()
    forged = [line.replace("carol", "mallory") if '"seq":3' in line else line for line in lines]
    out.write_text("\n".join(forged) + "\n")
    bad = verify_cli("--export", str(out), "--public-key", str(pub))
    assert bad.exit_code == 1 and "entry 3: edited" in bad.output, bad.output
    out.write_text("\n".join(lines[:-3]) + "\n")  # the tail and the signatures cut off
    assert verify_cli("--export", str(out), "--public-key", str(pub)).exit_code == 1
    other = tmp_path / "other.pub"
    other.write_text(keys.public_key_pem(keys.load_or_create_signing_key(tmp_path / "elsewhere")))
    out.write_text("\n".join(lines) + "\n")
    forged_key = verify_cli("--export", str(out), "--public-key", str(other))
    assert forged_key.exit_code == 1 and "bad_checkpoint" in forged_key.output


def test_export_file_that_is_not_one_is_a_usage_error(tmp_path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_text('{"format": "something else"}\n')
    r = verify_cli("--export", str(f))
    assert r.exit_code == 2 and "expected" in r.output


def test_indexed_subject_set_edit_is_caught(store, key) -> None:
    from regie.store.schema import audit_subject_set

    audit.append(store, audit.AccountEvent("created", "x", "admin"), subjects=["alice", "bob"])
    assert audit.verify(store).ok
    with store.engine.begin() as conn:
        conn.execute(update(audit_subject_set).where(audit_subject_set.c.subject_id == "bob").values(subject_id="z"))
    p = audit.verify(store).problems[0]
    assert (p.seq, p.what) == (1, "edited") and "members it covered" in p.message
