"""A synthetic region: N villages generated like Prats (:func:`regie.demo.prats.build_prats`), each with its own
seed, size and place, to exercise the lake and the Spark jobs at more than one village's scale.

Each village is a territory of its own (``village-001``...), with its households, trades, plants, ten
transformers and its ACC operation, its consumption and production scaled by a size drawn between 0.6 and 1.6
of Prats's (and its production mix drawn around Prats's). Villages are generated one at a time, so a region of
any size fits in one village's memory.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np

from regie.demo.data import DemoData
from regie.demo.prats import DEFAULT_YEAR, build_prats, scenario

SIZES = (0.6, 1.6)  # of Prats's households and energy: a hamlet-sized commune up to a small town


def village_config(k: int, seed: int) -> dict:
    """The figures of village ``k`` (1-based) of the region drawn from ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
    cfg = copy.deepcopy(scenario())
    size = float(rng.uniform(*SIZES))
    t, c = cfg["territory"], cfg["consumption"]
    t["id"], t["name"] = f"village-{k:03d}", f"Village {k}"
    t["latitude"] = round(42.0 + float(rng.uniform(0, 1.5)), 4)  # Pyrénées-Orientales to Aude
    t["longitude"] = round(1.8 + float(rng.uniform(0, 1.3)), 4)
    c["households"] = round(c["households"] * size)
    c["trades"] = min(42, max(14, round(c["trades"] * size)))  # prats.py names 3 × 14 kinds of trade
    for key in ("total_gwh", "households_gwh", "trades_gwh", "commune_gwh", "spa_gwh"):
        c[key] = c[key] * size
    for line in cfg["production"]:
        line["gwh"] = line["gwh"] * size * float(rng.uniform(0.6, 1.4))
    return cfg


def build_region(n: int, seed: int = 42, year: int = DEFAULT_YEAR) -> Iterator[DemoData]:
    """The region's villages, one at a time (village k from seed ``seed + k``)."""
    if n < 1:
        raise ValueError(f"a region needs at least one village, got {n}")
    for k in range(1, n + 1):
        yield build_prats(seed=seed + k, year=year, cfg=village_config(k, seed))
