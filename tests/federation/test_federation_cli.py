"""`regie federation identity`, `regie peer add/list/suspend/resume` and `regie federation outbox`, in process,
against a peer served by a real uvicorn on loopback."""

from __future__ import annotations

from servers import AppServer
from typer.testing import CliRunner

from regie.cli import app
from regie.federation import identity
from regie.store import federation as rows
from regie.store import open_store
from regie.web.app import create_app


def test_identity_then_a_peer_added_listed_suspended_resumed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "mine"))
    url = f"sqlite:///{tmp_path / 'mine.sqlite'}"
    run = CliRunner()
    out = run.invoke(app, ["federation", "identity", "--name", "Prats", "--organisation", "Régie de Prats"])
    assert out.exit_code == 0 and "Prats (Régie de Prats)" in out.output
    assert identity.load_or_create(tmp_path / "mine").current.key_id in out.output
    peer_app = create_app(open_store(f"sqlite:///{tmp_path / 'peer.sqlite'}"))
    peer_app.state.federation_dir = tmp_path / "peer"
    identity.set_identity(tmp_path / "peer", "Hub", "Syndicat")
    fingerprint = identity.load_or_create(tmp_path / "peer").current.key_id
    with AppServer(peer_app) as peer:
        wrong = run.invoke(app, ["peer", "add", peer.url, "--fingerprint", "ab" * 16, "--database-url", url])
        assert wrong.exit_code == 65 and "no key with fingerprint" in wrong.output
        added = run.invoke(app, ["peer", "add", peer.url, "--fingerprint", fingerprint, "--id", "hub",
                                 "--send", "public,heads", "--database-url", url])  # fmt: skip
        assert added.exit_code == 0 and "peer hub added: Hub (Syndicat)" in added.output
    listed = run.invoke(app, ["peer", "list", "--database-url", url])
    assert listed.output.split()[:2] == ["hub", "active"] and fingerprint[:16] in listed.output
    assert run.invoke(app, ["peer", "suspend", "hub", "--database-url", url]).exit_code == 0
    assert rows.peer(open_store(url), "hub").status == "suspended"
    assert run.invoke(app, ["peer", "resume", "hub", "--database-url", url]).exit_code == 0
    assert run.invoke(app, ["peer", "suspend", "nobody", "--database-url", url]).exit_code == 65
    assert run.invoke(app, ["federation", "outbox", "--database-url", url]).exit_code == 0
