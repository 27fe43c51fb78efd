"""The labels at a few voxels of a ``cseg`` block, read off the compressed form.

Filing point annotations under supervoxels needs the label at each element's position,
a few hundred voxels of a 64³ block; decoding the whole block (2 MiB of uint64) costs a
millisecond, looking the points up in the compressed_segmentation stream costs a few
numpy gathers. Layout of the bare stream: see :mod:`voxhub.codecs.cseg_mask` (word 0 the
channel offset; per 8³ sub-block, x fastest, a header ``table | bits << 24`` and a values
offset, in 32-bit words from the channel start; indices packed LSB-first in 32-bit
words, x fastest; table entries uint64 as two words). Every offset is bounds-checked, so
a malformed stream raises :class:`~voxhub.errors.CodecError`.

>>> import numpy as np
>>> from voxhub.codecs.cseg import CsegCodec
>>> block = np.arange(16**3, dtype=np.uint64).reshape(16, 16, 16) // 7
>>> value = CsegCodec().encode(block)
>>> points = np.array([[0, 0, 0], [15, 15, 15], [3, 9, 12]])
>>> cseg_points(value, (16, 16, 16), points).tolist() == block[tuple(points.T)].tolist()
True
"""

from __future__ import annotations

import numpy as np

from voxhub.codecs.cseg_mask import SUB, bare_stream
from voxhub.errors import CodecError
from voxhub.geometry import Vec3


def _checked(words: np.ndarray, at: np.ndarray) -> np.ndarray:
    if at.size and (at.min() < 0 or at.max() >= len(words)):
        raise CodecError("cseg codec: an offset points outside the stream")
    found: np.ndarray = words[at].astype(np.int64)
    return found


def cseg_points(value: bytes | memoryview, block_shape: Vec3, local: np.ndarray) -> np.ndarray:
    """uint64 labels of a stored ``cseg`` block (uint64 labels, one channel) at the
    ``(N, 3)`` block-local ``(z, y, x)`` voxels ``local``."""
    gz, gy, gx = (int(s) // SUB for s in block_shape)
    bare = bare_stream(value, gz * gy * gx)
    if len(bare) % 4:
        raise CodecError("cseg codec: stream length is not a whole number of words")
    words = np.frombuffer(bare, "<u4")  # gathered values are widened, not the stream
    pts = np.asarray(local, np.int64).reshape(-1, 3)
    base = int(_checked(words, np.zeros(1, np.int64))[0])
    sub = ((pts[:, 0] // SUB) * gy + pts[:, 1] // SUB) * gx + pts[:, 2] // SUB
    head = _checked(words, base + 2 * sub)
    values_at = _checked(words, base + 2 * sub + 1)
    table = head & 0xFFFFFF
    bits = head >> 24
    if not np.isin(bits, (0, 1, 2, 4, 8, 16, 32)).all():
        raise CodecError("cseg codec: a sub-block has an invalid bit width")
    j = ((pts[:, 0] % SUB) * SUB + pts[:, 1] % SUB) * SUB + pts[:, 2] % SUB
    bit = j * bits
    packed = np.where(bits > 0, base + values_at + bit // 32, 0)
    word = _checked(words, packed)
    index = np.where(bits > 0, (word >> (bit % 32)) & ((1 << bits) - 1), 0)
    low = _checked(words, base + table + 2 * index).astype(np.uint64)
    high = _checked(words, base + table + 2 * index + 1).astype(np.uint64)
    out: np.ndarray = low | (high << np.uint64(32))
    return out
