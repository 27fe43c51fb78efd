"""Byte encodings of the annotation's stored values.

* an element block: the :class:`~.elements.Elements` of one block, sorted by position,
  as fixed-width little-endian columns (positions, kinds, relationship counts, kinds and
  targets) followed by the JSON of the few elements that have ``Tags`` or ``Prop``
  (``[[index, tags, prop], ...]``), so that decoding is a handful of ``np.frombuffer``
  calls and one small ``json.loads``. The same bytes (of any elements, in answer order)
  are the ``?format=columns`` answer of ``GET elements``, ``label``, ``tag`` and
  ``roi``; for ``N`` elements with ``R`` relationships in all::

      u8 version (1) | u32 N | u32 R                       (little-endian)
      i32[N][3] positions (z, y, x) | u8[N] kinds (KINDS codes)
      u32[N] relationship counts | u8[R] relationship types (RELS codes)
      i32[R][3] relationship targets (z, y, x), element by element
      JSON [[index, tags, prop], ...] of the elements with Tags or Prop (else nothing)

* a supervoxel's index: the position keys and kinds of the elements lying on it;
* a block's filing: the position key and supervoxel of each element of the block.
"""

from __future__ import annotations

import json
import struct

import numpy as np

from voxhub.datatypes.annotation.elements import Elements, Rest
from voxhub.errors import CodecError

_VERSION = 1
_HEADER = struct.Struct("<BII")
_COUNT = struct.Struct("<I")


def encode_block(batch: Elements) -> bytes:
    """The bytes of one block's elements (``batch`` sorted by position)."""
    n, r = len(batch), len(batch.rel_kind)
    extras = [[i, ex[0], ex[1]] for i, ex in enumerate(batch.extra.tolist()) if ex is not None]
    return b"".join(
        (
            _HEADER.pack(_VERSION, n, r),
            np.ascontiguousarray(batch.pos, dtype="<i4").tobytes(),
            np.ascontiguousarray(batch.kind, dtype="u1").tobytes(),
            batch.rel_counts.astype("<u4").tobytes(),
            np.ascontiguousarray(batch.rel_kind, dtype="u1").tobytes(),
            np.ascontiguousarray(batch.rel_to, dtype="<i4").tobytes(),
            json.dumps(extras, separators=(",", ":")).encode() if extras else b"",
        )
    )


def decode_block(raw: bytes | memoryview | None) -> Elements:
    """Inverse of :func:`encode_block` (``None``: no elements).

    Positions and kinds are read-only views of ``raw``; the relationships and the
    ``Tags``/``Prop`` are decoded when first read (:meth:`Elements.deferred`), so a query
    that answers positions pays for nothing else. The column sizes are checked here: a
    value too short for its header is a :class:`CodecError` now, a corrupt ``Tags``/
    ``Prop`` JSON one when read.
    """
    if raw is None:
        return Elements.empty()
    try:
        version, n, r = _HEADER.unpack_from(raw, 0)
    except struct.error as e:
        raise CodecError(f"annotation block is corrupt: {e}") from None
    if version != _VERSION:
        raise CodecError(f"annotation block encoding version {version} is unknown")
    at = _HEADER.size
    end = at + 17 * n + 13 * r
    if len(raw) < end:
        raise CodecError(
            f"annotation block is corrupt: {len(raw)} bytes for {n} elements and {r} relationships"
        )
    pos = np.frombuffer(raw, "<i4", n * 3, at).reshape(n, 3)
    kind = np.frombuffer(raw, "u1", n, at + 12 * n)
    return Elements.deferred(pos, kind, lambda: _decode_rest(raw, n, r, at + 13 * n))


def _decode_rest(raw: bytes | memoryview, n: int, r: int, at: int) -> Rest:
    """The relationships and extras of an element block, from ``at`` (counts) on."""
    counts = np.frombuffer(raw, "<u4", n, at)
    at += 4 * n
    rel_kind = np.frombuffer(raw, "u1", r, at)
    at += r
    rel_to = np.frombuffer(raw, "<i4", r * 3, at).reshape(r, 3)
    at += 12 * r
    extra = np.full(n, None, dtype=object)
    if at < len(raw):
        try:
            for i, tags, prop in json.loads(bytes(raw[at:])):
                extra[i] = (tags, prop)
        except (ValueError, TypeError, IndexError) as e:
            raise CodecError(f"annotation block is corrupt: {e}") from None
    start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    return start, rel_kind, rel_to, extra


def encode_pairs(keys: np.ndarray, values: np.ndarray) -> bytes:
    """A sorted run of position keys with one value each (index or filing)."""
    return b"".join(
        (
            _COUNT.pack(len(keys)),
            np.ascontiguousarray(keys, dtype="<i8").tobytes(),
            np.ascontiguousarray(values).tobytes(),
        )
    )


def decode_pairs(raw: bytes | memoryview | None, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode_pairs` (``None``: empty); values of ``dtype``."""
    if raw is None:
        return np.zeros(0, np.int64), np.zeros(0, dtype)
    (n,) = _COUNT.unpack_from(raw, 0)
    keys = np.frombuffer(raw, "<i8", n, _COUNT.size).astype(np.int64)
    values = np.frombuffer(raw, dtype, n, _COUNT.size + 8 * n).copy()
    return keys, values
