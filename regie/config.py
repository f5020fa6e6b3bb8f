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
