"""The import contract of docs/architecture.md, checked on the source tree (parsed, not imported).

Arrows point down: `web` and `cli` use everything; nothing imports them. Pure computation (`analytics`,
`model`) uses nothing of ours but itself. Only `store` (and, for now, `governance` and `ingest`, which keep
their own tables) speaks SQL; `web`, `services`, `publication` and `cli` go through them. The unguarded sum
of many series (`Store.sum_on_grid`) is called only by the gate, so every aggregate of personal data is
decided and logged there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "regie"


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(ROOT.parent).with_suffix("")
        yield ".".join(rel.parts), path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else parts[-1]


MODULES = list(_modules())


def _violations(allowed_in: set[str], forbidden: str) -> list[str]:
    found = []
    for module, path, tree in MODULES:
        if _package(module) in allowed_in:
            continue
        for line, name in _imports(tree):
            if name == forbidden or name.startswith(forbidden + "."):
                found.append(f"{path.relative_to(ROOT.parent)}:{line} imports {name}")
    return sorted(set(found))


def test_nothing_imports_web_or_cli() -> None:
    assert _violations({"web", "cli"}, "regie.web") == []
    assert _violations({"cli"}, "regie.cli") == []


@pytest.mark.parametrize("pure", ["analytics", "model"])
def test_pure_computation_uses_nothing_of_ours_but_itself(pure: str) -> None:
    found = []
    for module, path, tree in MODULES:
        if _package(module) != pure:
            continue
        for line, name in _imports(tree):
            if name.startswith("regie.") and _package(name + ".x") not in {"analytics", "model"}:
                found.append(f"{path.relative_to(ROOT.parent)}:{line} imports {name}")
    assert found == []


def test_sql_stays_in_the_store_governance_and_ingest() -> None:
    """Queries and engines stay there; recognising a database failure (``sqlalchemy.exc``) is allowed anywhere."""
    found = _violations({"store", "governance", "ingest", "demo", "operations"}, "sqlalchemy")
    assert [v for v in found if " imports sqlalchemy.exc" not in v] == []


def test_table_definitions_are_not_used_by_web_services_publication_or_cli() -> None:
    assert _violations({"store", "governance", "ingest", "demo", "operations"}, "regie.store.schema") == []


def test_ingest_does_not_use_services() -> None:
    found = [v for v in _violations(set(), "regie.services") if v.startswith("regie/ingest/")]
    assert found == []


def test_only_the_gate_sums_series() -> None:
    calls = []
    for module, path, tree in MODULES:
        if _package(module) in {"store", "governance"}:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "sum_on_grid":
                calls.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert calls == [], "sum_on_grid outside the gate reads personal series unguarded and unlogged"


def test_test_modules_have_unique_names() -> None:
    """Test folders are not packages: two test files with one name cannot both be collected."""
    names = [p.name for p in (ROOT.parent / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_no_test_imports_conftest_by_name() -> None:
    """Several folders have a conftest.py: which one an import of it by name finds depends on the run."""
    needle = "from " + "conftest import"
    found = [str(p) for p in (ROOT.parent / "tests").rglob("*.py") if needle in p.read_text("utf-8")]
    assert found == []
