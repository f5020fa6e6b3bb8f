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
    body = codec._DECOMPRESSOR.decompress(v2[8:])
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
