"""The forecast's clear-sky irradiance computed in a short-lived child process, so that a serving process never
loads pvlib.

Why: importing pvlib loads all of its modules and scipy's optimisers, about 63 MB resident for the life of the
process (measured with ``bench/footprint.py``, docs/footprint.md), while the signal needs a block of 64 days of
clear sky only every few weeks (:func:`regie.analytics.forecast.clear_sky_block`, kept once computed). The child
runs the very same function, so the figures are identical; where pvlib is loaded already (a demo build, a bench),
nothing is spared and the blocks are computed in place.

Where no child can be started (no process left under ``RLIMIT_NPROC``, no ``sem_open`` as on some sandboxes, an
interpreter that cannot be executed again, a child killed as it starts), the blocks are computed in place too:
the figures are the same, the process pays pvlib's memory, and a warning says so once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from regie.analytics import forecast as fc

log = logging.getLogger(__name__)

#: What a child that cannot be started raises: the fork or the pipes refused (OSError, BrokenPipeError when the
#: executable cannot be run), no POSIX semaphores (NotImplementedError), the child dead before it answered.
SPAWN_FAILED = (OSError, NotImplementedError, BrokenProcessPool, EOFError)


def prepare(site: fc.Site, step: int, a: int, b: int) -> int:
    """Make sure the forecast holds every clear-sky block over the instants [a, b) [UTC s]; return how many
    blocks were computed in a child process."""
    missing = [k for k in fc.clear_sky_blocks(a, b) if not fc.knows_clear_sky(k, step, site)]
    if not missing:
        return 0
    blocks = None if "pvlib" in sys.modules else _in_child(missing, step, site)
    in_child = blocks is not None
    if blocks is None:
        blocks = [fc.clear_sky_block(k, step, site) for k in missing]
    for k, ghi in zip(missing, blocks, strict=True):
        fc.remember_clear_sky(k, step, site, ghi)
    return len(missing) if in_child else 0


def _die_with_parent(parent: int) -> None:
    """In the child: end when the process that started it ends. A pool's worker waits for work on a pipe it holds
    both ends of, so it would outlive a server killed while it computes (SIGKILL, the OOM killer, a stop that
    timed out), keeping pvlib's memory and the server's stderr for ever. Linux's ``PR_SET_PDEATHSIG`` sends it
    SIGTERM then; elsewhere nothing is done."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1 (prctl(2))
    if os.getppid() != parent:  # the parent ended before the signal was asked for
        os._exit(1)


def _in_child(missing: list[int], step: int, site: fc.Site) -> list | None:
    """The blocks computed by a spawned child, or None when no child could be started."""
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_die_with_parent, initargs=(os.getpid(),)) as child:  # fmt: skip
            return list(child.map(fc.clear_sky_block, missing, [step] * len(missing), [site] * len(missing)))
    except SPAWN_FAILED as exc:
        log.warning("clear sky: no child process could be started (%s: %s); computed in this process, which "
                    "now holds pvlib (about 63 MB)", type(exc).__name__, exc)  # fmt: skip
        return None
