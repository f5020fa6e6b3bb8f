"""One settings object: environment variables ``REGIE_*``, an optional TOML file, then defaults.

The database URL chooses the backend: ``sqlite:///path`` (the embedded default, one file) or
``postgresql+psycopg://user@host/db``. Nothing is created at import time: call :func:`get_settings`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "regie"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGIE_", extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="where the embedded store lives")
    database_url: str | None = Field(default=None, description="sqlite:///... or postgresql+psycopg://...")
    host: str = Field(default="127.0.0.1", description="address the web server listens on")
    port: int = Field(default=8000, description="port the web server listens on")
    # Alert delivery (regie.services.alerts): e-mail when smtp_host and alert_email_to are set, MQTT when
    # alert_mqtt_host is set; the web UI always shows alerts.
    smtp_host: str | None = Field(default=None, description="SMTP server for alert e-mails")
    smtp_port: int = Field(default=587, description="SMTP port (587 with STARTTLS, 465 with TLS, 25 plain)")
    smtp_security: str = Field(default="starttls", description="starttls, tls or none")
    smtp_user: str | None = Field(default=None, description="SMTP login, if the server asks for one")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_sender: str = Field(default="regie@localhost", description="From: address of alert e-mails")
    alert_email_to: list[str] = Field(default_factory=list, description="recipients of alert e-mails")
    alert_mqtt_host: str | None = Field(default=None, description="MQTT broker that alerts are published to")
    alert_mqtt_port: int = Field(default=1883, description="port of that broker")
    alert_mqtt_topic: str = Field(default="regie/alerts", description="base topic: <topic>/<kind>/<subject>")
    transformer_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="alert thresholds per transformer id: loading, min_steps, loss_ratio (else 1.0, 1, 0.08)",
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'regie.sqlite'}"


def get_settings(config_file: Path | None = None) -> Settings:
    """Settings from ``REGIE_*`` variables, over the TOML file (``REGIE_CONFIG`` or ``config_file``)."""
    path = config_file or (Path(os.environ["REGIE_CONFIG"]) if os.environ.get("REGIE_CONFIG") else None)
    values: dict[str, object] = {}
    if path is not None:
        with open(path, "rb") as fh:
            values = tomllib.load(fh).get("regie", {})
    env = Settings()
    # Environment wins over the file: keep only the file's values for fields not set in the environment.
    merged = {**values, **env.model_dump(exclude_unset=True)}
    return Settings(**merged)
