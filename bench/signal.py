"""Backtest the "when to consume" signal over the demo year: is it better than persistence, and is green right?

Builds the Prats demo year in a temporary SQLite store and runs, from its **public** balance only, the same code
as the territory page's "how it works" (:func:`regie.services.signal.backtest_territory`): one 36-hour forecast a
day at noon local time, each judged with the spread of the errors of the 28 days before it (as the live signal
is). Persistence is the plain baseline: every half-hour gets the value of the same half-hour on the last day
known. Also the mean absolute error of each part of the forecast (consumption, each source) against its own
persistence, to see where the skill comes from.

Prints a table and writes ``bench/results/signal.json``. Run: ``.venv/bin/python bench/signal.py [--seed 42]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name is the standard library's `signal`: with bench/ first on the path (`python bench/signal.py`),
# every `import signal` below (pandas, asyncio) would get this script.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import platform
import tempfile
import time
from datetime import date

import numpy as np
from rich.console import Console
from rich.table import Table

from regie.analytics import forecast as fc
from regie.analytics import signal as sig
from regie.demo import build_prats
from regie.demo.install import install
from regie.model.public_holidays import is_french_public_holiday
from regie.services import signal as signals
from regie.store import open_store

RESULTS = Path(__file__).parent / "results" / "signal.json"


def parts(h: fc.History, origins: list[int], site: fc.Site) -> dict[str, dict[str, float]]:
    """MAE [W] of each part of the forecast and of its persistence, over the same origins."""
    err: dict[str, list[list[float]]] = {}
    for o in origins:
        past = h.before(o)
        f = fc.forecast(past, sig.HORIZON_S, site)
        p = fc.persistence_forecast(past, sig.HORIZON_S)
        a = fc.observed(h, f.t)
        pairs = {"consumption": (f.consumption_w, p.consumption_w, a.consumption_w)}
        pairs |= {k: (f.production_w[k], p.production_w[k], a.production_w[k]) for k in f.production_w}
        for name, (model, persisted, actual) in pairs.items():
            ok = np.isfinite(model) & np.isfinite(persisted) & np.isfinite(actual)
            e = err.setdefault(name, [[], []])
            e[0].extend(np.abs(actual - model)[ok])
            e[1].extend(np.abs(actual - persisted)[ok])
    out = {}
    for name, (m, p) in err.items():
        mae, pmae = float(np.mean(m)), float(np.mean(p))
        out[name] = {"mae_w": mae, "persistence_mae_w": pmae, "skill": 1 - mae / pmae if pmae else float("nan")}
    return out


def _is_holiday(days: np.ndarray) -> np.ndarray:
    epoch = date(1970, 1, 1).toordinal()
    return np.array([is_french_public_holiday(date.fromordinal(epoch + int(d))) for d in days], dtype=bool)


def holidays_effect(h: fc.History, origins: list[int], site: fc.Site) -> dict[str, dict[str, float | int]]:
    """MAE [W] of the consumption and of the balance with French public holidays as Sundays (the model) and as
    the weekday they fall on (``timezone=None``, the model before), over all steps, the steps of a holiday and
    those of the day after one."""
    plain = fc.Site(site.latitude, site.longitude, site.altitude, None)
    groups = ("all", "holiday", "day after a holiday")
    err = {(g, f): ([], []) for g in groups for f in ("consumption", "balance")}
    for o in origins:
        past = h.before(o)
        t = fc.future_grid(past.origin, sig.HORIZON_S, past.step)
        actual = fc.observed(h, t)
        models = [fc.forecast(past, sig.HORIZON_S, s) for s in (site, plain)]
        day = fc.local_days(t, site.timezone or "UTC")
        holiday = _is_holiday(day)
        masks = dict(zip(groups, (np.ones(len(t), bool), holiday, _is_holiday(day - 1) & ~holiday), strict=True))
        for (g, f), pair in err.items():
            a = getattr(actual, f"{f}_w")
            for i, m in enumerate(models):
                v = getattr(m, f"{f}_w")
                ok = masks[g] & np.isfinite(v) & np.isfinite(a)
                pair[i].extend(np.abs(a - v)[ok])
    return {f"{f}, {g}": {"steps": len(m), "mae_w": float(np.mean(m)) if m else float("nan"),
                          "mae_holidays_as_weekdays_w": float(np.mean(p)) if p else float("nan")}
            for (g, f), (m, p) in err.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    demo = build_prats(seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/demo.sqlite")
        install(store, demo)
        inv = store.load_inventory()
        a, b = int(demo.t[0]), int(demo.t[-1]) + 1800
        t0 = time.perf_counter()
        result = signals.backtest_territory(store, inv, a, b)
        elapsed = time.perf_counter() - t0
        step = signals.signal_step(inv)
        h = signals.public_history(store, inv, a - a % step, b - b % step, step)
        zone = inv.territory.zone
        from datetime import datetime

        first, last = date.fromisoformat(result["from"]), date.fromisoformat(result["until"])
        noons = [int(datetime(d.year, d.month, d.day, 12, tzinfo=zone).timestamp())
                 for d in (first.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1))]  # fmt: skip
        by_part = parts(h, noons, signals.site_of(inv))
        by_holidays = holidays_effect(h, noons, signals.site_of(inv))
        store.close()
    assert result is not None, "the demo year is too short for a backtest"
    console = Console()
    table = Table(title=f"The signal's backtest on the demo year ({result['from']} → {result['until']}, "
                        f"{result['forecasts']} forecasts of 36 h at noon)")  # fmt: skip
    table.add_column("figure")
    table.add_column("MAE model [kW]", justify="right")
    table.add_column("MAE persistence [kW]", justify="right")
    table.add_column("skill", justify="right")
    table.add_row("balance (production − consumption)", f"{result['mae_w'] / 1000:.1f}",
                  f"{result['persistence_mae_w'] / 1000:.1f}", f"{result['skill']:.1%}")  # fmt: skip
    for name, p in by_part.items():
        kw = (f"{p['mae_w'] / 1000:.1f}", f"{p['persistence_mae_w'] / 1000:.1f}")
        table.add_row(f"  {name}", *kw, f"{p['skill']:.1%}")
    console.print(table)
    hol = Table(title="MAE (kW) with French public holidays as Sundays (the model) or as their weekday (before)")
    for col in ("", "steps", "as Sundays", "as their weekday"):
        hol.add_column(col, justify="right")
    for name, v in by_holidays.items():
        hol.add_row(name, str(v["steps"]), f"{v['mae_w'] / 1000:.1f}", f"{v['mae_holidays_as_weekdays_w'] / 1000:.1f}")
    console.print(hol)
    console.print(f"green: {result['green_steps']} half-hours, right {result['green_right']:.1%}; "
                  f"red: {result['red_steps']}, right {result['red_right']:.1%}; "
                  f"half-hours with a surplus announced green: {result['surplus_found']:.1%}; "
                  f"backtest {elapsed:.1f} s")  # fmt: skip
    beats = result["skill"] > 0
    console.print("[bold green]beats persistence[/]" if beats else "[bold red]does NOT beat persistence[/]")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "seed": args.seed, "python": platform.python_version(), "machine": platform.machine(),
        "backtest_seconds": round(elapsed, 2), "balance": result, "parts": by_part,
        "consumption_holidays": by_holidays,
        "beats_persistence": beats,
    }, indent=2) + "\n", encoding="utf-8")  # fmt: skip
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
