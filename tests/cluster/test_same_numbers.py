"""Spark over the lake gives the embedded store's numbers on the demo (two months of Prats), within 1e-9.

The embedded side is the services' own path (the gate, the store); the Spark side reads only the lake. Report
figures the services round (6 decimals) are compared after the same rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from demo_lake import END, START

from regie.cluster.acc import cluster_allocations
from regie.cluster.balance import cluster_balance
from regie.cluster.grid import cluster_transformers
from regie.governance.accounts import CLI_ADMIN
from regie.model import Step
from regie.services.acc import allocate_stored, gate_reader, participant_series
from regie.services.balance import territory_balance
from regie.services.supervision import transformer_report
from regie.store import open_store
from regie.store.operations import load_operation, operation_ids

REL = 1e-9
TID = "prats-de-mollo"


@pytest.fixture(scope="module")
def store(demo_url: str):
    s = open_store(demo_url)
    yield s
    s.close()


def close(got, want) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    np.testing.assert_allclose(got, want, rtol=REL, atol=0, equal_nan=True)


def test_the_balance_per_half_hour_and_its_rates_are_the_embedded_ones(spark, demo_lake: str, store) -> None:
    step = Step.parse("PT30M")
    got = cluster_balance(spark, demo_lake, START, END, step)[TID]
    want = territory_balance(store, START, END, step)
    assert got["sources"] == want["sources"] == ["biogas", "hydro", "pv"]
    assert got["periods"]["start"] == want["periods"]["start"] and len(want["periods"]["start"]) == 59 * 48
    for k, v in want["totals"].items():
        close(list(got["totals"][k].values()) if isinstance(v, dict) else got["totals"][k],
              list(v.values()) if isinstance(v, dict) else v)  # fmt: skip
    for k in ("consumption_wh", "production_total_wh", "self_consumed_wh", "coverage", "self_sufficiency",
              "self_consumption"):  # fmt: skip
        close([np.nan if x is None else x for x in got["periods"][k]],
              [np.nan if x is None else x for x in want["periods"][k]])  # fmt: skip
    assert want["totals"]["self_consumed_wh"] > 0.3 * want["totals"]["consumption_wh"]


def test_acc_allocation_per_participant_is_the_embedded_one(spark, demo_lake: str, store) -> None:
    a, b = int(START.timestamp()), int(END.timestamp())
    got = cluster_allocations(spark, demo_lake, a, b).set_index("series_id")
    op = operation_ids(store)[0]
    stored = load_operation(store, op)
    reader = gate_reader(store, CLI_ADMIN, step=stored.operation.step, reason="tests: embedded vs Spark")
    want = allocate_stored(store, op, a, b, reader)
    inv = store.load_inventory()
    cons = [participant_series(inv, p).id for p in want.consumers]
    prods = [participant_series(inv, p).id for p in want.producers]
    assert len(got) == len(cons) + len(prods) and len(cons) >= 10
    close(got.loc[cons, "cons_wh"], want.allocation.cons.sum(axis=0))
    close(got.loc[cons, "autocons_wh"], want.allocation.autocons.sum(axis=0))
    close(got.loc[prods, "prod_wh"], want.allocation.prod.sum(axis=0))
    close(got.loc[prods, "autoprod_wh"], want.allocation.autoprod.sum(axis=0))
    assert want.allocation.autocons.sum() > 0


def test_transformer_loading_and_losses_are_the_embedded_ones(spark, demo_lake: str, store) -> None:
    a, b = int(START.timestamp()), int(END.timestamp())
    got = cluster_transformers(spark, demo_lake, a, b).set_index("transformer")
    assert sorted(got.index) == [f"tr-{k:02d}" for k in range(1, 11)]
    for tr in got.index:
        want = transformer_report(store, tr, START, END)
        row = got.loc[tr]
        for k in ("max", "mean", "p95", "p99"):
            close(round(float(row[k]), 6), want["loading"][k])
        assert (row["hours_over_100"], row["steps"], row["missing_steps"]) == (
            want["loading"]["hours_over_100"],
            want["loading"]["steps"],
            want["loading"]["missing_steps"],
        )
        for k in ("transformer_wh", "downstream_wh", "loss_wh"):
            close([round(float(x), 6) for x in row[k]], want["losses"][k])
    assert got.loc["tr-03", "max"] > 1.0  # the undersized substation of the demo is overloaded in winter


def test_data_health_of_every_series_is_the_embedded_one(spark, demo_lake: str, store) -> None:
    from regie.cluster.health import cluster_health
    from regie.services.supervision import data_health

    got = cluster_health(spark, demo_lake, int(START.timestamp()), int(END.timestamp())).set_index("series_id")
    want = data_health(store, START, END)
    assert len(got) == len(want) > 600
    for w in want:
        g = got.loc[w["series"]]
        assert (g["received"], g["expected"], g["missing_s"], g["status"], g["gaps"], g["alerts"]) == (
            w["received"],
            w["expected"],
            w["missing_s"],
            w["status"],
            len(w["gaps"]),
            len(w["alerts"]),
        ), w["series"]
