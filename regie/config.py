"""One settings object: environment variables ``REGIE_*``, an optional TOML file, then defaults.

The database URL chooses the backend: ``sqlite:///path`` (the embedded default, one file) or
``postgresql+psycopg://user@host/db``. Nothing is created at import time: call :func:`get_settings`.

Every setting that matters for security lives here, typed and validated, so that a typo or an unsafe value
stops ``regie`` at start-up with a message saying which setting and why, instead of silently weakening the
régie (an SMTP login sent in clear, a session cookie without ``Secure`` behind TLS...). The web app reads
them from ``app.state.settings`` (:func:`regie.web.app.create_app`); ``docs/security.md`` explains each.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "regie"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (127.0.0.0/8, ::1 or ``localhost``): traffic never leaves it."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


SMTP_SECURITY = ("starttls", "tls", "none")


def smtp_problem(host: str | None, security: str, user: str | None) -> str | None:
    """Why these SMTP settings are unsafe, or None. A login over a plain connection gives the password to
    the network (RFC 8314 §3 asks for TLS on submission): ``none`` with a login only to a server on this
    machine; an unknown ``security`` is never taken for one of the known ones."""
    if security not in SMTP_SECURITY:
        return f"smtp_security is {security!r}: one of {', '.join(SMTP_SECURITY)}"
    if user and security == "none" and not is_loopback(host or ""):
        return (
            f"smtp_security = 'none' would send the SMTP login of {user!r} unencrypted to {host!r}: use "
            "'starttls' or 'tls' ('none' with a login only for a server on this machine)"
        )
    return None


class SettingsError(ValueError):
    """Settings that cannot be used, with one line per problem: which setting, and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGIE_", extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="where the embedded store lives")
    database_url: str | None = Field(default=None, description="sqlite:///... or postgresql+psycopg://...")
    host: str = Field(default="127.0.0.1", description="address the web server listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="port the web server listens on")

    # ------------------------------------------------------------ the web server's security
    public_url: str | None = Field(
        default=None,
        description="the address members type (https://regie.example.org): https makes every cookie Secure",
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Secure/__Host- cookies: true always, false never (plain HTTP only), unset: from public_url "
        "or else from each request's scheme",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="addresses or networks whose X-Forwarded-For / X-Forwarded-Proto are believed",
    )
    login_max_failures: int = Field(default=5, ge=1, le=100, description="failed logins per account before a lock")
    login_max_failures_per_address: int = Field(
        default=20, ge=1, le=1000, description="failed logins per client address before a lock"
    )
    login_window_s: int = Field(default=15 * 60, ge=1, description="the window those failures are counted in [s]")
    login_lock_s: int = Field(default=60, ge=1, description="the first lock [s], doubled at each further failure")
    login_max_lock_s: int = Field(default=3600, ge=1, description="the longest lock [s]")

    # ------------------------------------------------------------ collective self-consumption pages
    acc_supplier_price: float | None = Field(
        default=None, ge=0, le=5, description="supplier price savings are measured against [EUR/kWh incl. taxes]"
    )
    acc_allow_illustrative: bool = Field(
        default=False, description="let the PMO issue invoices computed with the illustrative tariff"
    )

    # ------------------------------------------------------------ MQTT ingest (regie ingest mqtt, serve --mqtt)
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker emoncms topics are read from")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="port of that broker")
    mqtt_base: str = Field(default="emon", min_length=1, description="base topic (emoncms: emon)")
    mqtt_username: str | None = Field(default=None, description="MQTT login, if the broker asks for one")
    mqtt_password: str | None = Field(default=None, description="MQTT password")

    # Alert delivery (regie.services.alerts): e-mail when smtp_host and alert_email_to are set, MQTT when
    # alert_mqtt_host is set; the web UI always shows alerts. Invitations and reset links use the same SMTP
    # server (regie.mail).
    smtp_host: str | None = Field(default=None, description="SMTP server for alert, invitation and reset e-mails")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS, 25 plain)")
    smtp_security: Literal["starttls", "tls", "none"] = Field(default="starttls", description="starttls, tls or none")
    smtp_user: str | None = Field(default=None, description="SMTP login, if the server asks for one")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_sender: str = Field(default="regie@localhost", description="From: address of the régie's e-mails")
    alert_email_to: list[str] = Field(default_factory=list, description="recipients of alert e-mails")
    alert_mqtt_host: str | None = Field(default=None, description="MQTT broker that alerts are published to")
    alert_mqtt_port: int = Field(default=1883, ge=1, le=65535, description="port of that broker")
    alert_mqtt_topic: str = Field(default="regie/alerts", description="base topic: <topic>/<kind>/<subject>")
    transformer_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="alert thresholds per transformer id: loading, min_steps, loss_ratio (else 1.0, 1, 0.08)",
    )

    # ------------------------------------------------------------ operations (docs/operations.md)
    metrics_token: str | None = Field(
        default=None, min_length=16, description="bearer token that lets a caller off this machine read /metrics"
    )
    backup_dir: Path | None = Field(
        default=None, description="the folder of backups the timer writes (/metrics shows its age); <data_dir>/backups"
    )

    # ------------------------------------------------------------ people: invitations, two-factor (docs/people.md)
    require_two_factor: Literal["none", "admins_operators", "all"] = Field(
        default="none",
        description="accounts that must log in with a TOTP second factor (enrolment forced at their next login): "
        "none, admins_operators or all",
    )
    password_reset_max_requests: int = Field(
        default=5, ge=1, le=1000, description="password-reset requests per address or e-mail in login_window_s"
    )

    # ------------------------------------------------------------ footprint (docs/footprint.md)
    # Defaults and their sources: regie/operations/footprint.py (DEFAULT_*), docs/footprint.md.
    footprint_cpu_watts: float = Field(
        default=0.925, gt=0, le=1000, description="power of one busy CPU core [W] (Raspberry Pi 4: RasPi.TV 2019)"
    )
    footprint_idle_watts: float = Field(
        default=2.7, ge=0, le=10000, description="idle draw of a machine dedicated to regie [W] (Raspberry Pi 4)"
    )
    footprint_storage_kwh_per_gb_year: float = Field(
        default=0.0129, ge=0, le=100, description="energy to keep one GB stored a year [kWh/GB/yr] (HDD, Backblaze)"
    )
    footprint_gco2e_per_kwh: float = Field(
        default=32.0, ge=0, le=2000, description="carbon intensity of electricity [gCO2e/kWh] (RTE, France 2023)"
    )
    footprint_window_days: int = Field(
        default=30, ge=1, le=3660, description="days of data the ingest rate is measured over"
    )

    # ------------------------------------------------------------ the map (docs/map.md)
    map_tile_url: str | None = Field(
        default=None,
        description="tile server drawn under the map, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png "
        "(none: the map draws the territory's own GeoJSON background only, and works offline)",
    )
    map_tile_attribution: str = Field(
        default="", max_length=300, description="the attribution the tile server requires (shown on the map)"
    )

    @field_validator("map_tile_url")
    @classmethod
    def _map_tile_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not all(k in value for k in ("{z}", "{x}", "{y}")):
            raise ValueError(f"{value!r} is not a tile URL template such as https://tile.example.org/{{z}}/{{x}}/{{y}}.png")
        return value

    # ------------------------------------------------------------ the "when to consume" signal (docs/signal.md)
    signal_weather_forecast: str | None = Field(
        default=None,
        description="weather forecast for the signal: a file or an http(s) URL, CSV time,ghi,temperature or "
        "Open-Meteo JSON (docs/signal.md); none: clear sky × recent clear-sky index",
    )
    signal_mqtt_topic: str = Field(
        default="regie/{territory}/signal",
        min_length=1,
        description="retained topic `regie signal publish` writes to on the broker mqtt_host; {territory}: its id",
    )

    # ------------------------------------------------------------ linked open data (docs/linked-data.md)
    opendata_licence: Literal["etalab-2.0", "odbl-1.0"] = Field(
        default="etalab-2.0", description="licence of the open data, the catalogue and the SPARQL graph"
    )
    sparql_timeout_s: float = Field(default=5.0, gt=0, le=300, description="longest a SPARQL query may run [s]")
    sparql_max_rows: int = Field(default=10_000, ge=1, le=1_000_000, description="most results a SPARQL query gives")
    sparql_requests_per_minute: int = Field(
        default=30, ge=1, le=100_000, description="SPARQL queries a minute per client address (bursts of 10)"
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) address such as https://regie.example.org")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                # "*" would let anyone claim to be any address (and to speak HTTPS): never by accident.
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.2 or 10.0.0.0/24)") from None
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.public_https and self.cookie_secure is False:
            raise ValueError(
                "cookie_secure = false with an https public_url would send session cookies that a plain-HTTP "
                "request can read: leave cookie_secure unset"
            )
        if self.login_lock_s > self.login_max_lock_s:
            raise ValueError("login_lock_s is longer than login_max_lock_s")
        if problem := smtp_problem(self.smtp_host, self.smtp_security, self.smtp_user):
            raise ValueError(problem)
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'regie.sqlite'}"

    @property
    def public_https(self) -> bool:
        """Whether members reach the régie over HTTPS (the public URL says so)."""
        return self.public_url is not None and self.public_url.startswith("https://")

    @classmethod
    def defaults(cls, **values: object) -> Settings:
        """These values and the defaults for the rest, validated, never from the environment (an app built
        by a test behaves the same on every machine)."""
        return _Given(**values)


