"""`regie config show`: the effective settings as TOML that loads back, every secret masked."""

from __future__ import annotations

import os
import tomllib

from typer.testing import CliRunner

from regie.cli import app


def test_config_show_masks_secrets_and_reads_back(tmp_path, monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGIE_"):
            monkeypatch.delenv(name)
    conf = tmp_path / "regie.toml"
    conf.write_text('[regie]\nsmtp_host = "smtp.example.org"\nsmtp_user = "regie"\nsmtp_password = "file-secret"\n')
    monkeypatch.setenv("REGIE_CONFIG", str(conf))
    monkeypatch.setenv("REGIE_MQTT_PASSWORD", "env-secret")
    monkeypatch.setenv("REGIE_METRICS_TOKEN", "token-secret-0123456789")
    monkeypatch.setenv("REGIE_DATABASE_URL", "postgresql+psycopg://regie:db-secret@db.example.org/regie")
    monkeypatch.setenv("REGIE_PORT", "8443")
    r = CliRunner().invoke(app, ["config", "show"])
    assert r.exit_code == 0, r.output
    for secret in ("file-secret", "env-secret", "token-secret", "db-secret"):
        assert secret not in r.output
    shown = tomllib.loads(r.output)["regie"]
    assert shown["port"] == 8443 and shown["smtp_host"] == "smtp.example.org"  # the environment and the file
    assert shown["smtp_password"] == shown["mqtt_password"] == shown["metrics_token"] == "********"
    assert shown["database_url"] == "postgresql+psycopg://regie:***@db.example.org/regie"
    assert shown["trusted_proxies"] == ["127.0.0.1"] and "# public_url =" in r.output  # defaults, unset ones
