"""The settings object: every security setting can be set from the environment and from the TOML file, is
typed, and an unsafe value stops regie with a message naming the setting (issue 18, "security settings
that cannot be set"). The web app then acts on them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from regie.config import Settings, SettingsError, get_settings
from regie.services.alerts import EmailChannel
from regie.store import open_store
from regie.web import acc_pages, auth
from regie.web.app import create_app

# name, value in the environment (text), value in TOML, the value read
CASES = [
    ("public_url", "https://regie.example.org/", '"https://regie.example.org/"', "https://regie.example.org"),
    ("cookie_secure", "true", "true", True),
    ("trusted_proxies", '["10.0.0.2", "10.1.0.0/16"]', '["10.0.0.2", "10.1.0.0/16"]', ["10.0.0.2", "10.1.0.0/16"]),
    ("login_max_failures", "3", "3", 3),
    ("login_max_failures_per_address", "50", "50", 50),
    ("login_window_s", "600", "600", 600),
    ("login_lock_s", "30", "30", 30),
    ("login_max_lock_s", "7200", "7200", 7200),
    ("acc_supplier_price", "0.25", "0.25", 0.25),
    ("acc_allow_illustrative", "true", "true", True),
    ("mqtt_host", "broker.lan", '"broker.lan"', "broker.lan"),
    ("mqtt_port", "8883", "8883", 8883),
    ("mqtt_base", "emonpi", '"emonpi"', "emonpi"),
    ("mqtt_username", "regie", '"regie"', "regie"),
    ("mqtt_password", "s3cret-broker", '"s3cret-broker"', "s3cret-broker"),
    ("smtp_security", "tls", '"tls"', "tls"),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGIE_"):
            monkeypatch.delenv(name)


def toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "regie.toml"
    path.write_text("[regie]\n" + body + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "env", "file", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_setting_from_the_environment(name: str, env: str, file: str, expected, monkeypatch) -> None:
    monkeypatch.setenv(f"REGIE_{name.upper()}", env)
    assert getattr(get_settings(), name) == expected


@pytest.mark.parametrize(("name", "env", "file", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_setting_from_the_toml_file(name: str, env: str, file: str, expected, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REGIE_CONFIG", str(toml(tmp_path, f"{name} = {file}")))
    assert getattr(get_settings(), name) == expected


def test_the_environment_wins_over_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REGIE_MQTT_HOST", "from-env")
    settings = get_settings(toml(tmp_path, 'mqtt_host = "from-file"\nmqtt_port = 1884'))
    assert (settings.mqtt_host, settings.mqtt_port) == ("from-env", 1884)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('smtp_security = "startls"', r"REGIE_SMTP_SECURITY\): .*'starttls', 'tls' or 'none'"),
        ('smtp_host = "mail.example.org"\nsmtp_user = "alerts"\nsmtp_security = "none"', "unencrypted"),
        ('public_url = "https://regie.example.org"\ncookie_secure = false', "cookie_secure"),
        ('public_url = "regie.example.org"', r"REGIE_PUBLIC_URL\): .*http"),
        ('trusted_proxies = ["*"]', "REGIE_TRUSTED_PROXIES"),
        ("login_lock_s = 600\nlogin_max_lock_s = 60", "login_lock_s"),
        ("acc_supplier_price = 50", "REGIE_ACC_SUPPLIER_PRICE"),
        ('login_max_failures = "many"', "REGIE_LOGIN_MAX_FAILURES"),
        ('cookie_secur = true', "unknown settings .*cookie_secur"),
    ],
)
def test_an_unsafe_or_wrong_value_is_refused_with_its_name(body: str, why: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=why):
        get_settings(toml(tmp_path, body))


def test_the_typo_of_the_issue_is_refused_from_the_environment_too(monkeypatch) -> None:
    """``smtp_security`` used to be any string: "startls" fell through to a login over a plain connection."""
    monkeypatch.setenv("REGIE_SMTP_SECURITY", "startls")
    with pytest.raises(SettingsError, match="REGIE_SMTP_SECURITY"):
        get_settings()
    with pytest.raises(ValueError, match="smtp_security"):
        EmailChannel("mail.example.org", 587, "a@example.org", ["b@example.org"], "startls", "alerts", "pw")


def test_a_login_in_clear_only_to_this_machine(monkeypatch) -> None:
    monkeypatch.setenv("REGIE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("REGIE_SMTP_USER", "alerts")
    monkeypatch.setenv("REGIE_SMTP_SECURITY", "none")
    assert get_settings().smtp_security == "none"
    monkeypatch.setenv("REGIE_SMTP_HOST", "smtp.example.org")
    with pytest.raises(SettingsError, match="unencrypted"):
        get_settings()
    with pytest.raises(ValueError, match="unencrypted"):
        EmailChannel("smtp.example.org", 25, "a@example.org", ["b@example.org"], "none", "alerts", "pw")


def test_regie_serve_stops_on_a_bad_setting(monkeypatch, capsys) -> None:
    from regie.cli import main
    from regie.failures import ExitCode

    monkeypatch.setenv("REGIE_SMTP_SECURITY", "startls")
    with pytest.raises(SystemExit) as stopped:
        main(["regie", "serve"])
    assert stopped.value.code == ExitCode.CONFIG
    assert "REGIE_SMTP_SECURITY" in re.sub(r"\s+", " ", capsys.readouterr().err)


def test_an_app_without_settings_ignores_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("REGIE_COOKIE_SECURE", "true")
    store = open_store("sqlite://")
    try:
        assert create_app(store).state.settings.cookie_secure is None
    finally:
        store.close()


# ---------------------------------------------------------------- the app acts on them


@pytest.fixture
def store():
    s = open_store("sqlite://")
    yield s
    s.close()


def _request(app, scheme: str = "http") -> Request:
    return Request({"type": "http", "app": app, "scheme": scheme, "server": ("regie", 80), "path": "/",
                    "headers": [], "query_string": b""})  # fmt: skip


def test_an_https_public_url_makes_cookies_secure_even_over_http(store) -> None:
    """Behind a TLS proxy that does not pass the scheme, the app still sets Secure, __Host- cookies."""
    plain = create_app(store)
    behind_tls = create_app(store, Settings.defaults(public_url="https://regie.example.org"))
    assert not auth.cookie_secure(_request(plain))
    assert auth.cookie_secure(_request(plain, "https"))  # the scheme a trusted proxy reported
    assert auth.cookie_secure(_request(behind_tls))
    with TestClient(behind_tls, base_url="http://testserver") as client:
        r = client.get("/login")
    assert "__Host-regie_prelogin=" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]


def test_login_throttling_follows_the_settings(store) -> None:
    policy = auth.throttle_policy(Settings.defaults(login_max_failures=2, login_lock_s=5))
    assert (policy.max_failures, policy.base_lock, policy.max_lock) == (2, 5, 3600)


def test_the_acc_price_and_illustrative_invoices_follow_the_settings(store) -> None:
    default = create_app(store)
    configured = create_app(store, Settings.defaults(acc_supplier_price=0.25, acc_allow_illustrative=True))
    assert acc_pages.supplier_price(_request(default), None) == (acc_pages.SUPPLIER_REFERENCE_PRICE, False)
    assert acc_pages.supplier_price(_request(configured), None) == (0.25, False)
    assert acc_pages.supplier_price(_request(configured), "0,19") == (0.19, True)
    assert not acc_pages._allow_illustrative(_request(default))
    assert acc_pages._allow_illustrative(_request(configured))


def test_the_readme_documents_the_json_settings() -> None:
    """List settings are JSON in the environment: the README says so for the ones added here."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "REGIE_TRUSTED_PROXIES" in readme
    assert json.loads('["127.0.0.1"]') == Settings.defaults().trusted_proxies
