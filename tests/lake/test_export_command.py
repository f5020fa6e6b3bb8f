"""`regie export parquet` from the shell: the lake written, then nothing to do the second time."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from regie.cli import app
from regie.lake import layout


def test_the_command_writes_the_lake_then_finds_nothing_changed(demo_url: str, tmp_path: Path) -> None:
    copy = tmp_path / "store.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), copy)
    args = ["export", "parquet", str(tmp_path / "lake"), "--database-url", f"sqlite:///{copy}"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "8 partition(s) written" in first.output
    assert (tmp_path / "lake" / layout.MANIFEST).exists()
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "0 partition(s) written" in second.output and "8 unchanged" in second.output


def test_an_unknown_account_is_a_usage_error(demo_url: str, tmp_path: Path) -> None:
    copy = tmp_path / "store.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), copy)
    args = ["export", "parquet", str(tmp_path / "lake"), "--database-url", f"sqlite:///{copy}", "--as", "nobody"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "no active account 'nobody'" in result.output
    assert not (tmp_path / "lake" / layout.READINGS).exists()
