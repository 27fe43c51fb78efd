"""Type keys and values of roi instances: one key per z row of blocks.

``0x30 | z`` (``z`` as a big-endian uint32 of ``z + 2**31``, so byte order is numeric
order) holds every span of block plane ``z`` as ``(y, x0, x1)`` int32 triples, sorted and
merged. DVID writes one key per span instead; a plane per key keeps an ROI of millions of
blocks at a few thousand keys, makes ``POST roi`` rewrite only the planes that changed
(so ``diff`` lists, and a merge conflicts on, exactly the planes changed), and lets a
point query fetch one value per distinct plane it touches.

Values: one format byte, then the triples as little-endian int32 (``0x00``) or
zstd-compressed (``0x01``, for planes over :data:`COMPRESS_OVER` bytes).
"""

from __future__ import annotations

import struct

import numpy as np
import zstandard

from voxhub.errors import CodecError

KEY_ROW = 0x30
_ROW = struct.Struct(">BI")
_BIAS = 2**31
_RAW, _ZSTD = 0, 1
#: planes whose triples take more bytes than this are stored zstd-compressed
COMPRESS_OVER = 256
_TRIPLE = np.dtype("<i4")
#: the first and past-the-last row keys (every plane)
ROWS_START = bytes([KEY_ROW])
ROWS_END = bytes([KEY_ROW + 1])


def row_key(z: int) -> bytes:
    """The key of block plane ``z``."""
    return _ROW.pack(KEY_ROW, z + _BIAS)


def z_of(tkey: bytes) -> int:
    """The block plane a row key names."""
    _, biased = _ROW.unpack(tkey)
    return int(biased) - _BIAS


def is_row_key(tkey: bytes) -> bool:
    return len(tkey) == _ROW.size and tkey[0] == KEY_ROW


def describe_tkey(tkey: bytes) -> str:
    """``"roi plane z=5"`` (merge conflicts and diffs name the plane whose spans changed)."""
    if is_row_key(tkey):
        return f"roi plane z={z_of(tkey)}"
    return f"roi key {tkey.hex()}"


def encode_row(triples: np.ndarray) -> bytes:
    """A plane's ``(M, 3)`` ``(y, x0, x1)`` triples as a stored value (``M > 0``)."""
    raw = np.ascontiguousarray(triples, dtype=_TRIPLE).tobytes()
    if len(raw) > COMPRESS_OVER:
        return bytes([_ZSTD]) + zstandard.ZstdCompressor(level=3).compress(raw)
    return bytes([_RAW]) + raw


def decode_row(value: bytes | memoryview) -> np.ndarray:
    """The ``(M, 3)`` int64 triples of a stored plane."""
    data = bytes(value)
    if not data:
        raise CodecError("empty roi plane value")
    fmt, body = data[0], data[1:]
    if fmt == _ZSTD:
        try:
            body = zstandard.ZstdDecompressor().decompress(body)
        except zstandard.ZstdError as e:
            raise CodecError(f"corrupt roi plane value: {e}") from None
    elif fmt != _RAW:
        raise CodecError(f"roi plane value has unknown format byte {fmt}")
    if len(body) % (3 * _TRIPLE.itemsize):
        raise CodecError(f"roi plane value of {len(body)} bytes is not whole triples")
    return np.frombuffer(body, dtype=_TRIPLE).reshape(-1, 3).astype(np.int64)


def check_value(tkey: bytes, value: bytes) -> str | None:
    """``voxhub doctor``'s check of one stored roi value: why it is unreadable, if it is
    (a plane must decode to sorted, disjoint spans with ``x0 <= x1``)."""
    if not is_row_key(tkey):
        return f"{describe_tkey(tkey)} is not an roi key"
    try:
        triples = decode_row(value)
    except CodecError as e:
        return f"{describe_tkey(tkey)}: {e}"
    if not len(triples) or bool((triples[:, 2] < triples[:, 1]).any()):
        return f"{describe_tkey(tkey)} holds no spans or a span with x1 < x0"
    same_row = triples[1:, 0] == triples[:-1, 0]
    ordered = (triples[1:, 0] > triples[:-1, 0]) | (
        same_row & (triples[1:, 1] > triples[:-1, 2] + 1)
    )
    if not bool(ordered.all()):
        return f"{describe_tkey(tkey)} holds spans out of order or overlapping"
    return None
