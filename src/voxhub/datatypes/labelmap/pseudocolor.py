"""DVID's pseudocolors: each label hashed to an RGB color, for ``GET pseudocolor``.

DVID (``labelmap.colorImage``) hashes the label's 8 little-endian bytes with 32-bit
MurmurHash3 (seed 0) and takes the hash's big-endian bytes as R, G, B (the low byte is
dropped), alpha 255. Label 0 is hashed like any other label, so background has a color
too. Done here on whole arrays, in uint32 arithmetic that wraps as the C code does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)

U32 = npt.NDArray[np.uint32]


def _rotl(x: U32, r: int) -> U32:
    out: U32 = (x << np.uint32(r)) | (x >> np.uint32(32 - r))
    return out


def murmur3_labels(labels: npt.NDArray[np.uint64]) -> U32:
    """MurmurHash3_x86_32 (seed 0) of each label's 8 little-endian bytes.

    >>> murmur3_labels(np.array([0, 1], np.uint64)).tolist()
    [1669671676, 1392991556]
    """
    values = np.asarray(labels, dtype=np.uint64)
    words = (
        (values & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        (values >> np.uint64(32)).astype(np.uint32),
    )
    h = np.zeros(values.shape, np.uint32)
    with np.errstate(over="ignore"):
        for k in words:  # the two 4-byte blocks, low word first (little-endian bytes)
            k = _rotl(k * _C1, 15) * _C2
            h = _rotl(h ^ k, 13) * np.uint32(5) + np.uint32(0xE6546B64)
        h ^= np.uint32(8)  # the input length
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return h


def pseudocolor(labels: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """``(rows, columns, 4)`` RGBA colors of a 2-D label image, as DVID colors them."""
    h = murmur3_labels(labels)
    rgba = np.empty((*h.shape, 4), np.uint8)
    rgba[..., 0] = h >> np.uint32(24)
    rgba[..., 1] = (h >> np.uint32(16)) & np.uint32(0xFF)
    rgba[..., 2] = (h >> np.uint32(8)) & np.uint32(0xFF)
    rgba[..., 3] = 255
    return rgba
