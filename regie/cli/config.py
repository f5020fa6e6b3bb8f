"""`regie config show`: the settings in force, as a TOML file would hold them, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from regie.cli._app import _redact, app, load_settings

config_app = typer.Typer(help="The settings regie runs with.", no_args_is_help=True)
app.add_typer(config_app, name="config")

SECRET_WORDS = ("password", "token", "secret", "passphrase")  # a setting named so is never printed
MASK = "********"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def effective_settings_toml() -> str:
    """Every setting and the value in force (environment, then REGIE_CONFIG's file, then the default);
    passwords and tokens masked, the database URL's password too. Unset settings are commented out."""
    settings = load_settings()
    lines = ["[regie]"]
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if name == "database_url" and value is None:
            value = settings.resolved_database_url
        if value is None:
            lines.append(f"# {name} =   # unset: {field.description}")
            continue
        if any(word in name for word in SECRET_WORDS):
            value = MASK
        elif name == "database_url":
            value = _redact(value)
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


@config_app.command("show")
def config_show() -> None:
    """Print the settings in force as TOML, secrets masked (paste-able into /etc/regie/regie.toml)."""
    typer.echo(effective_settings_toml(), nl=False)