class _Given(Settings):
    """:class:`Settings` from the values given to the constructor alone."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **sources):
        return (init_settings,)


def _explain(exc: ValidationError, origin: str) -> SettingsError:
    lines = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "settings"
        where = f"{name} (REGIE_{name.upper()})" if name != "settings" else origin
        got = f" (got {error['input']!r})" if name != "settings" and not isinstance(error.get("input"), dict) else ""
        lines.append(f"{where}: {error['msg'].removeprefix('Value error, ')}{got}")
    return SettingsError(f"invalid settings ({origin}):\n  " + "\n  ".join(lines))


def get_settings(config_file: Path | None = None) -> Settings:
    """Settings from ``REGIE_*`` variables, over the TOML file (``REGIE_CONFIG`` or ``config_file``).

    Raises :class:`SettingsError` naming each wrong setting (a value of the wrong type, an unsafe one)."""
    path = config_file or (Path(os.environ["REGIE_CONFIG"]) if os.environ.get("REGIE_CONFIG") else None)
    values: dict[str, object] = {}
    origin = "environment"
    if path is not None:
        with open(path, "rb") as fh:
            values = tomllib.load(fh).get("regie", {})
        origin = f"environment and {path}"
        unknown = sorted(set(values) - set(Settings.model_fields))
        if unknown:
            raise SettingsError(f"unknown settings in [regie] of {path}: {', '.join(unknown)}")
    try:
        env = Settings()
        # Environment wins over the file: keep only the file's values for fields not set in the environment.
        merged = {**values, **env.model_dump(exclude_unset=True)}
        return Settings(**merged)
    except ValidationError as exc:
        raise _explain(exc, origin) from None
