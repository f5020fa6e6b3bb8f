"""`regie cluster balance --json` from the shell: the Spark figures, as JSON, for each territory of the lake."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from regie.cli import app


def test_the_balance_command_prints_each_territory_as_json(spark, demo_lake: str) -> None:
    args = ["cluster", "balance", demo_lake, "--from", "2025-01-01", "--until", "2025-02-01", "--step", "P1M",
            "--json", "--master", "local[2]"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    jan = found["prats-de-mollo"]
    assert jan["periods"]["start"] == ["2025-01-01T00:00:00+01:00"]
    assert jan["totals"]["consumption_wh"] > jan["totals"]["self_consumed_wh"] > 0


def test_until_before_from_is_a_usage_error(demo_lake: str) -> None:
    result = CliRunner().invoke(app, ["cluster", "acc", demo_lake, "--from", "2025-02-01", "--until", "2025-01-01"])
    assert result.exit_code == 2 and "must be after --from" in result.output
