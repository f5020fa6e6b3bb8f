"""The chunk codec: exact round trips, old (zlib) chunks still readable, damage detected."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regie.store import codec

ints = st.integers(min_value=-(2**40), max_value=2**40)


@given(st.lists(st.tuples(st.integers(0, 2**32), ints, ints), max_size=300))
def test_round_trip_is_exact(rows: list[tuple[int, int, int]]) -> None:
    rows = sorted({r[0]: r for r in rows}.values())
    t = np.array([r[0] for r in rows], dtype=np.int64)
    a = np.array([r[1] for r in rows], dtype=np.int64)
    b = np.array([r[2] for r in rows], dtype=np.int64)
    t2, (a2, b2) = codec.decode(codec.encode(t, [a, b]))
    np.testing.assert_array_equal(t2, t)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(b2, b)


def test_version_1_zlib_chunks_still_decode() -> None:
    """Stores written before the switch to Zstandard keep reading."""
    t = np.arange(0, 1800 * 10, 1800, dtype=np.int64)
    v = np.array([5, 7, 7, 9, 12, 3, 0, 0, 1, 2], dtype=np.int64)
    v2 = codec.encode(t, [v])
    body = codec._zstd()[1].decompress(v2[8:])
    v1 = struct.pack("<2sBBI", b"RC", 1, 1, len(t)) + zlib.compress(body, 9)
    t1, (d1,) = codec.decode(v1)
    np.testing.assert_array_equal(t1, t)
    np.testing.assert_array_equal(d1, v)


@pytest.mark.parametrize("damage", ["truncate", "flip", "version"])
def test_damaged_chunk_is_refused(damage: str) -> None:
    blob = bytearray(codec.encode(np.arange(100, dtype=np.int64), [np.arange(100, dtype=np.int64) ** 2]))
    if damage == "truncate":
        blob = blob[:-5]
    elif damage == "flip":
        blob[12] ^= 0xFF
    else:
        blob[2] = 99
    with pytest.raises(codec.CorruptChunk):
        codec.decode(bytes(blob))


def test_each_thread_decodes_with_its_own_zstandard_objects() -> None:
    """python-zstandard's (de)compressors are not thread-safe: the web server's threads, sharing one, crashed the
    process. Each thread has its own, and chunks decoded at once in several threads come out whole."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    taken, both = [], threading.Barrier(2)

    def take() -> None:
        both.wait()
        taken.append(codec._zstd())

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = codec._zstd()
    assert taken[0][1] is not taken[1][1] and all(mine[1] is not pair[1] for pair in taken)
    assert taken[0][0] is not taken[1][0]

    t = np.arange(0, 1800 * 5000, 1800, dtype=np.int64)
    blobs = [codec.encode(t, [np.arange(5000, dtype=np.int64) * k]) for k in range(8)]
    with ThreadPoolExecutor(4) as pool:
        decoded = list(pool.map(lambda b: codec.decode(b)[1][0], blobs * 20))
    for k, column in enumerate(decoded):
        np.testing.assert_array_equal(column, np.arange(5000, dtype=np.int64) * (k % 8))
