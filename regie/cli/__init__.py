"""The ``regie`` command (typer + rich): one module per group of commands, all on one Typer app."""

# isort: off
# Importing a module registers its commands; the order here is the order of `regie --help`.
from regie.cli._app import app, console
from regie.cli import serve, demo, ingest, governance, acc, supervision  # noqa: F401
# isort: on

__all__ = ["app", "console"]

if __name__ == "__main__":
    app()
