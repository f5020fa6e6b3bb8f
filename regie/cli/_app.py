"""The Typer application and what every command group shares (console, store opening, URL redaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from regie.config import Settings, get_settings
from regie.failures import EXIT_CODES_HELP

if TYPE_CHECKING:
    from regie.store import Store

app = typer.Typer(
    help="regie — an energy-data trust for local energy communities.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback's locals would print passwords and keys
)


console = Console()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


def _redact(url: str) -> str:
    """Never print a database password."""
    from regie.store.engine import redacted_url

    return redacted_url(url)


def load_settings() -> Settings:
    """The settings; a :class:`regie.config.SettingsError` names each wrong one, and the CLI's failure
    handler (:func:`regie.cli.main`) prints it without a traceback and exits 78 (EX_CONFIG)."""
    return get_settings()


def _open(database_url: str | None):
    from regie.governance.log_head import notary_for_command
    from regie.store import open_store

    settings = load_settings()
    store = open_store(database_url or settings.resolved_database_url)
    sign = notary_for_command(store, settings.data_dir)  # signs the access log if the command appended
    ctx = _command_context()
    if ctx is not None:
        ctx.call_on_close(sign)
    return store


def _command_context():
    """The running command's context (typer vendors click in ``typer._click`` since 0.26), or None."""
    import importlib

    for name in ("typer._click.globals", "click.globals"):
        try:
            ctx = importlib.import_module(name).get_current_context(silent=True)
        except ImportError:
            continue
        if ctx is not None:
            return ctx
    return None


DbOption = Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")]


def _utc(t: int | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") if t else ""


def parse_day(text: str, option: str) -> date:
    """A local day given as YYYY-MM-DD, or a usage error naming the option (exit 2, the command's help hint)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} {text!r}: write the day as YYYY-MM-DD") from None


@contextmanager
def command_store(database_url: str | None, *errors: type[Exception]) -> Iterator[Store]:
    """The store a command works on, closed at the end; ``errors`` become a usage error that says why
    (typer prints it with the command's help hint and exits 2), instead of a traceback."""
    store = _open(database_url)
    try:
        yield store
    except errors as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
