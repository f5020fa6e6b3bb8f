"""Compact encoding of a chunk of integer time series.

Why: a plain row per reading costs ~13 bytes in SQLite and more in PostgreSQL; emoncms's PHPFina stores
4 bytes a point. Load curves are smooth integers at a regular step, so a chunk of a few thousand points
compresses very well once transformed the way Gorilla (Pelkonen et al., VLDB 2015) and Blosc do it:

1. timestamps and every value column become first-differences (a regular step becomes a constant);
2. differences are zigzag-mapped to unsigned integers (small magnitudes → small numbers) and stored in
   the narrowest width that holds them (1, 2, 4 or 8 bytes);
3. the bytes are *shuffled* into planes (all low bytes, then all high bytes), which groups the mostly
   zero high bytes together;
4. the whole is compressed with Zstandard (RFC 8878) at level 9: on the demo year it is 2 % smaller
   than zlib level 9, encodes 9× and decodes 4× faster (measured on the demo's 6,740 chunks) — decoding
   is the hot path of every territory balance. Version 1 chunks (zlib) still decode.

Lossless for integers: the store quantises values to the series' resolution (1 W, 1 Wh, 0.1 °C) before.

Layout: ``b"RC" | version u8 | ncols u8 | n u32 | zstd( for t and each column: width u8 + planes )``.
"""

from __future__ import annotations

import struct
import threading
import zlib

import numpy as np
import zstandard

_HEADER = struct.Struct("<2sBBI")
_MAGIC = b"RC"
_VERSION = 2  # 1: zlib body, 2: zstd body
_WIDTHS = ((0xFF, np.uint8), (0xFFFF, np.uint16), (0xFFFFFFFF, np.uint32), (2**64 - 1, np.uint64))
_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
LEVEL = 9
# python-zstandard's (de)compressor objects are not thread-safe: one shared by the web server's worker threads
# crashed the process (a segmentation fault in decompress, two pages read at once). One pair per thread.
_PER_THREAD = threading.local()


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    pair = getattr(_PER_THREAD, "pair", None)
    if pair is None:
        pair = _PER_THREAD.pair = (zstandard.ZstdCompressor(level=LEVEL), zstandard.ZstdDecompressor())
    return pair


class CorruptChunk(ValueError):
    """A stored chunk does not decode: never silently return partial data."""


def _pack(x: np.ndarray) -> bytes:
    d = np.diff(x, prepend=np.int64(0))
    z = ((d << 1) ^ (d >> 63)).view(np.uint64)
    top = int(z.max()) if len(z) else 0
    for limit, dtype in _WIDTHS:
        if top <= limit:
            narrow = z.astype(dtype)
            break
    width = narrow.dtype.itemsize
    planes = narrow.view(np.uint8).reshape(-1, width).T
    return bytes([width]) + planes.tobytes()


def _unpack(buf: memoryview, pos: int, n: int) -> tuple[np.ndarray, int]:
    width = buf[pos]
    if width not in _DTYPES:
        raise CorruptChunk(f"bad column width {width}")
    pos += 1
    end = pos + n * width
    if end > len(buf):
        raise CorruptChunk("chunk is truncated")
    planes = np.frombuffer(buf[pos:end], dtype=np.uint8).reshape(width, n)
    if width == 1:
        z = planes[0].astype(np.uint64)
    else:
        z = np.ascontiguousarray(planes.T).view(_DTYPES[width]).reshape(n).astype(np.uint64)
    d = ((z >> np.uint64(1)).astype(np.int64)) ^ -((z & np.uint64(1)).astype(np.int64))
    return np.cumsum(d, dtype=np.int64), end


def encode(t: np.ndarray, columns: list[np.ndarray]) -> bytes:
    """Encode sorted int64 timestamps and int64 value columns of the same length."""
    n = len(t)
    if any(len(c) != n for c in columns):
        raise ValueError("all columns must have the length of the timestamps")
    body = b"".join(_pack(np.asarray(c, dtype=np.int64)) for c in [t, *columns])
    return _HEADER.pack(_MAGIC, _VERSION, len(columns), n) + _zstd()[0].compress(body)


def decode(blob: bytes) -> tuple[np.ndarray, list[np.ndarray]]:
    """Inverse of :func:`encode`."""
    if len(blob) < _HEADER.size:
        raise CorruptChunk("chunk shorter than its header")
    magic, version, ncols, n = _HEADER.unpack_from(blob)
    if magic != _MAGIC or version not in (1, 2):
        raise CorruptChunk(f"unknown chunk format {magic!r} v{version}")
    try:
        if version == 1:
            body = memoryview(zlib.decompress(blob[_HEADER.size :]))
        else:
            body = memoryview(_zstd()[1].decompress(blob[_HEADER.size :]))
    except (zlib.error, zstandard.ZstdError) as exc:
        raise CorruptChunk(f"chunk does not decompress: {exc}") from exc
    t, pos = _unpack(body, 0, n)
    cols = []
    for _ in range(ncols):
        c, pos = _unpack(body, pos, n)
        cols.append(c)
    if pos != len(body):
        raise CorruptChunk("trailing bytes after the last column")
    return t, cols
