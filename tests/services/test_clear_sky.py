"""The forecast's clear sky computed in a child process (regie.services.clear_sky): the same figures as pvlib in
place, and the serving process never loads pvlib (63 MB resident for its whole life, docs/footprint.md); where no
child can be started, the same figures computed in place."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import logging
    import multiprocessing
    import sys
    import numpy as np
    from regie.analytics import forecast as fc
    from regie.services import clear_sky

    logging.basicConfig(level=logging.WARNING)
    if len(sys.argv) > 2:  # the interpreter the spawn start method runs
        multiprocessing.set_executable(sys.argv[2])
    site = fc.Site(42.40, 2.48, 745.0)
    a = 1_735_689_600  # 2025-01-01 UTC
    b = a + 100 * 86_400  # over three blocks of 64 days (blocks start at multiples of 64 days since 1970)
    computed = clear_sky.prepare(site, 1800, a, b)
    t = np.arange(a, b, 1800, dtype=np.int64)
    ghi = fc.clear_sky_ghi(t, 1800, site)
    again = clear_sky.prepare(site, 1800, a, b)
    np.save(sys.argv[1], ghi)
    print(computed, again, "pvlib" in sys.modules)
    """
)


def _expected(a: int) -> np.ndarray:
    """pvlib's clear sky over [a, a + 100 days), computed in this process."""
    from regie.analytics import forecast as fc

    site = fc.Site(42.40, 2.48, 745.0)
    assert len(fc.clear_sky_blocks(a, a + 100 * 86_400)) == 3
    t = np.arange(a, a + 100 * 86_400, 1800, dtype=np.int64)
    in_place = np.concatenate([fc.clear_sky_block(k, 1800, site) for k in fc.clear_sky_blocks(a, a + 100 * 86_400)])
    first = fc.clear_sky_blocks(a, a + 1)[0] * 64 * 86_400
    return in_place[(t - first) // 1800]


def test_the_child_gives_pvlibs_figures_and_the_parent_never_loads_pvlib(tmp_path) -> None:
    out = tmp_path / "ghi.npy"
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], capture_output=True, text=True, timeout=300,
                         check=True)  # fmt: skip
    computed, again, loaded = run.stdout.split()
    assert (computed, again, loaded) == ("3", "0", "False")  # each block once, in the child; no pvlib here
    got = np.load(out)
    assert got.max() > 500  # a real clear sky: noon in spring at Prats
    np.testing.assert_array_equal(got, _expected(1_735_689_600))


@pytest.mark.parametrize(
    "executable",
    [
        "/nonexistent/python",  # the child cannot be executed: the parent's pipe to it breaks as it starts
        shutil.which("false"),  # a child that dies before it answers: the pool is broken
    ],
)
def test_where_no_child_can_be_started_the_same_figures_are_computed_in_place(tmp_path, executable: str) -> None:
    out = tmp_path / "ghi.npy"
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(out), executable], capture_output=True, text=True,
                         timeout=300, check=True)  # fmt: skip
    computed, again, loaded = run.stdout.split()
    assert (computed, again, loaded) == ("0", "0", "True")  # nothing in a child; pvlib loaded here instead
    assert "no child process could be started" in run.stderr
    np.testing.assert_array_equal(np.load(out), _expected(1_735_689_600))


ORPHAN = textwrap.dedent(
    """
    import multiprocessing, os, signal, sys, threading, time
    from regie.analytics import forecast as fc
    from regie.services import clear_sky

    site = fc.Site(42.40, 2.48, 745.0)
    threading.Thread(target=clear_sky.prepare, args=(site, 1800, 1_735_689_600, 1_735_689_600 + 100 * 86_400),
                     daemon=True).start()
    deadline = time.time() + 120
    while not multiprocessing.active_children() and time.time() < deadline:
        time.sleep(0.05)
    print(multiprocessing.active_children()[0].pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # a server killed while its child computes
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended, only not reaped yet
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_ends_with_a_parent_killed_while_it_computes() -> None:
    run = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True, timeout=300)
    assert run.returncode == -9, run.stderr
    child = int(run.stdout.split()[0])
    deadline = time.monotonic() + 120
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child)
