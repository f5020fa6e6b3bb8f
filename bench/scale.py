"""Benchmark regional scale: a synthetic region in the lake, the balance and ACC jobs on Spark local[1] vs local[2],
against the embedded path and DuckDB over the same lake, in one run; and one executor killed mid-job.

Prints a table and writes ``bench/results/scale.json``:
- the time to build the region (generate each village like Prats, write its store, export it to the lake);
- points/s per core of the yearly balance (daily periods) and of the ACC allocation of every operation:
  embedded (one process, one core, through the gate, village after village), Spark local[1] and local[2]
  (scaling efficiency = throughput at 2 cores / throughput at 1 core), DuckDB's balance in SQL over the
  same lake with 1 and 2 threads (its totals are checked against Spark's);
- local-cluster[2,1,1024]: one executor JVM killed while the balance job runs; the result must not change.

Run: ``.venv/bin/python bench/scale.py [--villages 12] [--workdir /tmp/regie-scale]`` (needs Java 17).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results" / "scale.json"
PARIS = ZoneInfo("Europe/Paris")
START, END = datetime(2025, 1, 1, tzinfo=PARIS), datetime(2026, 1, 1, tzinfo=PARIS)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def embedded(folder: Path) -> dict:
    """The balance and the ACC allocation of each village from its own store, through the gate, one core."""
    from regie.governance.accounts import CLI_ADMIN
    from regie.model import Step
    from regie.services.acc import allocate_stored, gate_reader
    from regie.services.balance import territory_balance
    from regie.store import open_store
    from regie.store.operations import load_operation, operation_ids

    out = {"balance_s": 0.0, "acc_s": 0.0, "balance": {}, "acc_autocons_wh": {}}
    a, b = int(START.timestamp()), int(END.timestamp())
    for path in sorted(folder.glob("village-*.sqlite")):
        store = open_store(f"sqlite:///{path}")
        try:
            s, fig = timed(lambda store=store: territory_balance(store, START, END, Step.parse("P1D")))
            out["balance_s"] += s
            out["balance"][fig["territory"]] = fig["totals"]
            for op in operation_ids(store):
                stored = load_operation(store, op)
                reader = gate_reader(store, CLI_ADMIN, step=stored.operation.step, reason="bench/scale.py")
                s, res = timed(lambda store=store, op=op, reader=reader: allocate_stored(store, op, a, b, reader))
                out["acc_s"] += s
                out["acc_autocons_wh"][f"{stored.territory_id}/{op}"] = float(res.allocation.autocons.sum())
        finally:
            store.close()
    return out


def lake_points(lake: str) -> dict:
    """Rows the jobs read: consumption and production (balance), the ACC participants' rows (ACC)."""
    from regie.cluster.tasks import partitions
    from regie.lake.read import read_metas
    from regie.services.acc import participant_series

    parts = partitions(lake)
    balance = sum(e["rows"] for p, e in parts.items() if "/kind=consumption/" in p or "/kind=production/" in p)
    acc_series = 0
    for m in read_metas(lake).values():
        inv = m.inventory()
        acc_series += sum(len({participant_series(inv, p).id for p in o.operation.participants}) for o in m.operations)
    return {"balance": balance, "acc": acc_series * 17520}


def spark_runs(lake: str, master: str) -> dict:
    from regie.cluster.acc import cluster_allocations
    from regie.cluster.balance import cluster_balance
    from regie.cluster.session import spark_session
    from regie.model import Step

    spark = spark_session(master)
    try:
        a, b = int(START.timestamp()), int(END.timestamp())
        cluster_balance(spark, lake, START, datetime(2025, 2, 1, tzinfo=PARIS), Step.parse("P1D"))  # warm workers
        bs, bal = timed(lambda: cluster_balance(spark, lake, START, END, Step.parse("P1D")))
        acs, flows = timed(lambda: cluster_allocations(spark, lake, a, b))
    finally:
        spark.stop()
    auto = {f"{t}/{o}": float(g["autocons_wh"].sum()) for (t, o), g in flows.groupby(["territory", "operation"])}
    return {"balance_s": bs, "acc_s": acs, "balance": {k: v["totals"] for k, v in bal.items()}, "acc_autocons_wh": auto}


