"""The ``regie`` command (typer + rich): one module per group of commands, all on one Typer app."""

from __future__ import annotations

import os
import sys

# isort: off
# Importing a module registers its commands; the order here is the order of `regie --help`.
from regie.cli._app import app, console
from regie.cli import serve, demo, ingest, governance, people, acc, supervision, doctor, backup, config  # noqa: F401
from regie.cli import territory  # noqa: F401
from regie.cli import inventory, data  # noqa: F401
from regie.cli import footprint  # noqa: F401
from regie.cli import signal  # noqa: F401
from regie.cli import digest  # noqa: F401
from regie.cli import federation  # noqa: F401
from regie.cli import publish  # noqa: F401
from regie.cli import export, cluster  # noqa: F401
# isort: on

__all__ = ["app", "console", "main"]


def debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("REGIE_DEBUG", "").lower() in {"1", "true", "yes"}


def main(argv: list[str] | None = None) -> None:
    """The `regie` command. The one place that turns known failures (a database down, a full disk, a broken
    config: :func:`regie.failures.explain`) into two lines and a sysexits code; ``--debug`` or
    ``REGIE_DEBUG=1`` shows the traceback instead, and an unknown failure always does."""
    from rich.console import Console
    from rich.markup import escape

    from regie.failures import explain

    argv = sys.argv if argv is None else argv
    debug = debug_requested(argv)
    while "--debug" in argv:
        argv.remove("--debug")
    try:
        app(args=argv[1:], prog_name="regie")
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:
        failure = None if debug else explain(exc)
        if failure is None:
            raise
        err = Console(stderr=True)
        for i, line in enumerate(failure.lines()):
            text = escape(line)
            err.print(f"[bold red]error:[/] {text}" if i == 0 else f"  {text}", highlight=False, soft_wrap=True)
        raise SystemExit(int(failure.code)) from None
