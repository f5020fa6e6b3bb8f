"""The forecast's clear-sky irradiance computed in a short-lived child process, so that a serving process never
loads pvlib.

Why: importing pvlib loads all of its modules and scipy's optimisers, about 63 MB resident for the life of the
process (measured with ``bench/footprint.py``, docs/footprint.md), while the signal needs a block of 64 days of
clear sky only every few weeks (:func:`regie.analytics.forecast.clear_sky_block`, kept once computed). The child
runs the very same function, so the figures are identical; where pvlib is loaded already (a demo build, a bench),
nothing is spared and the blocks are computed in place.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

from regie.analytics import forecast as fc


def prepare(site: fc.Site, step: int, a: int, b: int) -> int:
    """Make sure the forecast holds every clear-sky block over the instants [a, b) [UTC s]; return how many
    blocks were computed in a child process."""
    missing = [k for k in fc.clear_sky_blocks(a, b) if not fc.knows_clear_sky(k, step, site)]
    if not missing or "pvlib" in sys.modules:
        return 0
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as child:
        blocks = list(child.map(fc.clear_sky_block, missing, [step] * len(missing), [site] * len(missing)))
    for k, ghi in zip(missing, blocks, strict=True):
        fc.remember_clear_sky(k, step, site, ghi)
    return len(missing)