DUCKDB_BALANCE = """
WITH s AS (SELECT series_id, territory, kind FROM read_parquet('{lake}/series/*/*.parquet', hive_partitioning = true)),
r AS (
  SELECT territory, kind, t, value FROM read_parquet('{lake}/readings/*/*/*/*.parquet', hive_partitioning = true)
  WHERE kind IN ('consumption', 'production') AND t >= {a} AND t < {b}
),
cells AS (
  SELECT territory, t,
         sum(CASE WHEN kind = 'consumption' THEN value ELSE 0 END) AS c,
         sum(CASE WHEN kind = 'production' THEN value ELSE 0 END) AS p
  FROM r GROUP BY territory, t
)
SELECT territory, sum(c) * 0.5 AS consumption_wh, sum(p) * 0.5 AS production_wh,
       sum(least(greatest(c, 0), greatest(p, 0))) * 0.5 AS self_consumed_wh
FROM cells GROUP BY territory ORDER BY territory
"""


def duckdb_runs(lake: str, threads: int) -> dict:
    """The yearly balance totals in SQL over the same lake (30-minute points, one per series and step: the
    demo's; a rewrite for comparison, not the kernels)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    q = DUCKDB_BALANCE.format(lake=lake, a=int(START.timestamp()), b=int(END.timestamp()))
    con.execute(q).fetchall()  # warm the file cache and the metadata
    s, rows = timed(lambda: con.execute(q).fetchall())
    return {"balance_s": s, "balance": {r[0]: {"consumption_wh": r[1], "production_wh": r[2],
                                                "self_consumed_wh": r[3]} for r in rows}}  # fmt: skip


def kill_one_executor(lake: str, reference: dict) -> dict:
    """local-cluster mode: two executor JVMs; kill one (SIGKILL) while the yearly balance runs."""
    from regie.cluster.balance import cluster_balance
    from regie.cluster.session import spark_session
    from regie.model import Step

    try:
        spark = spark_session("local-cluster[2,1,1024]", conf={"spark.task.maxFailures": "4"})
    except Exception as exc:  # the mode needs Spark's launch scripts: say so
        return {"ran": False, "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    killed: list[int] = []

    def killer() -> None:
        time.sleep(8)
        me = os.getpid()
        found = subprocess.run(["pgrep", "-f", "CoarseGrainedExecutorBackend"], capture_output=True, text=True)
        for pid in [int(x) for x in found.stdout.split()]:
            if _descends(pid, me):  # an executor this run started, never another process
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return

    try:
        thread = threading.Thread(target=killer)
        thread.start()
        s, got = timed(lambda: cluster_balance(spark, lake, START, END, Step.parse("P1D")))
        thread.join()
    finally:
        spark.stop()
    same = all(
        np.isclose(got[t]["totals"]["self_consumed_wh"], reference[t]["self_consumed_wh"], rtol=1e-9, atol=0)
        for t in reference
    )
    return {"ran": True, "killed_executor_pids": killed, "seconds": s, "same_result": bool(same)}


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        out = subprocess.run(["ps", "-o", "ppid=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
        if not out:
            return False
        pid = int(out)
    return False


def build_only(folder: Path, villages: int, seed: int) -> None:
    """Build the region alone, writing each village's seconds (generate, install, export) as it goes: a run
    stopped early still says how long a village takes here."""
    from regie.cli.demo import build_region_demo

    out = RESULTS.parent / f"region_build-{villages}.json"
    result: dict = {"date": datetime.now().isoformat(timespec="seconds"), "villages": villages, "built": [],
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "load_average_at_start": os.getloadavg()}}  # fmt: skip

    def heard(tid: str, seconds: dict[str, float]) -> None:
        result["built"].append({"territory": tid, **seconds, "load_average": os.getloadavg()[0]})
        out.write_text(json.dumps(result, indent=1) + "\n")

    result["region_build_s"] = build_region_demo(folder, villages, seed, on_village=heard)
    per = [sum(v[k] for k in ("generate", "install", "export")) for v in result["built"]]
    result["village_s_median"] = float(np.median(per))
    result["machine"]["load_average_at_end"] = os.getloadavg()
    out.write_text(json.dumps(result, indent=1) + "\n")
    Console().print(f"{villages} villages in {result['region_build_s']:.0f} s (median {np.median(per):.1f} s a village)"
                    f" → {out}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/regie-scale"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true", help="keep a region already built in --workdir")
    parser.add_argument("--build-only", action="store_true",
                        help="only build the region, timing each village (bench/results/region_build-N.json)")
    args = parser.parse_args()
    from regie.cli.demo import build_region_demo

    if args.build_only:
        build_only(args.workdir / f"region-{args.villages}", args.villages, args.seed)
        return

    folder = args.workdir / f"region-{args.villages}"
    lake = str(folder / "lake")
    if args.reuse and (folder / "lake" / "_manifest.json").exists():
        before = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        build_s = before.get("region_build_s") if before.get("villages") == args.villages else None  # that build's
    else:
        build_s = build_region_demo(folder, args.villages, args.seed)
    points = lake_points(lake)
    emb = embedded(folder)
    runs = {m: spark_runs(lake, m) for m in ("local[1]", "local[2]")}
    duck = {n: duckdb_runs(lake, n) for n in (1, 2)}
    kill = kill_one_executor(lake, runs["local[2]"]["balance"])

    def check(a: dict, b: dict, key: str) -> float:
        return max(abs(a[t][key] - b[t][key]) / abs(b[t][key]) for t in b)

    def rate(n: int, s: float, cores: int) -> float:
        return n / s / cores

    rows = []
    for job in ("balance", "acc"):
        n = points[job]
        e = rate(n, emb[f"{job}_s"], 1)
        one = rate(n, runs["local[1]"][f"{job}_s"], 1)
        two = rate(n, runs["local[2]"][f"{job}_s"], 2)
        rows.append({"job": job, "points": n, "embedded_points_s_core": e, "spark1_points_s_core": one,
                     "spark2_points_s_core": two, "scaling_efficiency_2_vs_1": 2 * two / one,
                     "embedded_s": emb[f"{job}_s"], "spark1_s": runs["local[1]"][f"{job}_s"],
                     "spark2_s": runs["local[2]"][f"{job}_s"]})  # fmt: skip
    rows[0] |= {"duckdb1_points_s_core": rate(points["balance"], duck[1]["balance_s"], 1),
                "duckdb2_points_s_core": rate(points["balance"], duck[2]["balance_s"], 2),
                "duckdb1_s": duck[1]["balance_s"], "duckdb2_s": duck[2]["balance_s"]}  # fmt: skip
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "villages": args.villages,
        "region_build_s": build_s,
        "points": points,
        "jobs": rows,
        "same_numbers": {
            "spark_vs_embedded_balance_rel": check(runs["local[2]"]["balance"], emb["balance"], "self_consumed_wh"),
            "spark_vs_embedded_acc_rel": max(
                abs(runs["local[2]"]["acc_autocons_wh"][k] - v) / abs(v) for k, v in emb["acc_autocons_wh"].items()
            ),
            "duckdb_vs_spark_balance_rel": check(duck[2]["balance"], runs["local[2]"]["balance"], "self_consumed_wh"),
        },
        "executor_killed": kill,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title=f"regional scale: {args.villages} villages, {points['balance']:,} balance points")
    for col in ("job", "embedded pts/s/core", "Spark local[1]", "Spark local[2] /core", "efficiency 2 vs 1",
                "DuckDB 1 thr", "DuckDB 2 thr /core"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["job"], f"{r['embedded_points_s_core']:,.0f}", f"{r['spark1_points_s_core']:,.0f}",
                      f"{r['spark2_points_s_core']:,.0f}", f"{r['scaling_efficiency_2_vs_1']:.2f}",
                      f"{r.get('duckdb1_points_s_core', float('nan')):,.0f}",
                      f"{r.get('duckdb2_points_s_core', float('nan')):,.0f}")  # fmt: skip
    Console().print(table)
    Console().print(json.dumps({k: result[k] for k in ("region_build_s", "same_numbers", "executor_killed")}))


if __name__ == "__main__":
    main()
