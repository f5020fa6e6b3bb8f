"""Docs that tests keep honest (as Datasette's tests/test_docs.py does): every command of the `regie`
CLI and every setting must appear in the README, so a newcomer can find them."""

from __future__ import annotations

from pathlib import Path

import typer.main

from regie.cli import app
from regie.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    """Every command path, e.g. ``demo``, ``user add``, ``audit verify``."""
    root = typer.main.get_command(app)
    found: list[str] = []

    def walk(group, prefix: str) -> None:
        for name, cmd in group.commands.items():
            path = f"{prefix}{name}"
            if hasattr(cmd, "commands"):
                walk(cmd, f"{path} ")
            else:
                found.append(path)

    walk(root, "")
    return found


def test_every_command_is_in_the_readme() -> None:
    missing = [c for c in _commands() if f"regie {c}" not in README]
    assert missing == [], f"commands not documented in README.md: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    missing = [f"REGIE_{name.upper()}" for name in Settings.model_fields if f"REGIE_{name.upper()}" not in README]
    assert missing == [], f"settings not documented in README.md: {missing}"


def test_readme_links_stay_inside_the_repository() -> None:
    """A newcomer's clone has nothing outside it: every relative link must resolve in the repository."""
    import re

    root = Path(__file__).parents[1]
    targets = re.findall(r"\]\(([^)#\s]+)", README)
    outside = [t for t in targets if "://" not in t and not (root / t).resolve().is_relative_to(root.resolve())]
    missing = [t for t in targets if "://" not in t and t not in outside and not (root / t).exists()]
    assert outside == [], f"README links outside the repository: {outside}"
    assert missing == [], f"README links to files that do not exist: {missing}"


def test_architecture_doc_exists_and_names_every_package() -> None:
    root = Path(__file__).parents[1]
    doc = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in (root / "regie").glob("*/__init__.py"))
    missing = [p for p in packages if f"{p}/" not in doc]
    assert missing == [], f"packages not described in docs/architecture.md: {missing}"
